#include "runtime/worker_output.h"

#include <algorithm>

#include "runtime/recovery_book.h"

namespace flow {
namespace {

// What one lease's outputs may hold for its turn (HoldBatchesUntilTurn):
// a flatmap that makes more waits for its turn in the middle of the lease.
constexpr uint64_t kMostHeldBytes = 64ull << 20;

}  // namespace

WorkerOutput::WorkerOutput(const WorkerSetup& setup)
    : setup_(setup),
      stop_(setup.inputs.empty() ? setup.stop_requested : nullptr),
      source_(setup.inputs.empty()),
      open_(setup.outputs.size(), true),
      open_count_(setup.outputs.size()) {
  limit_ = HintedLimit();
}

size_t WorkerOutput::HintedLimit() const {
  size_t limit = kBatchRecords;
  for (size_t k = 0; k < setup_.output_hints.size(); ++k) {
    if (setup_.output_hints[k] != nullptr && open_[k]) limit = std::min<size_t>(limit, setup_.output_hints[k]->Get());
  }
  return std::max<size_t>(limit, 1);
}

// The hot path of every record: kept in one piece, the rare cases apart.
[[gnu::always_inline]] inline bool WorkerOutput::Add(std::string_view bytes, int64_t nr, int64_t seq) {
  if (!batch_.Add(bytes, nr, seq)) [[unlikely]]
    return TooLarge(bytes.size());
  if (batch_.size() >= limit_ || batch_.data_bytes() >= kBatchBytes) Flush();
  return wants_more();
}

void WorkerOutput::OutputClosed(size_t k) {
  closed_ = true;
  if (error_.empty()) error_ = setup_.outputs[k]->Failure();
}

bool WorkerOutput::TooLarge(size_t bytes) {
  error_ = "a record of " + std::to_string(bytes) + " bytes is larger than the largest a queue carries (4 GiB - 1)";
  closed_ = true;
  wanting_ = false;
  return false;
}

bool WorkerOutput::Emit(std::string_view bytes, int64_t nr) {
  if (!wants_more()) return false;
  // A source's position is its record number unless it gives a token.
  const int64_t seq = source_ ? nr : OutputPosition(index_, rank_++);
  if (redo_) [[unlikely]]
    return AddAfterRedo(bytes, nr, seq);
  return Add(bytes, nr, seq);
}

bool WorkerOutput::EmitAt(std::string_view bytes, int64_t nr, uint64_t token) {
  if (!wants_more()) return false;
  const auto seq = static_cast<int64_t>(token);
  return redo_ ? AddAfterRedo(bytes, nr, seq) : Add(bytes, nr, seq);
}

// EmitOf in a loop, without a call per record: the loop the busiest
// stages (map, filter) spend most of their time in. A lease in recovery
// goes the per-record way (its floors are checked per record).
size_t WorkerOutput::EmitEachOf(const uint32_t* which, const std::string_view* bytes, const int64_t* nrs,
                                size_t count) {
  if (source_ || redo_ || count == 0) return Emitter::EmitEachOf(which, bytes, nrs, count);
  // As BeginRecord then Emit for each: index_ is the record's (Flush
  // reads it), and its one output has rank 0.
  rank_ = 1;
  index_ = run_index_ + which[0];
  if (!wants_more()) return 1;
  for (size_t k = 0; k < count; ++k) {
    index_ = run_index_ + which[k];
    if (!Add(bytes[k], nrs[k], OutputPosition(index_, 0))) return k + 1;
  }
  return count;
}

void WorkerOutput::SetFloors(const uint64_t* floors, size_t count) {
  floors_.assign(setup_.outputs.size(), 0);
  redo_ = false;
  for (size_t k = 0; k < count && k < floors_.size(); ++k) {
    floors_[k] = floors[k];
    if (floors[k] != 0) redo_ = true;
  }
}

bool WorkerOutput::AddAfterRedo(std::string_view bytes, int64_t nr, int64_t seq) {
  size_t sent_before = 0;
  for (size_t k = 0; k < floors_.size(); ++k) {
    if (static_cast<uint64_t>(seq) < floors_[k]) ++sent_before;
  }
  if (sent_before == 0) return Add(bytes, nr, seq);
  if (sent_before == floors_.size()) return wants_more();
  // Some outputs (a tee's) have it and some not: it goes alone, after
  // what is gathered, to those that do not. Only a lease in recovery
  // comes here, so the cost of a push per record does not matter.
  // The turn first: what Flush holds for it (HoldBatchesUntilTurn) goes
  // out before this record.
  TakeTurn();
  Flush();
  RecordBatch one;
  one.set_origin(batch_.origin());
  one.Add(bytes, nr, seq);
  for (size_t k = 0; k < setup_.outputs.size() && !closed_; ++k) {
    if (!open_[k] || static_cast<uint64_t>(seq) < floors_[k]) continue;
    if (setup_.outputs[k]->Push(setup_.instance, one) == QueueStatus::kClosed) OutputClosed(k);
  }
  return wants_more();
}


void WorkerOutput::PushToOutputs(const RecordBatch& batch) {
  for (size_t k = 0; k < setup_.outputs.size() && !closed_; ++k) {
    if (!open_[k]) continue;
    QueueStatus status = setup_.outputs[k]->Push(setup_.instance, batch);
    if (status == QueueStatus::kCancelled) {
      open_[k] = false;
      --open_count_;
    } else if (status == QueueStatus::kClosed) {
      OutputClosed(k);
    }
  }
  InstanceCounters& c = *setup_.counters;
  InstanceCounters::Add(c.records_out, batch.size());
  InstanceCounters::Add(c.bytes_out, batch.data_bytes());
}

void WorkerOutput::Flush() {
  if (batch_.empty() && held_.empty()) return;
  if (holds_for_turn_ && setup_.order_gate != nullptr && in_lease_ && !turn_held_ &&
      held_bytes_ + batch_.data_bytes() <= kMostHeldBytes) {
    if (batch_.empty()) return;
    held_bytes_ += batch_.data_bytes();
    const uint64_t origin = batch_.origin();
    held_.push_back(std::move(batch_));
    // A batch pushed before, its memory kept: a fresh one would be mapped
    // and faulted in at every lease.
    batch_ = RecordBatch();
    if (!spare_batches_.empty()) {
      batch_ = std::move(spare_batches_.back());
      spare_batches_.pop_back();
    }
    batch_.set_origin(origin);
    return;
  }
  const uint64_t start = MonotonicNanos();
  TakeTurn();
  // What filled before the turn goes first: the batches keep the cuts a
  // redo makes again (their message ids), and their order.
  for (RecordBatch& held : held_) {
    PushToOutputs(held);
    held.Clear();
    spare_batches_.push_back(std::move(held));
  }
  held_.clear();
  held_bytes_ = 0;
  if (!batch_.empty()) PushToOutputs(batch_);
  InstanceCounters& c = *setup_.counters;
  batch_.Clear();
  ++flushes_;
  flushed_index_ = index_;
  limit_ = HintedLimit();
  wanting_ = !closed_ && (setup_.outputs.empty() || open_count_ > 0);
  const uint64_t waited = MonotonicNanos() - start;
  push_ns_ += waited;
  InstanceCounters::Add(c.wait_output_ns, waited);
}

void WorkerOutput::TakeTurn() {
  if (setup_.order_gate != nullptr && in_lease_ && !turn_held_) {
    setup_.order_gate->WaitTurn(position_);
    turn_held_ = true;
  }
}

void WorkerOutput::EndOfStream() {
  for (Queue* queue : setup_.outputs) {
    queue->EndOfStream(setup_.instance);
    // A queue on a broker that could not write that this producer ended
    // (the broker lost for longer than its wait): the worker fails, and
    // the run with it, rather than leave its consumers waiting.
    if (error_.empty()) error_ = queue->Failure();
  }
}

void WorkerOutput::BeginLease(uint64_t origin, uint64_t position) {
  batch_.set_origin(origin);
  in_lease_ = true;
  turn_held_ = false;
  position_ = position;
}

void WorkerOutput::WaitForTurn() {
  if (setup_.order_gate == nullptr || !in_lease_ || turn_held_) return;
  const uint64_t start = MonotonicNanos();
  TakeTurn();
  const uint64_t waited = MonotonicNanos() - start;
  push_ns_ += waited;
  InstanceCounters::Add(setup_.counters->wait_output_ns, waited);
}

void WorkerOutput::EndLease() {
  if (!in_lease_) return;
  if (redo_) SetFloors(nullptr, 0);
  if (setup_.order_gate == nullptr) {
    in_lease_ = false;
    return;
  }
  WaitForTurn();
  // Held batches belong to this lease: out before its turn passes on
  // (its caller flushes first; this is in case one did not).
  if (!held_.empty()) Flush();
  in_lease_ = false;
  turn_held_ = false;
  setup_.order_gate->Done(position_);
}

void WorkerOutput::AbandonOrder() {
  if (setup_.order_gate != nullptr) setup_.order_gate->Abandon();
}

}  // namespace flow
