// The subcommands of flowrun, each from its parsed options to an exit code.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli/front_end.h"
#include "runtime/broker_access.h"
#include "runtime/runner.h"

namespace flow {

// Section 8 of the contract.
inline constexpr int kExitSuccess = 0;
inline constexpr int kExitRuntimeFailure = 1;
inline constexpr int kExitUsageOrCompileError = 2;

// What the command line said, as typed; ResolveCommandOptions turns the
// text values into front_end.
struct CommandOptions {
  FrontEndOptions front_end;
  std::optional<std::string> program_text;
  std::vector<std::string> param_assignments;  // "NAME=VALUE"
  std::optional<std::string> queue_text;
  bool progress = false;
  std::optional<std::string> stats_path;
  std::optional<std::string> dead_letter_path;
  std::optional<std::string> grace_text;
  std::optional<int> max_restarts;
  std::optional<std::string> sort_memory_text;  // "256MiB"
  std::optional<std::string> broker_url;  // --broker nats://HOST:PORT (run, check)
  std::optional<std::string> nats_creds;     // --nats-creds FILE
  std::optional<std::string> nats_nkey;      // --nats-nkey FILE
  std::optional<std::string> nats_tls_ca;    // --nats-tls-ca FILE
  std::optional<std::string> nats_tls_cert;  // --nats-tls-cert FILE
  std::optional<std::string> nats_tls_key;   // --nats-tls-key FILE
  BrokerAccess broker;  // all of the above, once resolved
  bool no_jit = false;
  bool dry_run = false;
  std::string graph_format = "text";
  bool plan_without_limits = false;  // check --no-limits
};

// The environment variable that gives the broker's URL to a command
// without --broker (run, check, worker).
inline constexpr const char* kBrokerVariable = "FLOWRUN_BROKER";

// --broker (or FLOWRUN_BROKER) and the --nats-* options into
// options.broker; prints a usage error and returns false when they do not
// go together.
bool ResolveBrokerOptions(CommandOptions& options);

// --grace (run, worker) into `*grace`, left as it is without one; prints a
// usage error and returns false when it is not a duration.
bool ResolveGrace(const CommandOptions& options, std::chrono::milliseconds* grace);

int RunCheckCommand(CommandOptions& options);
int RunGraphCommand(CommandOptions& options);
int RunRunCommand(CommandOptions& options);
// `flowrun worker --broker URL [--slots N]` (cli/worker_commands.cc).
int RunWorkerCommand(CommandOptions& options, int slots);
// The hidden `flowrun worker-part`: one worker's part of one run, described
// on stdin by the worker (runtime/worker_daemon.h).
int RunWorkerPartCommand();

// Builds the blocks (JIT, or interpreter with `no_jit`) and runs the graph.
int RunCompiled(const CompiledProgram& program, bool no_jit, int64_t sort_memory, const RunOptions& run);

}  // namespace flow
