// `flowrun worker` and its hidden helper `flowrun worker-part` (issue 8).
#include <unistd.h>

#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "compiler/graph_format.h"
#include "compiler/system_limits.h"
#include "runtime/broker_edges.h"
#include "runtime/nats_run.h"
#include "runtime/placement.h"
#include "runtime/run_description.h"
#include "runtime/worker_daemon.h"
#include "stdlib/stage_factory.h"

namespace flow {
namespace {

// A part that cannot take part (its input unreadable, the program does not
// compile here, another graph than the origin's): its worker says "gone"
// and the origin runs its instances, rather than failing the run.
constexpr int kExitCannotJoin = kPartCannotJoin;

std::string ReadAllStdin() {
  std::string text;
  char buffer[65536];
  ssize_t n;
  while ((n = read(STDIN_FILENO, buffer, sizeof buffer)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace

int RunWorkerCommand(CommandOptions& options, int slots) {
  if (!ResolveBrokerOptions(options)) return kExitUsageOrCompileError;
  if (options.broker.empty()) {
    std::fprintf(stderr,
                 "flowrun: error: a worker takes its work from a broker: give --broker nats://HOST:PORT (or set %s)\n",
                 kBrokerVariable);
    return kExitUsageOrCompileError;
  }
  if (std::string problem = BrokerFilesProblem(options.broker); !problem.empty()) {
    std::fprintf(stderr, "flowrun: error: %s\n", problem.c_str());
    return kExitRuntimeFailure;
  }
  WorkerDaemonOptions daemon;
  daemon.broker = options.broker;
  if (!ResolveGrace(options, &daemon.grace)) return kExitUsageOrCompileError;
  const SystemLimits limits = ReadSystemLimits();
  const int wanted = slots > 0 ? slots : limits.online_cpus;
  // Offered slots that the process limits cannot hold would fail every run
  // placed on them: fewer are offered, and the worker says why.
  std::string why;
  daemon.slots = SlotsWithinLimits(wanted, limits, &why);
  if (daemon.slots == 0) {
    std::fprintf(stderr, "flowrun: error: this worker has no room for a stage instance: %s\n", why.c_str());
    return kExitRuntimeFailure;
  }
  if (daemon.slots < wanted)
    std::fprintf(stderr, "flowrun worker: warning: %d slots, not %d: %s\n", daemon.slots, wanted, why.c_str());
  // Its own path, as ps shows it for the parts; the binary replaced
  // meanwhile (an upgrade) is still the one that runs them.
  char self[4096];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length > 0 && access(std::string(self, static_cast<size_t>(length)).c_str(), X_OK) == 0)
    daemon.program.assign(self, static_cast<size_t>(length));
  return RunWorkerDaemon(daemon);
}

int RunWorkerPartCommand() {
  // A spare part waits here for its run: what its instances inherit is set
  // up now, not after the job came.
  PrepareToForkLinks();
  Fields fields;
  if (!DecodeFields(ReadAllStdin(), &fields)) {
    std::fprintf(stderr, "flowrun: error: worker-part: its input is not a run's part (it is started by `flowrun worker`)\n");
    return kExitCannotJoin;
  }
  RunOptions run;
  RunOptions::Part part;
  std::string job, place;
  for (const auto& [name, value] : fields) {
    if (name == "url") run.broker.url = value;
    else if (name == "creds") run.broker.creds_file = value;
    else if (name == "nkey") run.broker.nkey_file = value;
    else if (name == "tls_ca") run.broker.tls_ca_file = value;
    else if (name == "tls_cert") run.broker.tls_cert_file = value;
    else if (name == "tls_key") run.broker.tls_key_file = value;
    else if (name == "run") part.run = value;
    else if (name == "worker") part.worker = value;
    else if (name == "job") job = value;
    else if (name == "place") place = value;
    else if (name == "counters") part.counters_path = value;
    else if (name == "made") part.run_made = value == "1";
    else if (name == "hand_back") part.hand_back_fd = value == "1" ? kPartHandBackFd : -1;
  }
  RunDescription description;
  if (!RunDescription::Decode(job, &description)) {
    std::fprintf(stderr, "flowrun: error: run %s: its description on the broker cannot be read\n", part.run.c_str());
    return kExitCannotJoin;
  }
  FrontEndOptions front_end;
  front_end.program = description.program;
  front_end.program_name = description.program_path;
  front_end.params = description.params;
  front_end.environment = description.environment;
  front_end.queue_records = description.queue_records;
  front_end.queue_bytes = description.queue_bytes;
  front_end.online_cpus = description.online_cpus;
  std::optional<CompiledProgram> program = CompileProgram(front_end);
  if (!program) return kExitCannotJoin;
  WidenAutoStages(&program->graph, description.auto_extra);
  // Another flowrun may compile the same text into another graph: its
  // instances would not fit the origin's edges.
  if (FormatGraph(program->graph, GraphFormat::kText) != description.shape) {
    std::fprintf(stderr,
                 "flowrun: error: run %s: this worker's flowrun (%s) compiles '%s' into another stage graph than the "
                 "origin's: run the same flowrun version on every machine\n",
                 part.run.c_str(), FLOWRUN_VERSION, description.program_path.c_str());
    return kExitCannotJoin;
  }
  if (!Placement::Decode(place, program->graph, &part.placement)) {
    std::fprintf(stderr, "flowrun: error: run %s: its placement on the broker does not fit its graph\n",
                 part.run.c_str());
    return kExitCannotJoin;
  }
  // A worker that joined the run after it started runs instances added to
  // its `* auto` stages, numbered after the graph's.
  GrowToPlacement(&program->graph, part.placement);
  run.program_path = description.program_path;
  run.part = part;
  return RunCompiled(*program, description.no_jit, StageContext().sort_memory_bytes, run);
}

}  // namespace flow
