#include "runtime/worker_policy.h"

#include <doctest/doctest.h>
#include <signal.h>

namespace flow {
namespace {

WorkerExited Exit(int code, int signal = 0, bool timed_out = false) {
  WorkerExited event;
  event.slot = 3;
  event.name = "map_2#3";
  event.status.code = code;
  event.status.signal = signal;
  event.timed_out = timed_out;
  return event;
}

TEST_SUITE("process") {
  TEST_CASE("exit descriptions name the worker and how it ended") {
    CHECK(DescribeWorkerExit(Exit(3)) == "worker 'map_2#3' exited with code 3");
    CHECK(DescribeWorkerExit(Exit(0, SIGABRT)) == "worker 'map_2#3' was killed by signal SIGABRT (Aborted)");
    CHECK(DescribeWorkerExit(Exit(0, SIGKILL, true)) ==
          "worker 'map_2#3' did not finish in time and was killed");
    CHECK(SignalName(SIGTERM) == "SIGTERM");
    CHECK(SignalName(0) == "signal 0");
  }

  TEST_CASE("default policy: success carries on, a failure stops the run with exit 1") {
    int stops = 0;
    StopOnFailurePolicy policy([&] { ++stops; }, kDefaultGrace);
    CHECK(policy.OnWorkerExited(Exit(0)).kind == Decision::Kind::kCarryOn);
    Decision failed = policy.OnWorkerExited(Exit(3));
    CHECK(failed.kind == Decision::Kind::kStop);
    CHECK(failed.exit_code == 1);
    CHECK(failed.reason == "worker 'map_2#3' exited with code 3");
    CHECK(policy.OnWorkerExited(Exit(0, SIGSEGV)).kind == Decision::Kind::kStop);
    CHECK(stops == 0);
  }

  TEST_CASE("default policy: an interrupt stops the sources and drains; a second kills") {
    int stops = 0;
    StopOnFailurePolicy policy([&] { ++stops; }, std::chrono::milliseconds(1500));
    Decision first = policy.OnInterrupted(Interrupted{SIGTERM});
    CHECK(stops == 1);
    CHECK(first.kind == Decision::Kind::kDrain);
    CHECK(first.exit_code == 143);
    CHECK(first.grace == std::chrono::milliseconds(1500));
    CHECK(first.reason == "interrupted by SIGTERM");
    // Workers ending badly while draining do not change the outcome.
    CHECK(policy.OnWorkerExited(Exit(0, SIGPIPE)).kind == Decision::Kind::kCarryOn);
    Decision second = policy.OnInterrupted(Interrupted{SIGINT});
    CHECK(stops == 1);
    CHECK(second.kind == Decision::Kind::kStop);
    CHECK(second.exit_code == 143);
  }

  TEST_CASE("default policy: SIGINT gives 130") {
    StopOnFailurePolicy policy(nullptr, kDefaultGrace);
    CHECK(policy.OnInterrupted(Interrupted{SIGINT}).exit_code == 130);
  }
}

}  // namespace
}  // namespace flow
