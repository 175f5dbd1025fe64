#include "cli/commands.h"

#include <cstdio>

#include "cli/option_values.h"

namespace flow {
namespace {

// Turns the typed text of the command line into FrontEndOptions; prints a
// usage error and returns false when something is malformed.
bool ResolveCommandOptions(CommandOptions& options) {
  FrontEndOptions& front_end = options.front_end;
  if (options.program_text && !front_end.path.empty()) {
    std::fprintf(stderr, "flowrun: error: give either a file or -e 'PROGRAM', not both\n");
    return false;
  }
  if (!options.program_text && front_end.path.empty()) {
    std::fprintf(stderr, "flowrun: error: no program: give a .flow file or -e 'PROGRAM' (see --help)\n");
    return false;
  }
  front_end.program = options.program_text;
  for (const std::string& assignment : options.param_assignments) {
    size_t equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
      std::fprintf(stderr, "flowrun: error: -p takes NAME=VALUE, got '%s'\n", assignment.c_str());
      return false;
    }
    front_end.params[assignment.substr(0, equals)] = assignment.substr(equals + 1);
  }
  if (options.queue_text) {
    std::optional<QueueCapacity> capacity = ParseQueueCapacity(*options.queue_text);
    if (!capacity) {
      std::fprintf(stderr, "flowrun: error: --queue takes a number of records (4096) or a size (16MiB), got '%s'\n",
                   options.queue_text->c_str());
      return false;
    }
    if (capacity->records) front_end.queue_records = capacity->records;
    if (capacity->bytes) front_end.queue_bytes = capacity->bytes;
  }
  if (options.grace_text && !ParseDurationNanos(*options.grace_text)) {
    std::fprintf(stderr, "flowrun: error: --grace takes a duration (250ms, 5s, 2m), got '%s'\n",
                 options.grace_text->c_str());
    return false;
  }
  return true;
}

}  // namespace
}  // namespace flow
