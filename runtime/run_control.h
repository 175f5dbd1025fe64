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

namespace flow {

// The turns of an `[ordered]` stage's replicas: each lease taken gets a
// position, and the outputs of position p go out only after those of every
// position before it. OrderGate keeps them in shared memory on one machine;
// BrokerOrderGate (runtime/broker_order_gate.h) on a broker, for replicas
// on several machines.
class OrderTurns {
 public:
  virtual ~OrderTurns() = default;
  // Pops the next lease of `queue` and its position.
  virtual QueueStatus Take(Queue& queue, int consumer, Lease* lease, uint64_t* position) = 0;
  // Blocks until `position` may publish (or the turns are abandoned).
  virtual void WaitTurn(uint64_t position) = 0;
  // `position` has published everything: the next one may go.
  virtual void Done(uint64_t position) = 0;
  // A replica stops before publishing: order no longer matters.
  virtual void Abandon() = 0;
  // True when one thread may Take the next lease while another waits for
  // the turn of the last one and passes it on (a worker that finishes a
  // lease in the background: runtime/lease_finisher.h).
  virtual bool TakesWhileWaiting() const { return false; }
  // After how long a replica that waits for a turn takes one more lease
  // (runtime/worker.cc): a position whose holder died and is not replaced
  // comes back to whoever asks after the ack wait, and its siblings may all
  // be waiting for it. 0: never (one machine restarts every dead replica).
  virtual int64_t StuckAfterMs() const { return 0; }
};

// Restores input order over the replicas of one `[ordered]` stage.
//
// Input order is the order in which leases leave the input queue, and a
// lease's position is its place in that order, which the queue itself
// numbers (Lease::order) in the same crash-safe section that hands the
// lease out, and keeps when it hands the lease out again after its holder
// died. So a replica killed at any instruction cannot lose a position or
// give its lease a new one: the lease's redo holds the dead holder's place.
// (A position drawn by the taker after Pop, as this gate once did, was lost
// when the taker died in between, and the lease came back behind a later
// one: its records went out of order.)
//
// A replica publishes the outputs of lease p only when every lease before
// p is published (`next_publish == p`), then lets p + 1 go. Each replica
// holds at most one lease, so memory stays bounded by the queues; a slow
// record stalls its siblings at their next publication, which is the price
// of order. A lease with no output still takes its turn.
//
// Takes are one at a time (`take_lock`), so that a large record, whose
// place is drawn only once all its pieces are in (the queue drops a head
// whose producer died half way), is not overtaken by a batch behind it.
//
// Why take order and not the queue's ticket: tickets are handed out when a
// producer reserves room, and with several producers a later ticket can be
// published (and taken) before an earlier one; replicas all waiting for a
// ticket nobody is free to take would deadlock. Positions drawn at take time
// are always held by a live replica, or by a lease back in the queue, which
// is taken before any newer one.
struct OrderGate final : OrderTurns {
  pthread_mutex_t take_lock;  // robust, process-shared
  std::atomic<uint64_t> next_publish{0};
  std::atomic<uint32_t> turns{0};  // futex word, bumped at each publication
  std::atomic<uint32_t> waiters{0};
  // Set when a replica stops before publishing (its outputs were all
  // cancelled): order no longer matters and nobody must wait for it.
  std::atomic<uint32_t> abandoned{0};

  QueueStatus Take(Queue& queue, int consumer, Lease* lease, uint64_t* position) override;
  // Blocks until `position` may publish (or the gate is abandoned, or a
  // replica that died after publishing it let it go already).
  void WaitTurn(uint64_t position) override;
  // `position` has published everything: the next one may go.
  void Done(uint64_t position) override;
  void Abandon() override;
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
  // On a broker, the origin forks the instances that stay there while its
  // keeper still makes the run: each connects (with a credentials file,
  // once the keeper has), then waits here until the supervisor says the
  // run's streams are made (or kills it: the keeper failed). Connecting is
  // what takes the time, and it is done before the workers' instances
  // start and take the CPU and the broker.
  //
  // Why after the keeper: nats-server 2.9 enables JetStream for a JWT
  // account (--nats-creds) at the account's first connection. Two first
  // connections at once enable it twice, and the second reads the
  // account's streams back from disk while the keeper makes the run's:
  // the broker then says a stream holds messages that no read finds (or
  // keeps a stream the run removed), and the run hangs. The keeper
  // connected, the account is the server's, and the instances'
  // connections find it so.
  void AwaitKeeperConnected();
  void MarkKeeperConnected();  // also from the keeper's process: the page is shared
  void AwaitRunMade();
  void MarkRunMade();
  OrderGate& gate(size_t node);
  BatchHint& batch_hint(size_t edge);

 private:
  RunControl(char* base, size_t bytes, size_t nodes);

  char* base_;  // the stop flag, the gates, the hints
  size_t bytes_;
  size_t nodes_;
};

}  // namespace flow
