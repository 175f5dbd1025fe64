// The memory layout of a shared-memory queue. Internal to runtime/shm_queue*.
//
// One memfd (anonymous: nothing appears in /dev/shm, the memory goes away
// with the last process that maps it), mapped before the fork:
//
//   [Header][ProducerSlot x P][ConsumerSlot x C][Descriptor x D][lane x C] | [arena A] [arena A again]
//   ^ offset 0                                              page boundary ^
//
// The arena is mapped twice, back to back, so a batch that runs past its end
// continues in the second mapping: every batch is contiguous in memory and
// the arena is a plain circular byte FIFO with no wrap-around waste.
//
// Batches. A producer reserves a descriptor (the next ticket, desc_tail) and
// arena bytes [arena_tail, +len) under the lock, copies its records in with
// the lock released, then publishes under the lock. A consumer takes the
// oldest published descriptor under the lock, reads the records in place,
// and acknowledges; the descriptor is then FREE, and the FIFO head
// (desc_head, arena_head) moves past every FREE descriptor at the head. In
// the arena a batch of n records is: int64 nr[n], int64 seq[n], uint32 end[n],
// the data bytes, padded to 8.
//
// Records too large for the queue. A "large head" descriptor (one record of
// no data, kind kLargeHead) keeps the record's place in the FIFO; the
// consumer that takes it owns the record, and the producer sends the bytes
// in chunks through that consumer's own lane (lane_bytes of shared memory).
// The chunks never compete with other batches for queue space, so a
// consumer waiting for its record's next chunk can never deadlock against a
// queue filled by other producers.
//
// Crash safety. Every field in a Word below except Descriptor::done is
// written only while holding `lock`, a robust process-shared mutex, and only
// through Section::Set (shm_lock.h), which first logs the old value in the
// undo log. A process that dies holding the lock leaves EOWNERDEAD to the
// next locker, which rolls the log back: every critical section is all or
// nothing. Arena bytes of a RESERVED batch are written outside the lock by
// the reserving producer alone; a reservation whose producer died is freed
// by RecoverProducer. Lanes are written and read under the lock.
//
// Invariants (under the lock, after any rollback):
//   desc_head <= take_cursor' <= desc_tail, desc_tail - desc_head <= D,
//     where take_cursor' = max(take_cursor, desc_head); no PUBLISHED
//     descriptor lies below take_cursor'.
//   Descriptors desc_head .. desc_tail-1 are live, in ticket order, and
//     their arena ranges tile [arena_head, arena_tail) in that order.
//   arena_tail - arena_head <= capacity_bytes <= arena_bytes.
//   records_used = sum of `count` over live descriptors <= capacity_records.
//   eos_count = number of producer slots with `ended` set.
//   producer_waiters / consumer_waiters = slots whose `waiting` is 1 / 2.
//   A producer has at most one RESERVED descriptor and at most one large
//     record in flight (large_id != 0 until its last chunk is in a lane).
//   A consumer slot's lane_tag is nonzero only while it owns a large head,
//     and then equals its producer's large_tag.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>

namespace flow::shm {

// Every field shared between processes. Lock-free 64-bit atomics are
// address-free, so they work in shared memory at any mapping address.
using Word = std::atomic<uint64_t>;
static_assert(Word::is_always_lock_free);

inline constexpr uint64_t kMagic = 0x666c6f7771756575ull;  // "flowqueu"
inline constexpr uint64_t kNobody = ~0ull;
inline constexpr int kMaxUndo = 32;

enum DescState : uint64_t { kReserved = 1, kPublished = 2, kTaken = 3, kFree = 4 };
enum DescKind : uint64_t { kRecords = 0, kLargeHead = 1 };
enum Waiting : uint64_t { kNotWaiting = 0, kOnProducers = 1, kOnConsumers = 2 };

struct alignas(64) Descriptor {
  Word ticket;     // which ticket this slot holds now (slots are reused modulo D)
  Word state;      // DescState
  Word kind;       // DescKind
  Word producer;   // who reserved it
  Word taker;      // consumer holding it when TAKEN, else kNobody
  Word arena_off;  // monotonic arena offset; the bytes sit at off % arena_bytes
  Word arena_len;  // footprint in the arena (multiple of 8)
  Word count;      // records in the batch
  Word first;      // records before this one were finished by a consumer that died
  // Written by the taking consumer WITHOUT the lock (Queue::Progress), with
  // release order; read by RecoverConsumer only after that consumer died, so
  // no other writer can race with it. Reset under the lock at each take.
  Word done;
  Word attempts;  // times taken
  // Its place among the batches handed out, + 1 (0: not handed out yet),
  // drawn from Header::next_order in the section that hands it out and kept
  // when it is handed out again: an [ordered] stage's positions (see
  // OrderGate), so that a taker dying at any instruction cannot lose one.
  Word order;
  // kLargeHead only:
  Word large_id;        // the producer's number for this record
  Word large_len;       // the record's length
  Word large_complete;  // 1 once its last chunk went into the owner's lane
};

struct alignas(64) ProducerSlot {
  Word ended;          // its end-of-stream marker arrived
  Word published;      // records published so far: where a replacement resumes
  Word last_nr;        // nr and seq of the last record published
  Word last_seq;
  Word origin;         // RecordBatch::origin of the last record published
  Word waiting;        // Waiting
  Word large_id;       // nonzero while a large record is being sent
  Word next_large_id;  // ids start at 1
  Word large_head;     // ticket of that record's head
  Word large_owner;    // consumer index + 1 that took the head, 0 while untaken
  Word large_tag;      // the owner's lane tag (a new tag at every take)
};

struct alignas(64) ConsumerSlot {
  Word waiting;    // Waiting
  Word lane_tag;   // which ownership the lane serves; 0: none
  Word lane_full;  // 1: the producer put a chunk in, the consumer has not taken it
  Word lane_len;   // bytes of that chunk
  Word lane_last;  // 1: it is the record's last chunk
};

struct UndoEntry {
  Word offset;  // the field's byte offset from the start of the segment
  Word old;     // its value before the section changed it
};

struct UndoLog {
  Word count;  // entries in force; 0 = no section in progress
  UndoEntry entries[kMaxUndo];
};

struct Header {
  // Geometry: written once by Create before any fork, read-only after.
  uint64_t magic;
  uint64_t producers, consumers, descriptors;
  uint64_t capacity_records, capacity_bytes;
  uint64_t max_batch_records, max_batch_bytes;
  uint64_t arena_bytes, lane_bytes;
  uint64_t producers_off, consumers_off, descriptors_off, lanes_off, arena_off;

  alignas(64) pthread_mutex_t lock;  // PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST
  alignas(64) UndoLog undo;

  // The FIFO and its accounting (see the invariants above).
  alignas(64) Word arena_head;
  Word arena_tail;
  Word desc_head;
  Word desc_tail;
  Word take_cursor;
  Word records_used;
  Word eos_count;
  Word producer_waiters;
  Word consumer_waiters;
  Word next_tag;  // lane tags handed out so far
  Word next_order;  // batches handed out for the first time so far

  // Futex words, each on its own cache line so that bumping one does not
  // slow the other side down. Bumped (fetch_add) only while holding the
  // lock, after the change that waiters wait for; a waiter reads the word
  // under the lock before sleeping, so a change after its check always
  // shows up as a different word and FUTEX_WAIT returns at once. A process
  // that dies between the bump and its FUTEX_WAKE leaves sleepers behind:
  // RecoverConsumer/RecoverProducer/WakeAll wake everybody.
  alignas(64) std::atomic<uint32_t> to_producers;  // space, a head taken, a lane emptied
  alignas(64) std::atomic<uint32_t> to_consumers;  // a batch, a chunk, end of stream
  // Set once, under the lock (so the rule above covers them), never cleared.
  // Read without the lock only by Stats.
  alignas(64) std::atomic<uint32_t> cancelled;
  std::atomic<uint32_t> closed;
};

}  // namespace flow::shm
