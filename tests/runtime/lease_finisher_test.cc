// The finisher of a worker's leases: one at a time, lowest key first, and
// what it tells the worker about the one it is finishing. Each wait below
// is on the finisher or on a gate the test opens; the time bounds are
// failure bounds.
#include "runtime/lease_finisher.h"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace flow {
namespace {

using std::chrono::milliseconds;

// A job that blocks until the test opens it, as a lease waiting for its
// turn does.
class Gate {
 public:
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void Pass() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST_CASE("leases in hand are finished one at a time, the lowest key first") {
  std::mutex mu;
  std::vector<uint64_t> order;
  Gate first;
  {
    LeaseFinisher finisher;
    const auto note = [&](uint64_t key) {
      std::lock_guard lock(mu);
      order.push_back(key);
    };
    REQUIRE(finisher.Start(10, [&] {
      first.Pass();
      note(10);
    }));
    // Queued while 10 is being finished, in any order.
    CHECK(finisher.Start(30, [&] { note(30); }));
    CHECK(finisher.Start(20, [&] { note(20); }));
    CHECK(finisher.in_hand() == 3);
    first.Open();
    finisher.Wait();
    CHECK(finisher.in_hand() == 0);
  }
  CHECK(order == std::vector<uint64_t>{10, 20, 30});
}

TEST_CASE("a lease below the one being finished is not queued: the worker finishes it in line") {
  Gate gate;
  LeaseFinisher finisher;
  REQUIRE(finisher.Start(10, [&] { gate.Pass(); }));
  CHECK(finisher.AwaitRoom(0, 5, milliseconds(5000)) == LeaseFinisher::Room::kGoesBefore);
  CHECK_FALSE(finisher.Start(5, [] {}));
  // Nothing below 5 is in hand: a lease at 5 waits for nothing.
  finisher.WaitBelow(5);
  // After 10, it waits for the room.
  CHECK(finisher.AwaitRoom(0, 12, milliseconds(50)) == LeaseFinisher::Room::kTimeout);
  CHECK(finisher.AwaitRoom(1, 12, milliseconds(50)) == LeaseFinisher::Room::kRoom);
  gate.Open();
  CHECK(finisher.AwaitRoom(0, 12, milliseconds(5000)) == LeaseFinisher::Room::kRoom);
}

TEST_CASE("waiting below a key waits for the leases before it only") {
  Gate low, high;
  LeaseFinisher finisher;
  REQUIRE(finisher.Start(3, [&] { low.Pass(); }));
  REQUIRE(finisher.Start(9, [&] { high.Pass(); }));
  low.Open();
  finisher.WaitBelow(7);  // 3 is done; 9 still waits
  CHECK(finisher.in_hand() == 1);
  high.Open();
}

}  // namespace
}  // namespace flow
