// The few words of a run that every worker shares beyond its queues, in one
// anonymous shared mapping made by the supervisor before the fork:
//
//   - the stop flag: SIGINT/SIGTERM reached the supervisor, sources stop;
//   - an order gate per `[ordered]` replicated node: restores input order;
//   - a batch hint per edge: how many records the edge's producers should
//     put in one batch so that a consumer's lease takes about a millisecond
//     (see BatchHint).
//
// Nothing here is a pointer: the mapping is at the same address in every
// worker (inherited through fork), and the words are lock-free atomics or a
// robust process-shared mutex, all address-free.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/queue.h"
#include "runtime/recovery_book.h"

namespace flow {

// The turns of an `[ordered]` stage's replicas: each lease taken gets a
// position, and the outputs of position p go out only after those of every
// position before it. OrderGate keeps them in shared memory on one machine;
// BrokerOrderGate (runtime/broker_order_gate.h) on a broker, for replicas
// on several machines.
class OrderTurns {
 public:
  virtual ~OrderTurns() = default;
  // Pops the next lease of `queue` (edge `edge`) and its position.
  virtual QueueStatus Take(Queue& queue, int consumer, Lease* lease, uint64_t* position, InstanceJournal* journal,
                           size_t edge, const RecoveryBook* book) = 0;
  // Blocks until `position` may publish (or the turns are abandoned).
  virtual void WaitTurn(uint64_t position) = 0;
  // `position` has published everything: the next one may go.
  virtual void Done(uint64_t position) = 0;
  // A replica stops before publishing: order no longer matters.
  virtual void Abandon() = 0;
};

// Restores input order over the replicas of one `[ordered]` stage.
//
// Input order is the order in which leases leave the input queue, so taking
// a lease and drawing its position happen together under `take_lock`. A
// replica publishes the outputs of lease p only when every lease before p
// is published (`next_publish == p`), then lets p + 1 go. Each replica
// holds at most one lease, so memory stays bounded by the queues; a slow
// record stalls its siblings at their next publication, which is the price
// of order. A lease with no output still takes its turn.
//
// Why take order and not the queue's ticket: tickets are handed out when a
// producer reserves room, and with several producers a later ticket can be
// published (and taken) before an earlier one; replicas all waiting for a
// ticket nobody is free to take would deadlock. Positions drawn at take time
// are always held by a live replica.
struct OrderGate final : OrderTurns {
  pthread_mutex_t take_lock;          // robust, process-shared
  uint64_t next_take = 0;             // under take_lock
  std::atomic<uint64_t> next_publish{0};
  std::atomic<uint32_t> turns{0};     // futex word, bumped at each publication
  std::atomic<uint32_t> waiters{0};
  // Set when a replica stops before publishing (its outputs were all
  // cancelled): order no longer matters and nobody must wait for it.
  std::atomic<uint32_t> abandoned{0};
  // Recovery. A replica that dies holding a position must hand it to the
  // replica that redoes its lease, or every later position waits forever.
  // So the position is written to the taker's journal word (`held`) as it
  // is drawn, under take_lock, with a roll-forward record: a taker that
  // dies between drawing and writing leaves `pending_target` set, and the
  // next locker (or the supervisor, reading HeldBy) completes the draw.
  std::atomic<std::atomic<uint64_t>*> pending_target{nullptr};  // under take_lock
  uint64_t pending_position = 0;

  // Pops the next lease of `queue` (edge `edge`) and its position (when
  // kOk). Both go to `journal` (lease and position + 1) under the lock, so
  // that the supervisor always knows the position of a lease a dead
  // replica held. A lease handed out again after its holder died keeps the
  // position that holder drew (its redo entry in `book` says which).
  QueueStatus Take(Queue& queue, int consumer, Lease* lease, uint64_t* position, InstanceJournal* journal,
                   size_t edge, const RecoveryBook* book) override;
  // Blocks until `position` may publish (or the gate is abandoned, or a
  // replica that died after publishing it let it go already).
  void WaitTurn(uint64_t position) override;
  // `position` has published everything: the next one may go.
  void Done(uint64_t position) override;
  void Abandon() override;
  // Supervisor, after the replica whose journal word is `held` died: the
  // position + 1 it held (0: none).
  uint64_t HeldBy(const std::atomic<uint64_t>* held) const;

 private:
  void RollForward();
};

// How many records an edge's producers put in one batch, set by its
// consumers from what their leases cost. Why: a lease is the unit of work a
// replica takes, and a replica that took 1,024 records of a 50 ms stage
// would keep its siblings idle for 50 s; one that takes 1 record of a 100 ns
// stage would spend its time in the queue. So each consumer measures its
// time per record and asks for leases of about kTargetLeaseNanos. It starts
// at 1, so the first lease of a slow stage is one record; a fast stage asks
// for full batches after its first lease.
inline constexpr uint64_t kTargetLeaseNanos = 1000 * 1000;
struct BatchHint {
  std::atomic<uint32_t> records{1};

  // A consumer spent `busy_ns` on `records` records of one lease.
  void Report(uint64_t records, uint64_t busy_ns, uint32_t most);
  uint32_t Get() const { return records.load(std::memory_order_relaxed); }
};

class RunControl {
 public:
  // One order gate per stage node, one batch hint per edge.
  // Null with *error on failure.
  static std::unique_ptr<RunControl> Create(size_t nodes, size_t edges, std::string* error);
  ~RunControl();
  RunControl(const RunControl&) = delete;
  RunControl& operator=(const RunControl&) = delete;

  // What StageContext::stop_requested points to.
  const std::atomic<bool>* stop_flag() const;
  void RequestStop();
  OrderGate& gate(size_t node);
  BatchHint& batch_hint(size_t edge);

 private:
  RunControl(char* base, size_t bytes, size_t nodes);

  char* base_;  // the stop flag, the gates, the hints
  size_t bytes_;
  size_t nodes_;
};

}  // namespace flow
