// When a worker asks for its next lease ahead (runtime/lease_pace.h): only
// at a known, steady pace, and early enough for the pull to travel.
#include "runtime/lease_pace.h"

#include <doctest/doctest.h>

namespace flow::lease_pace_test {

TEST_SUITE("lease_pace") {
  TEST_CASE("no ask before two leases; at a steady 50 ms, a little before the end") {
    LeasePace pace;
    CHECK(pace.AskAfterUs() == -1);
    pace.Took(50'000'000);
    CHECK(pace.AskAfterUs() == -1);
    pace.Took(50'200'000);
    const int64_t at = pace.AskAfterUs();
    // Mean 50.1 ms, deviation 0.2 ms: three deviations and the lead before.
    CHECK(at == 50'100 - 600 - 1'000);
    for (int i = 0; i < 8; ++i) pace.Took(50'100'000);
    CHECK(pace.AskAfterUs() > at);  // steadier: later, closer to the end
    CHECK(pace.AskAfterUs() < 50'100 - 1'000 + 1);
  }

  TEST_CASE("an unsteady pace, or leases too short to gain from it, asks nothing") {
    LeasePace unsteady;
    unsteady.Took(10'000'000);
    unsteady.Took(90'000'000);
    for (int i = 0; i < 4; ++i) {
      unsteady.Took(30'000'000);
      unsteady.Took(70'000'000);
    }
    CHECK(unsteady.AskAfterUs() == -1);
    LeasePace fast;
    for (int i = 0; i < 10; ++i) fast.Took(2'000'000);
    CHECK(fast.AskAfterUs() == -1);
  }

  TEST_CASE("a pace that turns unsteady stops asking; steady again, it asks again") {
    LeasePace pace;
    for (int i = 0; i < 6; ++i) pace.Took(20'000'000);
    CHECK(pace.AskAfterUs() > 0);
    pace.Took(60'000'000);
    CHECK(pace.AskAfterUs() == -1);
    for (int i = 0; i < 20; ++i) pace.Took(20'000'000);
    CHECK(pace.AskAfterUs() > 0);
  }
}

}  // namespace flow::lease_pace_test
