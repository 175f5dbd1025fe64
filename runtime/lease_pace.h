// How long a stage's leases take, so that a worker whose input comes from
// afar can ask for its next lease just before the current one ends
// (Queue::AskAheadIn): the pull then travels while the last record is
// worked on, not after it. A pull from a broker is a round trip, 0.4-0.6
// ms on a loaded machine, paid once per lease by a slow stage that takes
// one record at a time (the whois example: 10 leases in a row per replica).
//
// Only for a steady pace: asked too early, a lease waits in a replica that
// is still busy while a sibling may have nothing (at the end of the
// input, that is time the run waits). So the ask comes well before the
// mean only if the leases hardly vary, and not at all if they do.
#pragma once

#include <cstdint>

namespace flow {

class LeasePace {
 public:
  // A lease took `ns`, from its taking to its records done.
  void Took(uint64_t ns);
  // When, after a lease is taken, to ask for the next one, in µs; -1 when
  // the pace is not known or not steady enough (then the next is asked
  // for when the lease is done, as before).
  int64_t AskAfterUs() const;

 private:
  int leases_ = 0;
  double mean_us_ = 0;  // moving averages, a quarter weight to the last lease
  double dev_us_ = 0;   // of |took - mean|
};

}  // namespace flow
