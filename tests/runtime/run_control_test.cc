// The steps of a run's making on the broker, as the origin's processes see
// them through RunControl's shared page: an instance started with the
// keeper connects once the keeper has, and opens its edges once the run is
// made (runtime/run_control.h says why the order matters).
#include "runtime/run_control.h"

#include <doctest/doctest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <chrono>
#include <thread>

namespace flow::run_control_test {

namespace {

// The child's progress, on a page it shares with the test.
struct Seen {
  std::atomic<int> step{0};  // 1 past AwaitKeeperConnected, 2 past AwaitRunMade
};

void Settle() { std::this_thread::sleep_for(std::chrono::milliseconds(30)); }

// Whether `child` exits cleanly within 5 s; killed if not. A wait that
// never returns would otherwise hang the test instead of failing it.
bool EndsCleanly(pid_t child) {
  int status = 0;
  pid_t ended = 0;
  for (int i = 0; i < 500 && ended == 0; ++i) {
    ended = waitpid(child, &status, WNOHANG);
    if (ended == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (ended == 0) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    return false;
  }
  return ended == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

TEST_SUITE("run_control") {
  TEST_CASE("an instance waits for the keeper's connection, then for the run made, in another process") {
    std::string error;
    auto control = RunControl::Create(1, 0, &error);
    REQUIRE_MESSAGE(control != nullptr, error);
    auto* seen = static_cast<Seen*>(
        mmap(nullptr, sizeof(Seen), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    REQUIRE(seen != MAP_FAILED);
    new (seen) Seen;
    const pid_t instance = fork();
    REQUIRE(instance >= 0);
    if (instance == 0) {
      control->AwaitKeeperConnected();
      seen->step.store(1);
      control->AwaitRunMade();
      seen->step.store(2);
      _exit(0);
    }
    Settle();
    CHECK(seen->step.load() == 0);
    // The keeper marks its connection from its own process.
    const pid_t keeper = fork();
    REQUIRE(keeper >= 0);
    if (keeper == 0) {
      control->MarkKeeperConnected();
      _exit(0);
    }
    REQUIRE(EndsCleanly(keeper));
    Settle();
    CHECK(seen->step.load() == 1);  // connected, but the run is not made yet
    control->MarkRunMade();
    CHECK(EndsCleanly(instance));
    CHECK(seen->step.load() == 2);
    munmap(seen, sizeof(Seen));
  }

  TEST_CASE("a keeper's late word does not take a made run back") {
    std::string error;
    auto control = RunControl::Create(1, 0, &error);
    REQUIRE_MESSAGE(control != nullptr, error);
    control->MarkRunMade();
    control->MarkKeeperConnected();
    const pid_t instance = fork();
    REQUIRE(instance >= 0);
    if (instance == 0) {
      control->AwaitRunMade();
      _exit(0);
    }
    CHECK_MESSAGE(EndsCleanly(instance), "the run is still made after the keeper's word");
  }
}

}  // namespace flow::run_control_test
