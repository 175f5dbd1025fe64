// Finishes a worker's lease on a thread of its own: waits for its turn
// ([ordered]), publishes its outputs and acknowledges it, while the
// worker's thread takes the next lease and works on it (issue 8).
//
// Why: on a broker each of those steps is a round trip (the publish is
// confirmed before the Ack, which keeps a redone lease exactly-once), and
// an [ordered] lease may wait for a sibling's turn. In line, a replica of a
// slow stage (one record a lease) spent them between every two records:
// 1.5 ms a record on the whois example, 10 records in a row per replica.
// In the background they overlap the next record's work. What a replica
// publishes keeps its order: one lease is finished at a time, and the
// next is handed over only once the one before is done.
//
// Only for a slow stage (WorkerSetup::finish_in_background), on an input
// whose queue takes an Ack while a Pop of the same consumer waits
// (Queue::AcksDuringPop) and, when ordered, with turns that let a lease be
// taken while another waits (OrderTurns::TakesWhileWaiting).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace flow {

class LeaseFinisher {
 public:
  LeaseFinisher() = default;
  // Waits for the lease in hand, then ends the thread.
  ~LeaseFinisher();
  LeaseFinisher(const LeaseFinisher&) = delete;
  LeaseFinisher& operator=(const LeaseFinisher&) = delete;

  // Runs `finish` on the thread (started at the first call). The one
  // before must be over (Wait).
  void Start(std::function<void()> finish);
  // Returns once the last `finish` handed over has returned.
  void Wait();

 private:
  void Loop();

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> job_;  // under mu_: handed over, not yet taken
  bool busy_ = false;          // under mu_: a job handed over and not yet done
  bool stop_ = false;          // under mu_
};

}  // namespace flow
