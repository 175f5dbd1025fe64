// Where a worker takes its leases from: one input queue, one shared by
// `[ordered]` replicas (through their order gate), or several (merge).
// Internal to the worker loop (runtime/worker.cc).
//
// Several inputs: one taker thread per input queue blocks in Pop and hands
// what it took to the worker's thread, which takes from whichever input
// has something, in turn. Why threads and not a loop of non-blocking pops
// plus a wake-up word rung by the producers: a producer may block inside
// one Push after publishing part of its batch (the queue is full), or while
// a large record's head waits to be taken; no ring after Push could tell
// the merge then, and the two would wait for each other. The queue's own
// wake-ups reach a thread blocked in Pop at every publication. Each taker
// holds at most one lease the worker has not taken, so memory stays bounded.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/worker.h"

namespace flow {

class MergedInputs;

class WorkerInput {
 public:
  explicit WorkerInput(const WorkerSetup& setup);
  ~WorkerInput();  // cancels and joins the taker threads still running
  WorkerInput(const WorkerInput&) = delete;
  WorkerInput& operator=(const WorkerInput&) = delete;

  // The next lease, and (ordered) its position. kEnd once every input has
  // ended; kCancelled or kClosed as the queues say.
  QueueStatus Next(Lease* lease, uint64_t* position);
  // The edge id of the current lease's input (setup.input_edges), or its
  // index when the setup names no edges.
  size_t current_edge() const;
  // Records [0, finished) of the current lease have all their outputs pushed.
  void Progress(const Lease& lease, size_t finished);
  void Ack(Lease* lease);
  // Before the current lease's outputs go out (Queue::AskAhead).
  void AskAhead();
  // Just after the current lease was taken (Queue::AskAheadIn; <= 0: none).
  void AskAheadIn(int64_t us);
  // Queue::HoldsEarlier, of the current input.
  bool HoldsEarlier(uint64_t ticket);
  // Whether `lease`, the current one, may be redone (Queue::MayBeRedone).
  bool MayBeRedone(const Lease& lease) const;
  // Why an input queue closed itself (see Queue::Failure); empty if none did.
  std::string Failure() const;
  // No more input wanted: cancels every input queue (upstream stops).
  void CancelAll();
  // The current lease's `records` took `busy_ns`: tells its producers.
  void ReportCost(uint64_t records, uint64_t busy_ns);

 private:
  const WorkerSetup& setup_;
  std::shared_ptr<MergedInputs> merged_;  // several inputs only
  size_t current_ = 0;                    // the input the current lease came from
};

}  // namespace flow
