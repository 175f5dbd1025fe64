// The Emitter a worker hands its stage: gathers emitted records into one
// batch and pushes it to every output queue still open (a tee's two queues
// get the same batch). Internal to the worker loop (runtime/worker.cc).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/worker.h"

namespace flow {

class WorkerOutput final : public Emitter {
 public:
  explicit WorkerOutput(const WorkerSetup& setup);

  bool Emit(std::string_view bytes, int64_t nr) override;

  // Pushes the gathered records (after waiting for the lease's turn when
  // ordered). Returns false when no output wants more.
  void Flush();
  // Ends the stream on every output, cancelled ones included (harmless).
  void EndOfStream();

  // [ordered]: the records emitted from now on belong to the lease drawn at
  // `position`; EndLease waits for its turn if no push has yet, then lets
  // the next position go. Call EndLease after the lease's Flush and Ack.
  void BeginLease(uint64_t position);
  void EndLease();
  // This replica stops before its turn (its outputs are gone): siblings
  // must not wait for it.
  void AbandonOrder();

  // False once every output is cancelled or closed, or a source was asked
  // to stop. A sink always wants more (it has no outputs to lose). Asked
  // for every record, so it reads two words and nothing else.
  bool wants_more() const {
    return wanting_ && (stop_ == nullptr || !stop_->load(std::memory_order_relaxed));
  }
  bool closed() const { return closed_; }
  // A record the queues cannot carry; "" when none.
  const std::string& error() const { return error_; }
  // How many pushes so far (to tell that a lease's first records are done).
  uint64_t flushes() const { return flushes_; }
  // Time spent waiting in Flush (the order gate and the queues).
  uint64_t push_ns() const { return push_ns_; }

 private:
  // The batch size the outputs' consumers ask for (the smallest).
  size_t HintedLimit() const;

  const WorkerSetup& setup_;
  const std::atomic<bool>* stop_;  // a source's stop flag, else null
  bool wanting_ = true;            // not closed, and some output open (or none at all)
  RecordBatch batch_;
  size_t limit_ = kBatchRecords;  // records per batch, from the hints
  std::vector<bool> open_;
  size_t open_count_ = 0;
  bool closed_ = false;
  std::string error_;
  int64_t next_seq_ = 0;
  uint64_t flushes_ = 0;
  uint64_t push_ns_ = 0;
  bool in_lease_ = false;
  bool turn_held_ = false;
  uint64_t position_ = 0;
};

}  // namespace flow
