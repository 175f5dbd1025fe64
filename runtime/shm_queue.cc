// The shared-memory queue: the paths of ordinary batches. Mapping is in
// shm_queue_map.cc, large records in shm_queue_large.cc, waiting and
// recovery in shm_queue_recover.cc.
#include "runtime/shm_queue.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "runtime/shm_lock.h"

namespace flow {

using shm::Section;
using shm::Word;

namespace {

uint64_t RoundUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }
// Shared fields are read under the lock, which orders every access to them:
// relaxed is enough (see shm_lock.h for how they are written).
uint64_t Get(const Word& w) { return w.load(std::memory_order_relaxed); }

}  // namespace

uint64_t QueueFootprint(uint64_t records, uint64_t data_bytes) {
  return RoundUp(records * (2 * sizeof(int64_t) + sizeof(uint32_t)) + data_bytes, 8);
}

int ShmQueue::producers() const { return static_cast<int>(h_->producers); }
int ShmQueue::consumers() const { return static_cast<int>(h_->consumers); }
uint64_t ShmQueue::capacity_records() const { return h_->capacity_records; }
uint64_t ShmQueue::capacity_bytes() const { return h_->capacity_bytes; }

shm::Descriptor& ShmQueue::Desc(uint64_t ticket) const {
  return reinterpret_cast<shm::Descriptor*>(base_ + h_->descriptors_off)[ticket % h_->descriptors];
}
shm::ProducerSlot& ShmQueue::Producer(int producer) const {
  assert(producer >= 0 && static_cast<uint64_t>(producer) < h_->producers && "no such producer");
  return reinterpret_cast<shm::ProducerSlot*>(base_ + h_->producers_off)[producer];
}
shm::ConsumerSlot& ShmQueue::Consumer(int consumer) const {
  assert(consumer >= 0 && static_cast<uint64_t>(consumer) < h_->consumers && "no such consumer");
  return reinterpret_cast<shm::ConsumerSlot*>(base_ + h_->consumers_off)[consumer];
}
char* ShmQueue::Lane(int consumer) const {
  return base_ + h_->lanes_off + static_cast<uint64_t>(consumer) * h_->lane_bytes;
}
char* ShmQueue::ArenaAt(uint64_t offset) const {
  return base_ + h_->arena_off + offset % h_->arena_bytes;
}

bool ShmQueue::IsLarge(const RecordBatch& batch, uint64_t i) const {
  return QueueFootprint(1, batch.end(i) - batch.begin(i)) > h_->capacity_bytes;
}

// The end of the run that starts at record i (which is not large).
uint64_t ShmQueue::RunEnd(const RecordBatch& batch, uint64_t i) const {
  // The usual case, in O(1): no record of the batch is large and the rest
  // of it, up to the record limit, fits the byte limit (the footprint grows
  // with every record, so the loop below would stop at the same place).
  if (QueueFootprint(1, batch.longest()) <= h_->capacity_bytes) {
    const uint64_t last = std::min<uint64_t>(batch.size(), i + h_->max_batch_records);
    if (QueueFootprint(last - i, batch.end(last - 1) - batch.begin(i)) <= h_->max_batch_bytes) return last;
  }
  uint64_t j = i + 1;
  while (j < batch.size() && j - i < h_->max_batch_records && !IsLarge(batch, j) &&
         QueueFootprint(j + 1 - i, batch.end(j) - batch.begin(i)) <= h_->max_batch_bytes) {
    ++j;
  }
  return j;
}

QueueStatus ShmQueue::Push(int producer, const RecordBatch& batch) {
  uint64_t i = 0;
  while (i < batch.size()) {
    QueueStatus status;
    if (IsLarge(batch, i)) {
      status = PushLarge(producer, batch, i);
      i += 1;
    } else {
      uint64_t j = RunEnd(batch, i);
      status = PushRun(producer, batch, i, j);
      i = j;
    }
    if (status != QueueStatus::kOk) return status;
  }
  return QueueStatus::kOk;
}

// Reserves a descriptor and arena bytes for `records` records of
// `data_bytes`, waiting for room; leaves it RESERVED, committed.
QueueStatus ShmQueue::Reserve(Section& s, int producer, uint64_t records, uint64_t data_bytes,
                              uint64_t* ticket) {
  const uint64_t len = QueueFootprint(records, data_bytes);
  shm::ProducerSlot& slot = Producer(producer);
  for (;;) {
    QueueStatus status;
    if (Stopped(&status)) return status;
    bool fits = Get(h_->records_used) + records <= h_->capacity_records &&
                Get(h_->arena_tail) - Get(h_->arena_head) + len <= h_->capacity_bytes &&
                Get(h_->desc_tail) - Get(h_->desc_head) < h_->descriptors;
    if (fits) break;
    Wait(s, slot.waiting, /*on_consumers=*/false);
  }
  const uint64_t t = Get(h_->desc_tail);
  shm::Descriptor& d = Desc(t);
  s.Set(d.ticket, t);
  s.Set(d.state, shm::kReserved);
  s.Set(d.kind, shm::kRecords);
  s.Set(d.producer, static_cast<uint64_t>(producer));
  s.Set(d.taker, shm::kNobody);
  s.Set(d.arena_off, Get(h_->arena_tail));
  s.Set(d.arena_len, len);
  s.Set(d.count, records);
  s.Set(d.first, 0);
  s.Set(d.attempts, 0);
  s.Set(d.order, 0);
  s.Set(h_->desc_tail, t + 1);
  s.Set(h_->arena_tail, Get(h_->arena_tail) + len);
  s.Set(h_->records_used, Get(h_->records_used) + records);
  s.Commit();
  *ticket = t;
  return QueueStatus::kOk;
}

// Copies records [i, j) of `batch` into the arena at `dst`, by columns.
static void CopyRun(char* dst, const RecordBatch& batch, uint64_t i, uint64_t j) {
  const uint64_t n = j - i;
  std::memcpy(dst, batch.nrs() + i, n * sizeof(int64_t));
  std::memcpy(dst + n * sizeof(int64_t), batch.seqs() + i, n * sizeof(int64_t));
  shm::CrashPoint("push.copy", "half");
  auto* ends = reinterpret_cast<uint32_t*>(dst + 2 * n * sizeof(int64_t));
  const uint64_t base = batch.begin(i);
  for (uint64_t k = 0; k < n; ++k) ends[k] = static_cast<uint32_t>(batch.end(i + k) - base);
  std::memcpy(dst + n * 20, batch.data() + base, batch.end(j - 1) - base);
}

QueueStatus ShmQueue::PushRun(int producer, const RecordBatch& batch, uint64_t i, uint64_t j) {
  uint64_t t = 0;
  {
    Section s(base_, h_, "push.reserve");
    QueueStatus status = Reserve(s, producer, j - i, batch.end(j - 1) - batch.begin(i), &t);
    if (status != QueueStatus::kOk) return status;
  }
  // The descriptor is RESERVED by this process alone: its fields are stable
  // and its arena bytes are ours to write without the lock.
  CopyRun(ArenaAt(Get(Desc(t).arena_off)), batch, i, j);
  Section s(base_, h_, "push.publish");
  shm::Descriptor& d = Desc(t);
  shm::ProducerSlot& slot = Producer(producer);
  s.Set(d.state, shm::kPublished);
  if (t < Get(h_->take_cursor)) s.Set(h_->take_cursor, t);
  s.Set(slot.published, Get(slot.published) + (j - i));
  s.Set(slot.last_nr, static_cast<uint64_t>(batch.nrs()[j - 1]));
  s.Set(slot.last_seq, static_cast<uint64_t>(batch.seqs()[j - 1]));
  s.Set(slot.origin, batch.origin());
  s.Commit();
  Signal(s, /*producers=*/false, /*consumers=*/true);
  shm::CrashPoint("push", "published");
  return QueueStatus::kOk;
}

void ShmQueue::EndOfStream(int producer) {
  Section s(base_, h_, "eos");
  shm::ProducerSlot& slot = Producer(producer);
  if (Get(slot.ended) != 0) return;
  s.Set(slot.ended, 1);
  s.Set(h_->eos_count, Get(h_->eos_count) + 1);
  s.Commit();
  Signal(s, /*producers=*/false, /*consumers=*/true);
}

bool ShmQueue::FindPublished(uint64_t* ticket) const {
  const uint64_t tail = Get(h_->desc_tail);
  for (uint64_t t = std::max(Get(h_->take_cursor), Get(h_->desc_head)); t < tail; ++t) {
    if (Get(Desc(t).state) == shm::kPublished) {
      *ticket = t;
      return true;
    }
  }
  return false;
}

// Every producer has ended and nothing is left that could still reach this
// consumer: no batch reserved, published, or taken by another consumer
// (which might die and have it come back).
bool ShmQueue::Drained(int consumer) const {
  if (Get(h_->eos_count) != h_->producers) return false;
  const uint64_t tail = Get(h_->desc_tail);
  for (uint64_t t = Get(h_->desc_head); t < tail; ++t) {
    const shm::Descriptor& d = Desc(t);
    uint64_t state = Get(d.state);
    if (state == shm::kFree) continue;
    if (state == shm::kTaken && Get(d.taker) == static_cast<uint64_t>(consumer)) continue;
    return false;
  }
  return true;
}

QueueStatus ShmQueue::Pop(int consumer, Lease* lease, PopMode mode) {
  *lease = Lease();
  shm::ConsumerSlot& slot = Consumer(consumer);
  for (;;) {
    Section s(base_, h_, "pop.take");
    uint64_t t = 0;
    for (;;) {
      QueueStatus status;
      if (Stopped(&status)) return status;
      if (FindPublished(&t)) break;
      if (Drained(consumer)) return QueueStatus::kEnd;
      if (mode == PopMode::kNoWait) return QueueStatus::kEmpty;
      Wait(s, slot.waiting, /*on_consumers=*/true);
    }
    shm::Descriptor& d = Desc(t);
    const uint32_t attempt = static_cast<uint32_t>(Get(d.attempts) + 1);
    s.Set(d.state, shm::kTaken);
    s.Set(d.taker, static_cast<uint64_t>(consumer));
    s.Set(d.done, 0);
    s.Set(d.attempts, attempt);
    if (t >= Get(h_->take_cursor)) s.Set(h_->take_cursor, t + 1);
    if (Get(d.kind) == shm::kRecords) {
      const uint64_t order = DrawOrder(s, d);
      s.Commit();
      // TAKEN by us: the descriptor and its arena bytes stay put until Ack.
      const auto count = static_cast<uint32_t>(Get(d.count));
      const char* p = ArenaAt(Get(d.arena_off));
      *lease = Lease::OfColumns(t, attempt, static_cast<uint32_t>(Get(d.first)), count,
                                reinterpret_cast<const int64_t*>(p),
                                reinterpret_cast<const int64_t*>(p) + count,
                                reinterpret_cast<const uint32_t*>(p + 16 * uint64_t{count}),
                                p + 20 * uint64_t{count});
      lease->set_order(order);
      s.Unlock();
      shm::CrashPoint("pop", "taken");
      return QueueStatus::kOk;
    }
    // A large record's head: this consumer now owns the record, and its
    // producer sends the pieces through this consumer's lane.
    const uint64_t tag = Get(h_->next_tag) + 1;
    LargeHead head{t, tag, Get(d.large_len), 0, 0, attempt};
    std::memcpy(&head.nr, ArenaAt(Get(d.arena_off)), sizeof head.nr);
    std::memcpy(&head.seq, ArenaAt(Get(d.arena_off)) + 8, sizeof head.seq);
    shm::ProducerSlot& from = Producer(static_cast<int>(Get(d.producer)));
    s.Set(h_->next_tag, tag);
    s.Set(from.large_owner, static_cast<uint64_t>(consumer) + 1);
    s.Set(from.large_tag, tag);
    s.Set(slot.lane_tag, tag);
    s.Set(slot.lane_full, 0);
    s.Commit();
    Signal(s, /*producers=*/true, /*consumers=*/false);
    bool aborted = false;
    QueueStatus status = ReceiveChunks(consumer, head, lease, &aborted);
    if (!aborted) return status;
    // Its producer died half way; the record is its replacement's to send.
  }
}

uint64_t ShmQueue::DrawOrder(Section& s, shm::Descriptor& d) {
  if (Get(d.order) == 0) {
    const uint64_t order = Get(h_->next_order);
    s.Set(h_->next_order, order + 1);
    s.Set(d.order, order + 1);
  }
  return Get(d.order) - 1;
}

void ShmQueue::Progress(int consumer, const Lease& lease, size_t finished) {
  shm::Descriptor& d = Desc(lease.ticket());
  assert(Get(d.ticket) == lease.ticket() && Get(d.taker) == static_cast<uint64_t>(consumer) &&
         "progress on a lease this consumer does not hold");
  (void)consumer;
  // Release: a recoverer that sees the count (after this process died) sees
  // everything this consumer did before, although it only needs the number.
  // For a large record's lease the count lands on its head.
  d.done.store(std::min<uint64_t>(finished, lease.size()), std::memory_order_release);
}

void ShmQueue::Ack(int consumer, Lease* lease) {
  shm::CrashPoint("ack", "begin");
  const uint64_t t = lease->ticket();
  Section s(base_, h_, "ack");
  shm::Descriptor& d = Desc(t);
  bool mine = Get(d.ticket) == t && Get(d.state) == shm::kTaken &&
              Get(d.taker) == static_cast<uint64_t>(consumer);
  assert(mine && "ack of a lease this consumer does not hold");
  if (mine) {
    s.Set(d.state, shm::kFree);
    bool wake_producers = false;
    bool wake_consumers = false;
    Reclaim(s, &wake_producers, &wake_consumers);
    s.Commit();
    Signal(s, wake_producers, wake_consumers);
  }
  *lease = Lease();
}

// Moves the FIFO head past the FREE descriptors at its front, giving their
// records and bytes back. Part of the caller's section (not committed here).
void ShmQueue::Reclaim(Section& s, bool* wake_producers, bool* wake_consumers) {
  const uint64_t tail = Get(h_->desc_tail);
  uint64_t head = Get(h_->desc_head);
  uint64_t arena_head = Get(h_->arena_head);
  uint64_t used = Get(h_->records_used);
  while (head < tail && Get(Desc(head).state) == shm::kFree) {
    const shm::Descriptor& d = Desc(head);
    arena_head = Get(d.arena_off) + Get(d.arena_len);
    used -= Get(d.count);
    ++head;
  }
  if (head != Get(h_->desc_head)) {
    s.Set(h_->desc_head, head);
    s.Set(h_->arena_head, arena_head);
    s.Set(h_->records_used, used);
    *wake_producers = true;
  }
  // A consumer waiting for the end must look again whenever a batch leaves.
  if (Get(h_->eos_count) == h_->producers) *wake_consumers = true;
}

bool ShmQueue::Stopped(QueueStatus* status) const {
  if (h_->closed.load(std::memory_order_relaxed) != 0) {
    *status = QueueStatus::kClosed;
    return true;
  }
  if (h_->cancelled.load(std::memory_order_relaxed) != 0) {
    *status = QueueStatus::kCancelled;
    return true;
  }
  return false;
}

}  // namespace flow
