// The steps of a run's making on the broker, as the origin's processes see
// them through RunControl's shared page: an instance started with the
// keeper connects once the keeper has, and opens its edges once the run is
// made (runtime/run_control.h says why the order matters).
#include "runtime/run_control.h"

#include <doctest/doctest.h>
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "tests/runtime/shm_queue_harness.h"

namespace flow::run_control_test {

namespace {

// The child's progress, on a page it shares with the test.
struct Seen {
  std::atomic<int> step{0};  // 1 past AwaitKeeperConnected, 2 past AwaitRunMade
};

void Settle() { std::this_thread::sleep_for(std::chrono::milliseconds(30)); }

// A wait that never returns fails the test in this time instead of hanging it.
constexpr int kWaitMs = 5000;

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
    queue_test::Children instance, keeper;
    instance.Spawn([&] {
      control->AwaitKeeperConnected();
      seen->step.store(1);
      control->AwaitRunMade();
      seen->step.store(2);
      return true;
    });
    Settle();
    CHECK(seen->step.load() == 0);
    // The keeper marks its connection from its own process.
    keeper.Spawn([&] {
      control->MarkKeeperConnected();
      return true;
    });
    std::string why;
    REQUIRE_MESSAGE(keeper.WaitAll(kWaitMs, &why), why);
    Settle();
    CHECK(seen->step.load() == 1);  // connected, but the run is not made yet
    control->MarkRunMade();
    CHECK_MESSAGE(instance.WaitAll(kWaitMs, &why), why);
    CHECK(seen->step.load() == 2);
    munmap(seen, sizeof(Seen));
  }

  TEST_CASE("a keeper's late word does not take a made run back") {
    std::string error;
    auto control = RunControl::Create(1, 0, &error);
    REQUIRE_MESSAGE(control != nullptr, error);
    control->MarkRunMade();
    control->MarkKeeperConnected();
    queue_test::Children instance;
    instance.Spawn([&] {
      control->AwaitRunMade();
      return true;
    });
    std::string why;
    const bool ended = instance.WaitAll(kWaitMs, &why);
    CHECK_MESSAGE(ended, "the run is still made after the keeper's word: " << why);
  }
}

}  // namespace flow::run_control_test
