#include "runtime/worker_input.h"

#include <cassert>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace flow {

// The taker threads of a worker with several inputs and what they hold.
// Shared (shared_ptr) between the worker's thread and the takers, so that a
// taker never outlives what it points into.
class MergedInputs : public std::enable_shared_from_this<MergedInputs> {
 public:
  explicit MergedInputs(const WorkerSetup& setup) : setup_(setup), slots_(setup.inputs.size()) {}

  void Start() {
    for (size_t i = 0; i < slots_.size(); ++i) {
      threads_.emplace_back([self = shared_from_this(), i] { self->Take(i); });
    }
  }

  // Cancels the inputs unless all ended (so a blocked Pop returns) and
  // joins every taker.
  void Stop() {
    bool all_ended;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      all_ended = ended_ == slots_.size();
    }
    taker_cv_.notify_all();
    if (!all_ended) {
      for (Queue* queue : setup_.inputs) queue->Cancel();
    }
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  QueueStatus Next(Lease* lease, size_t* input) {
    std::unique_lock lock(mu_);
    const size_t n = slots_.size();
    for (;;) {
      for (size_t k = 0; k < n; ++k) {
        const size_t i = (next_ + k) % n;
        Slot& slot = slots_[i];
        if (slot.state != Slot::kReady) continue;
        if (slot.status == QueueStatus::kOk) {
          *lease = std::move(slot.lease);
          slot.state = Slot::kHeld;
          *input = i;
          next_ = (i + 1) % n;  // round robin: no input starves another
          return QueueStatus::kOk;
        }
        slot.state = Slot::kGone;
        if (slot.status != QueueStatus::kEnd) return slot.status;
        ++ended_;
      }
      if (ended_ == n) return QueueStatus::kEnd;
      main_cv_.wait(lock);
    }
  }

  // The worker acknowledged input i's lease: its taker may take again.
  void Release(size_t i) {
    {
      std::lock_guard lock(mu_);
      slots_[i].state = Slot::kTaking;
    }
    taker_cv_.notify_all();
  }

 private:
  struct Slot {
    enum State { kTaking, kReady, kHeld, kGone } state = kTaking;
    QueueStatus status = QueueStatus::kOk;
    Lease lease;
  };

  void Take(size_t i) {
    Queue& queue = *setup_.inputs[i];
    for (;;) {
      Lease lease;
      QueueStatus status = queue.Pop(setup_.instance, &lease, PopMode::kWait);
      std::unique_lock lock(mu_);
      slots_[i].lease = std::move(lease);
      slots_[i].status = status;
      slots_[i].state = Slot::kReady;
      main_cv_.notify_one();
      if (status != QueueStatus::kOk) return;  // ended, cancelled or closed: nothing more here
      taker_cv_.wait(lock, [&] { return slots_[i].state == Slot::kTaking || stopping_; });
      if (stopping_) return;
    }
  }

  const WorkerSetup& setup_;
  std::mutex mu_;
  std::condition_variable main_cv_;   // a slot became ready
  std::condition_variable taker_cv_;  // a slot was released, or stop
  std::vector<Slot> slots_;
  std::vector<std::thread> threads_;  // touched by the worker's thread only
  size_t next_ = 0;
  size_t ended_ = 0;
  bool stopping_ = false;
};

WorkerInput::WorkerInput(const WorkerSetup& setup) : setup_(setup) {
  assert(!setup.inputs.empty() && "a source has no input");
  assert((setup.order_gate == nullptr || setup.inputs.size() == 1) && "an ordered stage has one input");
  if (setup.inputs.size() > 1) {
    merged_ = std::make_shared<MergedInputs>(setup);
    merged_->Start();
  }
}

WorkerInput::~WorkerInput() {
  if (merged_) merged_->Stop();
}

QueueStatus WorkerInput::Next(Lease* lease, uint64_t* position) {
  *position = 0;
  if (merged_) return merged_->Next(lease, &current_);
  current_ = 0;
  Queue& queue = *setup_.inputs[0];
  if (setup_.order_gate != nullptr) return setup_.order_gate->Take(queue, setup_.instance, lease, position);
  return queue.Pop(setup_.instance, lease, PopMode::kWait);
}

size_t WorkerInput::current_edge() const {
  return current_ < setup_.input_edges.size() ? setup_.input_edges[current_] : current_;
}

bool WorkerInput::MayBeRedone(const Lease& lease) const {
  return current_ < setup_.inputs.size() ? setup_.inputs[current_]->MayBeRedone(lease) : lease.attempt() > 1;
}

std::string WorkerInput::Failure() const {
  for (Queue* queue : setup_.inputs) {
    if (std::string why = queue->Failure(); !why.empty()) return why;
  }
  return "";
}

void WorkerInput::Progress(const Lease& lease, size_t finished) {
  setup_.inputs[current_]->Progress(setup_.instance, lease, finished);
}

void WorkerInput::Ack(Lease* lease) {
  setup_.inputs[current_]->Ack(setup_.instance, lease);
  if (merged_) merged_->Release(current_);
}

void WorkerInput::AskAhead() {
  if (!merged_) setup_.inputs[current_]->AskAhead(setup_.instance);
}

void WorkerInput::AskAheadIn(int64_t us) {
  if (!merged_) setup_.inputs[current_]->AskAheadIn(setup_.instance, us);
}

bool WorkerInput::HoldsEarlier(uint64_t ticket) {
  return !merged_ && setup_.inputs[current_]->HoldsEarlier(setup_.instance, ticket);
}

void WorkerInput::ReportCost(uint64_t records, uint64_t busy_ns) {
  if (current_ < setup_.input_hints.size() && setup_.input_hints[current_] != nullptr && records > 0) {
    setup_.input_hints[current_]->Report(records, busy_ns, kBatchRecords);
  }
}

void WorkerInput::CancelAll() {
  for (Queue* queue : setup_.inputs) queue->Cancel();
}

}  // namespace flow
