// Finishes a worker's leases on a thread of its own: waits for each one's
// turn ([ordered]), publishes its outputs and acknowledges it, while the
// worker's thread takes the next lease and works on it (issue 8).
//
// Why: on a broker each of those steps is a round trip (the publish is
// confirmed before the Ack, which keeps a redone lease exactly-once), and
// an [ordered] lease may wait for a sibling's turn. In line, a replica of a
// slow stage (one record a lease) spent them between every two records:
// 1.5 ms a record on the whois example, 10 records in a row per replica.
// In the background they overlap the next record's work.
//
// The leases handed over are finished one at a time, lowest key first: a
// replica's [ordered] positions (it may hold several, and a batch back
// from a dead replica may come below them), or the order of hand-over.
// The worker hands one over once the one before is done, but for an
// [ordered] replica that has waited an ack wait for a turn nobody passes
// on (runtime/worker.cc, "one more").
//
// Only for a slow stage (WorkerSetup::finish_in_background) or an
// [ordered] one on a broker, on an input whose queue takes an Ack while a
// Pop of the same consumer waits (Queue::AcksDuringPop) and, when ordered,
// with turns that let a lease be taken while another waits
// (OrderTurns::TakesWhileWaiting).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace flow {

class LeaseFinisher {
 public:
  LeaseFinisher() = default;
  // Waits for the leases in hand, then ends the thread.
  ~LeaseFinisher();
  LeaseFinisher(const LeaseFinisher&) = delete;
  LeaseFinisher& operator=(const LeaseFinisher&) = delete;

  // Queues `finish` under `key` (the thread starts at the first call).
  // False, and nothing queued, when the lease being finished has a higher
  // key: it waits for a turn that comes after this one's, so the caller
  // finishes this lease itself, in line. Checked and queued at once: a
  // lease below the next one the thread would take is never queued behind
  // it.
  bool Start(uint64_t key, std::function<void()> finish);

  enum class Room { kRoom, kGoesBefore, kTimeout };
  // Waits until at most `most` leases are in hand (kRoom), or the one being
  // finished has a key above `key` (kGoesBefore: the caller's lease must go
  // in line), or `timeout` went by.
  Room AwaitRoom(size_t most, uint64_t key, std::chrono::milliseconds timeout);
  // Returns once no lease with a key below `key` is in hand.
  void WaitBelow(uint64_t key);
  // Returns once every lease handed over is finished.
  void Wait() { WaitBelow(UINT64_MAX); }
  size_t in_hand();

 private:
  void Loop();
  bool AnyBelow(uint64_t key) const;  // under mu_
  size_t InHand() const;              // under mu_

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<uint64_t, std::function<void()>> queued_;  // under mu_
  bool running_ = false;                                   // under mu_: a job taken and not yet done
  uint64_t running_key_ = 0;                               // under mu_: its key
  bool stop_ = false;                                      // under mu_
};

}  // namespace flow
