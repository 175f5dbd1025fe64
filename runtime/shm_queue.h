// A bounded multi-producer multi-consumer queue of records in memory shared
// between processes: created before the fork, used by the stage instances on
// both sides of an edge, recovered by the supervisor when one of them dies.
// The layout, invariants and memory orders are in runtime/shm_queue_layout.h
// and runtime/shm_lock.h.
//
// Contract, producer side. Push publishes a batch's records in runs, each
// run all or nothing, in order. A producer that dies inside Push may have
// published some of its runs: PublishedBy(p).records says how many of its
// records are in the queue, so its replacement resumes right after them.
// Everything past that (a run that was being copied, a large record whose
// last piece had not gone out) is the replacement's to send again, and the
// queue has dropped every piece of it: consumers never see half a record.
//
// Contract, consumer side. A lease stays the consumer's until Ack. If the
// consumer dies, RecoverConsumer puts its leases back in the queue, ahead
// of newer batches and in their original order, minus the records it had
// declared finished with Progress. A record larger than the queue can hold
// travels in pieces through the consumer's lane; once its last piece has
// arrived the queue no longer holds its bytes, so a consumer that dies
// between that moment and Progress or Ack loses it: RecoverConsumer reports
// it in `lost` (the supervisor fails the record). Before that moment nothing
// is lost: the producer, still inside Push, sends it again to the next taker.
// A consumer may hold several leases, but one that blocks in Pop while its
// own leases fill the queue waits forever: acknowledge first.
//
// Blocking waits use futexes on the shared words; a wait never ends by
// itself, only by a change, so the supervisor must call RecoverConsumer,
// RecoverProducer (both wake everybody) or WakeAll after a peer dies. Not
// async-signal-safe. Instance indexes are 0-based on each side.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/queue.h"

namespace flow {

namespace shm {
using Word = std::atomic<uint64_t>;
struct Header;
struct Descriptor;
struct ProducerSlot;
struct ConsumerSlot;
class Section;
}  // namespace shm

struct ShmQueueOptions {
  int producers = 1;
  int consumers = 1;
  int64_t capacity_records = 0;  // > 0
  int64_t capacity_bytes = 0;    // > 0; raised to kMinQueueBytes
};

// The bytes a run of records takes in the queue: 20 bytes of header per
// record (nr, seq, end offset) plus the data, padded to 8. A record whose
// single-record run is larger than capacity_bytes travels in pieces.
uint64_t QueueFootprint(uint64_t records, uint64_t data_bytes);
inline constexpr int64_t kMinQueueBytes = 64;
// The memory a queue with these options occupies (0 if they are invalid):
// its capacity_bytes rounded up to pages, a lane per consumer (a quarter of
// the capacity, between 4KiB and 64KiB: the pieces of large records pass
// there) and about 140KiB of descriptors and slots at most.
uint64_t ShmQueueMemoryBytes(const ShmQueueOptions& options);
inline constexpr int kMaxQueueInstances = 4096;

struct RequeuedBatch {
  uint64_t ticket;
  uint32_t first;    // first record handed out again (records before it were finished)
  uint32_t records;  // how many
};
struct LostRecord {
  uint64_t ticket;
  int producer;
  int64_t nr;
  int64_t seq;
  uint64_t bytes;
};
struct RecoveryReport {
  std::vector<RequeuedBatch> requeued;  // RecoverConsumer
  std::vector<LostRecord> lost;         // RecoverConsumer
  int dropped_runs = 0;                 // RecoverProducer: unpublished runs freed
  bool dropped_large = false;           // RecoverProducer: a half-sent large record dropped
};
// A snapshot for progress displays and tests; read without the lock.
struct ShmQueueStats {
  uint64_t records = 0;  // in the queue, taken-but-unacknowledged included
  uint64_t bytes = 0;
  int waiting_producers = 0;
  int waiting_consumers = 0;
};

class ShmQueue final : public Queue {
 public:
  // Maps a new queue. Null with `*error` set when the options are invalid or
  // the memory cannot be had.
  static std::unique_ptr<ShmQueue> Create(const ShmQueueOptions& options, std::string* error);
  ~ShmQueue() override;
  ShmQueue(const ShmQueue&) = delete;
  ShmQueue& operator=(const ShmQueue&) = delete;

  int producers() const override;
  int consumers() const override;
  QueueStatus Push(int producer, const RecordBatch& batch) override;
  void EndOfStream(int producer) override;
  QueueStatus Pop(int consumer, Lease* lease, PopMode mode) override;
  void Progress(int consumer, const Lease& lease, size_t finished) override;
  void Ack(int consumer, Lease* lease) override;
  void Cancel() override;
  void Close() override;

  // For the supervisor, once waitpid says the instance is dead (never for a
  // live one: its memory accesses would race with the repair). Idempotent;
  // a supervisor that dies while recovering can be followed by another call.
  RecoveryReport RecoverConsumer(int consumer);
  RecoveryReport RecoverProducer(int producer);
  // Wakes every blocked call of every process; each re-checks the state.
  void WakeAll();

  ProducerProgress PublishedBy(int producer) override;
  ShmQueueStats Stats() const;
  uint64_t capacity_records() const;
  uint64_t capacity_bytes() const;
  // Address space of the mapping (the arena counts twice, being mapped twice).
  size_t mapped_bytes() const { return mapped_bytes_; }

 private:
  ShmQueue(char* base, size_t mapped_bytes);

  shm::Descriptor& Desc(uint64_t ticket) const;
  shm::ProducerSlot& Producer(int producer) const;
  shm::ConsumerSlot& Consumer(int consumer) const;
  char* Lane(int consumer) const;
  char* ArenaAt(uint64_t offset) const;

  // What a consumer needs to receive a large record whose head it took.
  struct LargeHead {
    uint64_t ticket;
    uint64_t tag;
    uint64_t len;
    int64_t nr;
    int64_t seq;
    uint32_t attempt;
  };

  bool IsLarge(const RecordBatch& batch, uint64_t i) const;
  uint64_t RunEnd(const RecordBatch& batch, uint64_t i) const;
  QueueStatus Reserve(shm::Section& s, int producer, uint64_t records, uint64_t data_bytes,
                      uint64_t* ticket);
  QueueStatus PushRun(int producer, const RecordBatch& batch, uint64_t i, uint64_t j);
  QueueStatus PushLarge(int producer, const RecordBatch& batch, uint64_t i);
  QueueStatus SendChunks(int producer, const RecordView& record, uint64_t origin, uint64_t head);
  QueueStatus ReceiveChunks(int consumer, const LargeHead& head, Lease* lease, bool* aborted);
  bool FindPublished(uint64_t* ticket) const;
  // The place of `d` among the batches handed out (Lease::order): drawn
  // in `s` at its first hand-out, the same at every later one.
  uint64_t DrawOrder(shm::Section& s, shm::Descriptor& d);
  bool Drained(int consumer) const;
  bool Stopped(QueueStatus* status) const;
  void Reclaim(shm::Section& s, bool* wake_producers, bool* wake_consumers);
  void Requeue(shm::Section& s, uint64_t ticket, uint64_t first);
  void Wait(shm::Section& s, shm::Word& slot_waiting, bool on_consumers);
  void ClearWaiting(shm::Section& s, shm::Word& slot_waiting);
  // Bumps the futex words of the chosen sides, unlocks `s`, then wakes the
  // sides that have sleepers (all of both when `force`).
  void Signal(shm::Section& s, bool producers, bool consumers, bool force = false);

  char* base_;
  size_t mapped_bytes_;
  shm::Header* h_;
};

// Tests only: `hook(op, phase)` is called at the queue's named points in
// this process (see tests/runtime/shm_queue_test.cc for the list).
void SetShmQueueCrashHook(void (*hook)(const char* op, const char* phase));

}  // namespace flow
