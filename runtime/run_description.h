// A run as a `flowrun worker` needs it to compile the same stage graph as
// the origin did (issue 8): the program's text, not a compiled form, so
// that nothing but records and control travels, and the worker's own
// compiler (the same flowrun) makes the same blocks.
//
// Carried in the worker's job key (JobOffer) and handed from the worker to the
// process that runs its part on its stdin. Encoded as fields "name length\n
// bytes\n", so any byte may appear in the program or a parameter.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace flow {

struct RunDescription {
  std::string program;       // the .flow text
  std::string program_path;  // how messages name it ("whois.flow")
  std::map<std::string, std::string> params;  // -p NAME=VALUE
  std::map<std::string, std::string> environment;  // the variables env() read, as the origin had them
  int64_t queue_records = 0;
  int64_t queue_bytes = 0;
  int online_cpus = 1;  // the origin's: what `* auto` meant there
  int auto_extra = 0;   // the workers' slots that widened `* auto` (WidenAutoStages)
  bool no_jit = false;
  // The origin's graph as `flowrun graph` prints it: a worker whose compile
  // gives another (another flowrun version) refuses the run.
  std::string shape;

  std::string Encode() const;
  static bool Decode(const std::string& text, RunDescription* description);
};

using Fields = std::vector<std::pair<std::string, std::string>>;
std::string EncodeFields(const Fields& fields);
// False when the text is not a sequence of fields.
bool DecodeFields(const std::string& text, Fields* fields);

}  // namespace flow
