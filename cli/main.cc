// flowrun's command line: parses it and hands over to one command. Nothing
// else lives here.
#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include <algorithm>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "runtime/trace.h"

namespace {

constexpr int kUsageError = 2;

// A whole number of at least `least`, refused in words: CLI11's own
// NonNegativeNumber said "Value -3 not in range 0.000000 to 1797693...
// (300 digits)", and "not in range" for "abc" too.
CLI::Validator WholeNumberOfAtLeast(long long least) {
  return CLI::Validator(
      [least](std::string& text) -> std::string {
        errno = 0;
        char* end = nullptr;
        const long long value = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || value < least)
          return "'" + text + "' is not a whole number of " + std::to_string(least) + " or more";
        if (errno == ERANGE || value > INT32_MAX) return "'" + text + "' is too large";
        return "";
      },
      "");
}

// `flowrun FILE.flow` means `flowrun run FILE.flow`, and `flowrun -e PROG`
// means `flowrun run -e PROG`: insert the subcommand CLI11 expects.
std::vector<std::string> WithDefaultSubcommand(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return args;
  const std::string& first = args[0];
  bool is_subcommand = first == "run" || first == "check" || first == "graph" || first == "worker" ||
                       first == "worker-part";
  bool is_global_flag = first == "-h" || first == "--help" || first == "--version";
  if (!is_subcommand && !is_global_flag) args.insert(args.begin(), "run");
  return args;
}

// The options every subcommand that compiles a program takes.
void AddProgramOptions(CLI::App* command, flow::CommandOptions* options) {
  command->add_option("file", options->front_end.path, "the .flow program");
  command->add_option("-e,--program", options->program_text, "the program text itself, instead of a file");
  command->add_option("-p,--param", options->param_assignments, "NAME=VALUE, read by arg(\"NAME\") (repeatable)")
      ->type_name("NAME=VALUE")
      ->allow_extra_args(false);  // `-p a=1 file.flow`: the file is not a second value
  command->add_option("--queue", options->queue_text,
                      "default capacity of every queue: records (4096) or bytes (16MiB)")
      ->type_name("N|SIZE");
}

// Where the edges of a run go instead of shared memory, and how to connect
// there: `run` runs on the broker, `check` also checks that it answers.
void AddBrokerOptions(CLI::App* command, flow::CommandOptions* options, const char* broker_help) {
  // CREDS: user:password or a token; never shown in messages or output.
  command->add_option("--broker", options->broker_url, std::string(broker_help) + " (default: $" +
                                                          flow::kBrokerVariable + ", which keeps CREDS out of ps)")
      ->type_name("nats://[CREDS@]HOST:PORT");
  command->add_option("--nats-creds", options->nats_creds,
                      "connect to the broker with this NATS credentials file (JWT and NKey seed)")
      ->type_name("FILE");
  command->add_option("--nats-nkey", options->nats_nkey,
                      "connect to the broker as the NATS user of this NKey seed file (SU..., no JWT)")
      ->type_name("FILE");
  command->add_option("--nats-tls-ca", options->nats_tls_ca,
                      "connect to the broker over TLS; its certificate must chain to these PEM certificates")
      ->type_name("FILE");
  command->add_option("--nats-tls-cert", options->nats_tls_cert,
                      "our TLS certificate (PEM), for a broker that verifies clients; with --nats-tls-key")
      ->type_name("FILE");
  command->add_option("--nats-tls-key", options->nats_tls_key, "the private key (PEM) of --nats-tls-cert")
      ->type_name("FILE");
}

// The supervisor holds a few descriptors per worker (log pipes, queues); the
// soft limit on open files is often far below the hard one, which any
// process may raise itself to. Done first, so `check` plans against the
// limit the run will have.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  flow::TraceEvent(argc > 1 ? std::string("main ") + argv[1] : "main");
  CLI::App app{"flowrun: run a .flow dataflow program on every core.\n"
               "  flowrun FILE.flow            same as `flowrun run FILE.flow`\n"
               "  flowrun -e 'PROGRAM'         a program on the command line, then run",
               "flowrun"};
  app.set_version_flag("--version", std::string("flowrun ") + FLOWRUN_VERSION);
  app.require_subcommand(1);

  flow::CommandOptions run_options, check_options, graph_options, worker_options;

  CLI::App* run = app.add_subcommand("run", "compile, check and run a program");
  AddProgramOptions(run, &run_options);
  run->add_flag("--progress", run_options.progress, "one live line per stage on a terminal");
  run->add_option("--stats", run_options.stats_path, "write per-stage statistics as JSON at the end")
      ->type_name("PATH.json");
  run->add_option("--dead-letter", run_options.dead_letter_path, "where [on_error = dead_letter] records go")
      ->type_name("PATH");
  run->add_option("--grace", run_options.grace_text, "on SIGINT/SIGTERM, how long records in flight may drain (5s)")
      ->type_name("DURATION");
  run->add_option("--sort-memory", run_options.sort_memory_text,
                  "memory 'sort' holds before it spills sorted runs to $TMPDIR (256MiB)")
      ->type_name("SIZE");
  run->add_option("--max-restarts", run_options.max_restarts,
                  "how many times the workers of one stage may be replaced after dying (100)")
      ->check(WholeNumberOfAtLeast(0))
      ->type_name("N");
  AddBrokerOptions(run, &run_options, "put every edge on this NATS JetStream broker instead of shared memory");
  run->add_flag("--no-jit", run_options.no_jit, "run inline blocks on the reference interpreter");
  run->add_flag("--dry-run", run_options.dry_run, "check and print the plan, run nothing (= flowrun check)");

  CLI::App* check = app.add_subcommand("check", "the dry-run validator: parse, resolve, type-check, plan");
  AddProgramOptions(check, &check_options);
  check->add_flag("--no-limits", check_options.plan_without_limits,
                  "leave this machine's limits out of the plan (to compare plans across machines)");
  AddBrokerOptions(check, &check_options,
                   "check that this NATS JetStream broker answers, and plan a run on it (where each stage runs)");

  CLI::App* graph = app.add_subcommand("graph", "print the stage graph");
  AddProgramOptions(graph, &graph_options);
  graph->add_option("--format", graph_options.graph_format, "text, dot or mermaid")
      ->check(CLI::IsMember({"text", "dot", "mermaid"}));

  CLI::App* worker = app.add_subcommand("worker", "take stage instances of the runs started on a broker (runs on many machines)");
  AddBrokerOptions(worker, &worker_options, "the NATS JetStream broker whose runs this worker helps");
  int slots = 0;
  worker->add_option("--slots", slots, "stage instances this worker runs at most (the CPU count)")
      ->check(WholeNumberOfAtLeast(1))
      ->type_name("N");
  worker->add_option("--grace", worker_options.grace_text,
                     "on SIGINT/SIGTERM, how long its instances may finish the records they hold (5s)")
      ->type_name("DURATION");
  // Started by `flowrun worker` for each run it joins; its input is on stdin.
  CLI::App* worker_part = app.add_subcommand("worker-part", "");
  worker_part->group("");  // hidden from --help

  RaiseOpenFileLimit();
  std::vector<std::string> args = WithDefaultSubcommand(argc, argv);
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsageError;
  }

  if (*worker) return flow::RunWorkerCommand(worker_options, slots);
  if (*worker_part) return flow::RunWorkerPartCommand();
  if (*check) return flow::RunCheckCommand(check_options);
  if (*graph) return flow::RunGraphCommand(graph_options);
  if (run_options.dry_run) return flow::RunCheckCommand(run_options);
  return flow::RunRunCommand(run_options);
}
