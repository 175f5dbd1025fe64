#include "runtime/run_control.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "runtime/futex.h"

namespace flow {

namespace {

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

// The stop flag and the word of the run's making share the first cache
// line, read rarely.
constexpr size_t kRunMakingOffset = 32;
constexpr size_t kGatesOffset = 64;
size_t GateSize() { return RoundUp(sizeof(OrderGate), 64); }
size_t HintsOffset(size_t nodes) { return kGatesOffset + nodes * GateSize(); }

}  // namespace

void BatchHint::Report(uint64_t n, uint64_t busy_ns, uint32_t most) {
  uint64_t want = busy_ns == 0 ? most : kTargetLeaseNanos * n / busy_ns;
  const auto clamped = static_cast<uint32_t>(std::clamp<uint64_t>(want, 1, most));
  // Stored only when it changes: the line is read by every producer.
  if (records.load(std::memory_order_relaxed) != clamped) records.store(clamped, std::memory_order_relaxed);
}

QueueStatus OrderGate::Take(Queue& queue, int consumer, Lease* lease, uint64_t* position) {
  int rc = pthread_mutex_lock(&take_lock);
  // A sibling that died while taking (it blocks in Pop while holding the
  // lock) leaves nothing to mend here: a lease it was handed is the
  // queue's to give back, with its place.
  if (rc == EOWNERDEAD) rc = pthread_mutex_consistent(&take_lock);
  if (rc != 0) std::abort();
  const QueueStatus status = queue.Pop(consumer, lease, PopMode::kWait);
  if (status == QueueStatus::kOk) *position = lease->order();
  pthread_mutex_unlock(&take_lock);
  return status;
}

void OrderGate::WaitTurn(uint64_t position) {
  // Acquire on next_publish: the previous position's pushes happened before
  // (they are in the queue already, which has its own lock; this only keeps
  // the order of the calls). Past `position` already: a replica that died
  // after its Done left this lease to be redone, with nothing to publish.
  while (next_publish.load(std::memory_order_acquire) < position &&
         abandoned.load(std::memory_order_acquire) == 0) {
    waiters.fetch_add(1, std::memory_order_seq_cst);
    uint32_t seen = turns.load(std::memory_order_seq_cst);
    if (next_publish.load(std::memory_order_seq_cst) < position &&
        abandoned.load(std::memory_order_seq_cst) == 0) {
      FutexWait(&turns, seen);
    }
    waiters.fetch_sub(1, std::memory_order_seq_cst);
  }
}

void OrderGate::Done(uint64_t position) {
  // Never backwards: see WaitTurn.
  if (next_publish.load(std::memory_order_seq_cst) > position) return;
  next_publish.store(position + 1, std::memory_order_seq_cst);
  turns.fetch_add(1, std::memory_order_seq_cst);
  if (waiters.load(std::memory_order_seq_cst) != 0) FutexWakeAll(&turns);
}

void OrderGate::Abandon() {
  abandoned.store(1, std::memory_order_seq_cst);
  turns.fetch_add(1, std::memory_order_seq_cst);
  FutexWakeAll(&turns);
}

std::unique_ptr<RunControl> RunControl::Create(size_t nodes, size_t edges, std::string* error) {
  static_assert(sizeof(BatchHint) <= 64, "a hint takes one cache line");
  const size_t bytes = HintsOffset(nodes) + std::max<size_t>(edges, 1) * 64;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    *error = std::string("cannot map the run's shared state: ") + std::strerror(errno);
    return nullptr;
  }
  char* base = static_cast<char*>(p);
  new (base) std::atomic<bool>(false);
  new (base + kRunMakingOffset) std::atomic<uint32_t>(0);
  std::unique_ptr<RunControl> control(new RunControl(base, bytes, nodes));
  for (size_t i = 0; i < nodes; ++i) {
    auto* gate = new (base + kGatesOffset + i * GateSize()) OrderGate();
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc == 0) rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (rc == 0) rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (rc == 0) rc = pthread_mutex_init(&gate->take_lock, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0) {
      *error = std::string("cannot make an order gate's lock: ") + std::strerror(rc);
      return nullptr;
    }
  }
  for (size_t e = 0; e < edges; ++e) new (base + HintsOffset(nodes) + e * 64) BatchHint();
  return control;
}

RunControl::RunControl(char* base, size_t bytes, size_t nodes)
    : base_(base), bytes_(bytes), nodes_(nodes) {}

RunControl::~RunControl() { munmap(base_, bytes_); }

const std::atomic<bool>* RunControl::stop_flag() const {
  return reinterpret_cast<const std::atomic<bool>*>(base_);
}

void RunControl::RequestStop() {
  reinterpret_cast<std::atomic<bool>*>(base_)->store(true, std::memory_order_release);
}

// One word, the steps of a run's making on the broker: 0 nothing yet, 1
// the keeper connected, 2 the run made.
namespace {
constexpr uint32_t kKeeperConnected = 1;
constexpr uint32_t kRunMade = 2;

void AwaitAtLeast(std::atomic<uint32_t>* made, uint32_t step) {
  for (uint32_t seen = made->load(std::memory_order_acquire); seen < step;
       seen = made->load(std::memory_order_acquire))
    FutexWait(made, seen);
}
}  // namespace

void RunControl::AwaitKeeperConnected() {
  AwaitAtLeast(reinterpret_cast<std::atomic<uint32_t>*>(base_ + kRunMakingOffset), kKeeperConnected);
}

void RunControl::MarkKeeperConnected() {
  auto* step = reinterpret_cast<std::atomic<uint32_t>*>(base_ + kRunMakingOffset);
  uint32_t before = 0;  // never back from "made"
  if (step->compare_exchange_strong(before, kKeeperConnected, std::memory_order_release)) FutexWakeAll(step);
}

void RunControl::AwaitRunMade() {
  AwaitAtLeast(reinterpret_cast<std::atomic<uint32_t>*>(base_ + kRunMakingOffset), kRunMade);
}

void RunControl::MarkRunMade() {
  auto* made = reinterpret_cast<std::atomic<uint32_t>*>(base_ + kRunMakingOffset);
  made->store(kRunMade, std::memory_order_release);
  FutexWakeAll(made);
}

OrderGate& RunControl::gate(size_t node) {
  return *reinterpret_cast<OrderGate*>(base_ + kGatesOffset + node * GateSize());
}

BatchHint& RunControl::batch_hint(size_t edge) {
  return *reinterpret_cast<BatchHint*>(base_ + HintsOffset(nodes_) + edge * 64);
}

}  // namespace flow
