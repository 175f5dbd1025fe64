#include "runtime/lease_pace.h"

#include <cmath>

namespace flow {
namespace {

// Before this many leases, no pace is known (the first takes the stage's
// start-up: a connection, a cache filled).
constexpr int kLeasesKnown = 2;
// Leases shorter than this end before a pull asked ahead could help much.
constexpr double kShortestUs = 5'000;
// The pace is steady when the leases vary by less than this share of it.
constexpr double kSteadyShare = 0.125;
// How long before the expected end the pull goes out: about twice its
// round trip on a loaded 2-core machine, plus three deviations.
constexpr double kLeadUs = 1'000;
constexpr double kDeviations = 3;

}  // namespace

void LeasePace::Took(uint64_t ns) {
  const double us = static_cast<double>(ns) / 1'000;
  ++leases_;
  if (leases_ == 1) {
    mean_us_ = us;
  } else if (leases_ == 2) {  // the first deviation: the whole difference
    dev_us_ = std::fabs(us - mean_us_);
    mean_us_ = (mean_us_ + us) / 2;
  } else {
    dev_us_ += (std::fabs(us - mean_us_) - dev_us_) / 4;
    mean_us_ += (us - mean_us_) / 4;
  }
}

int64_t LeasePace::AskAfterUs() const {
  if (leases_ < kLeasesKnown || mean_us_ < kShortestUs || dev_us_ > mean_us_ * kSteadyShare) return -1;
  const double at = mean_us_ - kDeviations * dev_us_ - kLeadUs;
  return at > 0 ? static_cast<int64_t>(at) : -1;
}

}  // namespace flow
