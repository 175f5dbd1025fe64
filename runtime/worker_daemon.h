// `flowrun worker --broker URL [--slots N]` (issue 8): a long-lived process
// on any machine that takes stage instances of the runs started on that
// broker by `flowrun run --broker URL`.
//
// It says it is alive, with its slots, in the broker's flowrun_workers
// bucket every second (runtime/broker_board.h), and watches for jobs: an
// origin that places instances on it puts "job.<worker>.<run>". For each
// job it reads the run's description and placement from the run's bucket
// and starts a *part*: `flowrun worker-part`, a fresh process (exec: the
// worker itself uses libnats, which is not fork-safe, and the part forks
// its workers) that compiles the program with its own compiler, checks
// that it gets the origin's graph, and runs the instances placed here as
// a local supervisor would, its edges on the broker.
//
// While a part runs the worker beats for it ("part.<worker>" = "up", every
// kPartBeatMs); when the part ends it writes "done", or "failed: <the
// part's last error line>", which stops the run on the origin. If the
// worker cannot reach the broker for longer than a part may go silent
// (kPartStaleNs) it kills its parts: the origin has taken their instances
// back by then, and two copies of one instance must not run.
//
// SIGINT or SIGTERM: the parts are killed (their instances run on the
// origin after it sees them lost) and the worker leaves the bucket.
#pragma once

#include <chrono>
#include <string>

#include <unistd.h>

#include "runtime/broker_access.h"
#include "runtime/worker_policy.h"

namespace flow {

// A part's exit code when it cannot take part in its run at all (another
// flowrun version, a program that does not compile here): not the run's
// failure; the worker says "gone" and the origin runs the instances.
inline constexpr int kPartCannotJoin = 3;

struct WorkerDaemonOptions {
  BrokerAccess broker;
  int slots = 1;
  std::string program = "/proc/self/exe";  // the flowrun that runs the parts
  int log_fd = STDERR_FILENO;
  // On SIGINT or SIGTERM, how long the instances may finish the records
  // they hold before the parts are killed (what is left is handed back).
  std::chrono::milliseconds grace = kDefaultGrace;
};

// The descriptor on which a part finds the memfd of its hand-back book,
// made by its worker (SpawnProgram's fd3), when its handover says so.
inline constexpr int kPartHandBackFd = 3;

// Runs until SIGINT or SIGTERM (exit 130, 143) or until the broker cannot
// be reached at start (exit 1, with a message).
int RunWorkerDaemon(const WorkerDaemonOptions& options);

}  // namespace flow
