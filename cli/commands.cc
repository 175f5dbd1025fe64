#include "cli/commands.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <unistd.h>
#include <utility>
#include <vector>

#include "cli/option_values.h"
#include "compiler/compiled_blocks.h"
#include "compiler/diagnostics.h"
#include "compiler/graph_format.h"
#include "compiler/interpreted_block.h"
#include "compiler/planner.h"
#include "compiler/stage_text.h"
#include "compiler/system_limits.h"
#include "runtime/broker_board.h"
#include "runtime/broker_edges.h"
#include "runtime/broker_probe.h"
#include "runtime/placement.h"
#include "runtime/run_description.h"
#include "runtime/runner.h"
#include "runtime/trace.h"
#include "stdlib/stage_factory.h"

namespace flow {

// --broker and the --nats-* options into options.broker.
bool ResolveGrace(const CommandOptions& options, std::chrono::milliseconds* grace) {
  if (!options.grace_text) return true;
  const std::optional<int64_t> nanos = ParseDurationNanos(*options.grace_text);
  if (!nanos) {
    std::fprintf(stderr, "flowrun: error: --grace takes a duration (250ms, 5s, 2m), got '%s'\n",
                 options.grace_text->c_str());
    return false;
  }
  *grace = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(*nanos));
  return true;
}

bool ResolveBrokerOptions(CommandOptions& options) {
  // Without --broker, the environment's: a password or token on the
  // command line is visible to every user of the machine (ps, /proc/PID/
  // cmdline), a process's environment only to its owner and root. Set but
  // empty is not set (as a shell's `FLOWRUN_BROKER= flowrun run ...`).
  // Taken out of the environment once read, used or not: the commands a
  // run's `exec` starts, and whatever they log, never see it (nothing of
  // ours needs it: the keeper and instances are forked, and a worker hands
  // each part its URL on a pipe).
  const char* named = "--broker";
  if (const char* from_environment = std::getenv(kBrokerVariable)) {
    const std::string url = from_environment;
    unsetenv(kBrokerVariable);
    if (!options.broker_url && !url.empty()) {
      options.broker_url = url;
      named = kBrokerVariable;
    }
  }
  if (options.broker_url && options.broker_url->empty()) {
    std::fprintf(stderr, "flowrun: error: --broker takes a URL (nats://HOST:PORT), got ''\n");
    return false;
  }
  // libnats speaks NATS to any scheme: an http:// or ws:// URL met "no
  // server available for connection", which hid the mistake. Each URL of a
  // comma-separated list is nats://, tls:// or a bare HOST:PORT.
  if (options.broker_url) {
    const std::string& urls = *options.broker_url;
    for (size_t start = 0; start <= urls.size();) {
      const size_t comma = std::min(urls.find(',', start), urls.size());
      std::string url = urls.substr(start, comma - start);
      url.erase(0, url.find_first_not_of(' '));
      const size_t scheme_end = url.find("://");
      if (scheme_end != std::string::npos && url.compare(0, scheme_end, "nats") != 0 &&
          url.compare(0, scheme_end, "tls") != 0) {
        std::fprintf(stderr, "flowrun: error: %s takes nats://HOST:PORT or tls://HOST:PORT, got '%s'\n", named,
                     RedactedUrl(url).c_str());
        return false;
      }
      start = comma + 1;
    }
  }
  const std::pair<const char*, const std::optional<std::string>*> files[] = {
      {"--nats-creds", &options.nats_creds},
      {"--nats-nkey", &options.nats_nkey},
      {"--nats-tls-ca", &options.nats_tls_ca},
      {"--nats-tls-cert", &options.nats_tls_cert},
      {"--nats-tls-key", &options.nats_tls_key}};
  for (const auto& [name, value] : files) {
    if (!*value) continue;
    if (value->value().empty()) {
      std::fprintf(stderr, "flowrun: error: %s takes a file, got ''\n", name);
      return false;
    }
    if (!options.broker_url) {
      std::fprintf(stderr, "flowrun: error: %s is for a broker: give --broker nats://HOST:PORT too (or set %s)\n",
                   name, kBrokerVariable);
      return false;
    }
  }
  if (options.nats_creds && options.nats_nkey) {
    std::fprintf(stderr, "flowrun: error: --nats-creds and --nats-nkey are two ways to say who we are: give one\n");
    return false;
  }
  if (options.nats_tls_cert.has_value() != options.nats_tls_key.has_value()) {
    std::fprintf(stderr, "flowrun: error: --nats-tls-cert and --nats-tls-key go together: give both\n");
    return false;
  }
  options.broker.url = options.broker_url.value_or("");
  options.broker.creds_file = options.nats_creds.value_or("");
  options.broker.nkey_file = options.nats_nkey.value_or("");
  options.broker.tls_ca_file = options.nats_tls_ca.value_or("");
  options.broker.tls_cert_file = options.nats_tls_cert.value_or("");
  options.broker.tls_key_file = options.nats_tls_key.value_or("");
  return true;
}

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
  if (options.sort_memory_text) {
    std::optional<QueueCapacity> size = ParseQueueCapacity(*options.sort_memory_text);
    if (!size || size->bytes == 0) {
      std::fprintf(stderr, "flowrun: error: --sort-memory takes a size (64MiB, 1GiB), got '%s'\n",
                   options.sort_memory_text->c_str());
      return false;
    }
  }
  if (!ResolveBrokerOptions(options)) return false;
  std::chrono::milliseconds grace{0};
  return ResolveGrace(options, &grace);
}

// Checks the compiled plan against this machine and the file system; prints
// every problem. True when the plan can run.
bool CheckPlanHere(const CompiledProgram& program, const Plan& plan, const SystemLimits& limits) {
  RealPathProbe probe;
  DiagnosticSink sink(program.file.get());
  bool ok = CheckPlanAgainst(plan, program.graph, limits, probe, sink);
  std::fputs(sink.Render().c_str(), stderr);
  return ok && !sink.has_errors();
}

// What a `flowrun worker` needs to compile the same graph as this one:
// `program` compiled with `options` (its `* auto` stages widened by
// `auto_extra`, the workers' slots), having read `environment_read`.
std::string DescribeRun(const CompiledProgram& program, const CommandOptions& options,
                        const std::map<std::string, std::string>& environment_read, int auto_extra = 0) {
  RunDescription description;
  description.program = program.file->text();
  description.program_path = program.file->path();
  description.params = options.front_end.params;
  description.environment = environment_read;
  description.queue_records = options.front_end.queue_records;
  description.queue_bytes = options.front_end.queue_bytes;
  description.online_cpus = options.front_end.online_cpus;
  description.auto_extra = auto_extra;
  description.no_jit = options.no_jit;
  description.shape = FormatGraph(program.graph, GraphFormat::kText);
  return description.Encode();
}

// `check --broker`: connects as the run's processes would, and says what
// it found for the plan; `*error` says why the broker cannot be used.
// libnats starts threads and has no fork handlers, which is why `run`
// never calls it in the supervisor; `check` forks nothing, before or after.
// `describe_run`: the run's description (RunDescription) for the graph
// once widened, which a run started now would offer the workers.
BrokerPlacement ProbeForPlan(const BrokerAccess& broker, StageGraph* widened,
                             const std::function<std::string()>& describe_run, std::string* error) {
  const StageGraph& graph = *widened;
  BrokerPlacement placement;
  placement.edge_batches = kBrokerEdgeBatches;
  placement.edge_on_broker = EdgesOnBroker(graph);
  *error = BrokerFilesProblem(broker);
  BrokerFacts facts;
  if (error->empty() && ProbeBroker(broker, &facts, error)) {
    placement.broker = DescribeBroker(facts) + ", " + CountOf(static_cast<int64_t>(facts.workers.size()), "worker");
    WidenAutoStages(widened, TotalSlots(facts.workers));
    // What a run started now would do (runtime/placement.h).
    const Placement where = PlaceInstances(graph, facts.workers);
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      std::map<std::string, int> count;
      for (const std::string& w : where.where[n]) ++count[w];
      std::string text;
      for (const WorkerOffer& w : facts.workers) {
        if (count.count(w.id) == 0) continue;
        text += (text.empty() ? "" : ", ") + ("worker " + w.id + " (" + w.host + ") x" + std::to_string(count[w.id]));
      }
      if (count.count("") != 0) {
        const std::string why = WhyOnOrigin(graph.nodes[n]);
        text += (text.empty() ? "this machine" : ", this machine x" + std::to_string(count[""])) +
                (why.empty() || why == "a source" || why == "a sink" ? "" : " (" + why + ")");
      }
      if (MayGrow(graph.nodes[n])) text += ", + workers that join";
      placement.runs_on.push_back(text);
    }
    // The instances here, the supervisor, its group's leader and the keeper.
    placement.tasks_here = OriginTasks(graph, where, placement.edge_on_broker, false) + 2 + kTasksPerKeeper;
    // Each worker gets its job in one message: one that does not fit
    // fails the run at its start (OfferRun), so it fails the check too.
    for (const WorkerOffer& w : facts.workers) {
      int taken = 0;
      for (const std::vector<std::string>& node : where.where)
        taken += static_cast<int>(std::count(node.begin(), node.end(), w.id));
      if (taken == 0) continue;
      placement.instances_elsewhere += taken;
      ++placement.workers_taking;
      // The others' offers differ only in their count.
      if (placement.workers_taking > 1) continue;
      const std::string offer = JobOffer(taken, describe_run(), where.Encode(), true);
      *error = OfferTooLarge(offer.size(), facts.max_payload, facts.url);
    }
  } else {
    placement.broker = RedactedUrl(broker.url) + ": cannot be used (see the error)";
  }
  return placement;
}

}  // namespace

int RunCheckCommand(CommandOptions& options) {
  if (!ResolveCommandOptions(options)) return kExitUsageOrCompileError;
  SystemLimits limits = ReadSystemLimits();
  options.front_end.online_cpus = limits.online_cpus;
  std::map<std::string, std::string> environment_read;
  options.front_end.environment_read = &environment_read;
  std::optional<CompiledProgram> program = CompileProgram(options.front_end);
  if (!program) return kExitUsageOrCompileError;
  PlanFormatOptions format;
  format.file_path = program->file->path();
  format.show_limits = !options.plan_without_limits;
  std::string broker_error;
  // First: with workers on the broker, `* auto` counts their slots too.
  if (!options.broker.empty()) {
    // (Without the workers' slots for `* auto`: a few bytes less than a
    // run's, which only the size check below reads.)
    const auto describe_run = [&] { return DescribeRun(*program, options, environment_read); };
    format.broker = ProbeForPlan(options.broker, &program->graph, describe_run, &broker_error);
  }
  Plan plan = BuildPlan(program->graph);
  std::fputs(FormatPlan(plan, program->graph, limits, format).c_str(), stdout);
  std::fflush(stdout);
  bool ok = CheckPlanHere(*program, plan, limits);
  // A run on a broker: its instances' threads count against the limits too.
  if (ok && broker_error.empty() && format.broker && format.broker->tasks_here > 0)
    broker_error = OriginTasksProblem(format.broker->tasks_here, limits);
  if (!broker_error.empty()) {
    std::fprintf(stderr, "flowrun: error: %s\n", broker_error.c_str());
    ok = false;
  }
  return ok ? kExitSuccess : kExitRuntimeFailure;
}

int RunGraphCommand(CommandOptions& options) {
  if (!ResolveCommandOptions(options)) return kExitUsageOrCompileError;
  options.front_end.online_cpus = ReadSystemLimits().online_cpus;
  std::optional<CompiledProgram> program = CompileProgram(options.front_end);
  if (!program) return kExitUsageOrCompileError;
  std::optional<GraphFormat> format = ParseGraphFormat(options.graph_format);
  if (!format) {
    std::fprintf(stderr, "flowrun: error: unknown graph format '%s': use text, dot or mermaid\n",
                 options.graph_format.c_str());
    return kExitUsageOrCompileError;
  }
  std::fputs(FormatGraph(program->graph, *format).c_str(), stdout);
  return kExitSuccess;
}

int RunRunCommand(CommandOptions& options) {
  if (!ResolveCommandOptions(options)) return kExitUsageOrCompileError;
  SystemLimits limits = ReadSystemLimits();
  options.front_end.online_cpus = limits.online_cpus;
  std::map<std::string, std::string> environment_read;
  options.front_end.environment_read = &environment_read;
  std::optional<CompiledProgram> program = CompileProgram(options.front_end);
  if (!program) return kExitUsageOrCompileError;
  // `* auto` on a broker counts the workers' slots too (before anything
  // else forks: the probe is a child of its own).
  int auto_extra = 0;
  if (!options.broker.empty()) {
    bool has_auto = false;
    for (const StageNode& node : program->graph.nodes) has_auto = has_auto || node.replicas_auto;
    if (has_auto && BrokerFilesProblem(options.broker).empty()) auto_extra = WorkerSlotsOnBroker(options.broker);
    WidenAutoStages(&program->graph, auto_extra);
  }
  Plan plan = BuildPlan(program->graph);
  if (!CheckPlanHere(*program, plan, limits)) return kExitRuntimeFailure;
  // A missing credentials or TLS file is said here, once, rather than by
  // the broker keeper through the library's words.
  if (std::string problem = BrokerFilesProblem(options.broker); !problem.empty()) {
    std::fprintf(stderr, "flowrun: error: %s\n", problem.c_str());
    return kExitRuntimeFailure;
  }

  RunOptions run;
  run.program_path = program->file->path();
  ResolveGrace(options, &run.grace);  // (checked above)
  run.dead_letter_path = options.dead_letter_path.value_or("");
  if (options.max_restarts) run.max_restarts = *options.max_restarts;
  run.stats_path = options.stats_path.value_or("");
  run.progress = options.progress;
  run.broker = options.broker;
  if (!run.broker.empty()) run.description = DescribeRun(*program, options, environment_read, auto_extra);
  int64_t sort_memory = options.sort_memory_text ? ParseQueueCapacity(*options.sort_memory_text)->bytes
                                                 : StageContext().sort_memory_bytes;
  return RunCompiled(*program, options.no_jit, sort_memory, run);
}

namespace {

// The run is over and said so: what is left is freeing memory the kernel
// takes back anyway, the JIT's above all (a few ms on a broker run's
// critical path, where the origin's end and each worker's part's end are
// waited for). Sanitizer builds tear down, for their leak check.
void ExitWithoutTeardown(int code) {
#if defined(__SANITIZE_ADDRESS__)
  (void)code;
#else
  std::fflush(nullptr);
  _exit(code);
#endif
}

}  // namespace

int RunCompiled(const CompiledProgram& program, bool no_jit, int64_t sort_memory, const RunOptions& run) {
  // Block functions are made in the supervisor before the fork (by
  // RunGraph, through make_blocks: on a broker while the keeper makes the
  // run), so every worker inherits them: the JIT compiles every block and
  // looks each one up (Finalize) so no worker ever runs LLVM. `--no-jit` runs the
  // reference interpreter instead; the two give byte-identical output.
  InterpretedBlocks interpreted;
  CompiledBlocks compiled;
  std::vector<BlockFunction> blocks;
  RunOptions options = run;
  options.make_blocks = [&] {
    for (const StageNode& node : program.graph.nodes) {
      BlockFunction block;
      // A worker's part compiles only the blocks of the stages it runs: the
      // JIT's milliseconds are on the run's critical path.
      bool runs_here = true;
      if (run.part) {
        const std::vector<std::string>& placed = run.part->placement.where[static_cast<size_t>(node.id)];
        runs_here = std::find(placed.begin(), placed.end(), run.part->worker) != placed.end();
      }
      if (node.block && runs_here) {
        auto fs = node.args.find("fs");
        std::string separator = fs != node.args.end() && fs->second.type() == Type::kStr ? fs->second.as_str() : "";
        block = no_jit ? interpreted.Make(*node.block, separator, StageBlockWant(node), *program.file)
                       : compiled.Make(*node.block, separator, StageBlockWant(node), *program.file);
      }
      blocks.push_back(block);
    }
    std::string jit_error;
    if (!no_jit && !compiled.Finalize(&jit_error))
      std::fprintf(stderr, "flowrun: warning: %s; those blocks run in the interpreter\n", jit_error.c_str());
  };

  const char* tmpdir = std::getenv("TMPDIR");
  std::string temp_dir = tmpdir && *tmpdir ? tmpdir : "/tmp";
  StageMaker make_stage = [sort_memory, temp_dir](const StageInstance& instance, std::string* error) {
    StageContext context;
    context.sort_memory_bytes = sort_memory;
    context.temp_dir = temp_dir;
    context.node = instance.node;
    context.instance = instance.instance;
    context.block = instance.block;
    context.temp_path = instance.temp_path;
    context.stop_requested = instance.stop_requested;
    return MakeStage(context, error);
  };
  const int code = RunGraph(program.graph, blocks, make_stage, options);
  TraceEvent("run returned");
  ExitWithoutTeardown(code);
  return code;
}

}  // namespace flow
