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
  bool EmitAt(std::string_view bytes, int64_t nr, uint64_t token) override;
  // Stage::OnRun's records are numbered from `index` (in the lease's batch).
  void BeginRun(uint64_t index) { run_index_ = index; }
  bool EmitOf(size_t i, std::string_view bytes, int64_t nr) override {
    BeginRecord(run_index_ + i);
    return Emit(bytes, nr);
  }

  size_t EmitEachOf(const uint32_t* which, const std::string_view* bytes, const int64_t* nrs,
                    size_t count) override;

  // Recovery (runtime/recovery_book.h). A consumer: the stage is now on
  // input record `index` of the lease; its outputs are numbered from 0.
  void BeginRecord(uint64_t index) {
    index_ = index;
    rank_ = 0;
  }
  // Outputs at positions below floors[k] were published to output k by a
  // worker that died: they are dropped, not sent again. Consumers set them
  // per lease (BeginLease), a restarted source once.
  void SetFloors(const uint64_t* floors, size_t count);

  // Pushes the gathered records (after waiting for the lease's turn when
  // ordered). Returns false when no output wants more.
  void Flush() override;
  // Ends the stream on every output, cancelled ones included (harmless).
  void EndOfStream();

  // The records emitted from now on are made from the lease `origin`
  // (RecoveryKey + 1). [ordered]: that lease was drawn at `position`;
  // EndLease waits for its turn if no push has yet, then lets the next
  // position go. Call EndLease after the lease's Flush, before its Ack.
  void BeginLease(uint64_t origin, uint64_t position);
  // [ordered]: waits for the lease's turn now rather than at its first
  // push or at EndLease (the time counts as waiting for the output).
  void WaitForTurn();
  // [ordered], for a worker that finishes its leases in the background on
  // a broker: a batch that fills before the lease's turn waits here, with
  // the lease, instead of the worker waiting for the turn in the middle of
  // the lease, where it could not take one more lease (runtime/worker.cc),
  // up to kMostHeldBytes a lease; the turn's Flush pushes them all.
  void HoldBatchesUntilTurn() { holds_for_turn_ = true; }
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
  // The input record being worked on at the last push: every record before
  // it has all its outputs pushed.
  uint64_t flushed_index() const { return flushed_index_; }
  // Time spent waiting in Flush (the order gate and the queues).
  uint64_t push_ns() const { return push_ns_; }

 private:
  // The batch size the outputs' consumers ask for (the smallest).
  size_t HintedLimit() const;
  bool Add(std::string_view bytes, int64_t nr, int64_t seq);
  bool TooLarge(size_t bytes);
  // Output k returned kClosed: no more pushes, and its reason (if it
  // closed itself) becomes this worker's error.
  void OutputClosed(size_t k);
  // [ordered]: waits until this lease may publish (once per lease).
  void TakeTurn();
  // Pushes `batch` to every output still open, counting it.
  void PushToOutputs(const RecordBatch& batch);
  // In recovery: a record some outputs must not get again.
  bool AddAfterRedo(std::string_view bytes, int64_t nr, int64_t seq);

  const WorkerSetup& setup_;
  const std::atomic<bool>* stop_;  // a source's stop flag, else null
  bool source_;                    // no inputs: a record's position is its nr
  bool wanting_ = true;            // not closed, and some output open (or none at all)
  RecordBatch batch_;
  size_t limit_ = kBatchRecords;  // records per batch, from the hints
  std::vector<bool> open_;
  size_t open_count_ = 0;
  bool closed_ = false;
  std::string error_;
  uint64_t flushes_ = 0;
  uint64_t push_ns_ = 0;
  uint64_t index_ = 0;  // consumer: the input record being worked on
  uint64_t rank_ = 0;   // and how many outputs it made so far
  uint64_t run_index_ = 0;
  uint64_t flushed_index_ = 0;
  bool redo_ = false;   // some floor is set
  std::vector<uint64_t> floors_;
  bool in_lease_ = false;
  bool turn_held_ = false;
  uint64_t position_ = 0;
  bool holds_for_turn_ = false;     // HoldBatchesUntilTurn
  std::vector<RecordBatch> held_;   // full batches of this lease, before its turn
  uint64_t held_bytes_ = 0;
  std::vector<RecordBatch> spare_batches_;  // pushed from held_, their memory kept for the next
};

}  // namespace flow
