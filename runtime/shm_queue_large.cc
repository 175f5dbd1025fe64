// Records too large for the queue: a head in the FIFO keeps the record's
// place; the consumer that takes the head owns the record; the producer
// sends the bytes in chunks through that consumer's lane (see
// shm_queue_layout.h for why a lane and not the arena).
#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>

#include "runtime/shm_lock.h"
#include "runtime/shm_queue.h"

namespace flow {

using shm::Section;

// Shared fields are read under the lock, which orders every access to them:
// relaxed is enough (see shm_lock.h for how they are written).
static uint64_t Get(const shm::Word& w) { return w.load(std::memory_order_relaxed); }

QueueStatus ShmQueue::PushLarge(int producer, const RecordBatch& batch, uint64_t i) {
  const RecordView record = batch[i];
  uint64_t t = 0;
  {
    Section s(base_, h_, "push.reserve");
    QueueStatus status = Reserve(s, producer, 1, 0, &t);
    if (status != QueueStatus::kOk) return status;
  }
  // The head is a one-record run with no data: nr, seq, end = 0.
  char* p = ArenaAt(Get(Desc(t).arena_off));
  std::memcpy(p, &record.nr, sizeof record.nr);
  std::memcpy(p + 8, &record.seq, sizeof record.seq);
  std::memset(p + 16, 0, sizeof(uint32_t));
  {
    Section s(base_, h_, "push.publish");
    shm::Descriptor& d = Desc(t);
    shm::ProducerSlot& slot = Producer(producer);
    const uint64_t id = Get(slot.next_large_id) + 1;
    s.Set(d.kind, shm::kLargeHead);
    s.Set(d.large_id, id);
    s.Set(d.large_len, record.bytes.size());
    s.Set(d.large_complete, 0);
    s.Set(d.state, shm::kPublished);
    if (t < Get(h_->take_cursor)) s.Set(h_->take_cursor, t);
    s.Set(slot.next_large_id, id);
    s.Set(slot.large_id, id);
    s.Set(slot.large_head, t);
    s.Set(slot.large_owner, 0);
    s.Set(slot.large_tag, 0);
    s.Commit();
    Signal(s, /*producers=*/false, /*consumers=*/true);
  }
  return SendChunks(producer, record, batch.origin(), t);
}

QueueStatus ShmQueue::SendChunks(int producer, const RecordView& record, uint64_t origin, uint64_t head) {
  shm::ProducerSlot& slot = Producer(producer);
  const uint64_t len = record.bytes.size();
  uint64_t tag = 0;
  uint64_t sent = 0;
  Section s(base_, h_, "push.lane");
  for (;;) {
    QueueStatus status;
    if (Stopped(&status)) return status;
    const uint64_t owner = Get(slot.large_owner);
    if (owner == 0) {  // nobody has taken the head yet, or its taker died
      Wait(s, slot.waiting, /*on_consumers=*/false);
      continue;
    }
    if (Get(slot.large_tag) != tag) {
      // A new owner: whatever an earlier owner received died with it.
      tag = Get(slot.large_tag);
      sent = 0;
    }
    const int consumer = static_cast<int>(owner - 1);
    shm::ConsumerSlot& lane = Consumer(consumer);
    assert(Get(lane.lane_tag) == tag && "the owner's lane serves another record");
    if (Get(lane.lane_full) != 0) {
      Wait(s, slot.waiting, /*on_consumers=*/false);
      continue;
    }
    // Copied under the lock: the lane's bytes count only once lane_full is
    // committed, so dying mid-copy leaves nothing behind.
    const uint64_t n = std::min(len - sent, h_->lane_bytes);
    std::memcpy(Lane(consumer), record.bytes.data() + sent, n);
    const bool last = sent + n == len;
    s.Set(lane.lane_len, n);
    s.Set(lane.lane_last, last ? 1 : 0);
    s.Set(lane.lane_full, 1);
    if (last) {
      s.Set(Desc(head).large_complete, 1);
      s.Set(slot.large_id, 0);
      s.Set(slot.published, Get(slot.published) + 1);
      s.Set(slot.last_nr, static_cast<uint64_t>(record.nr));
      s.Set(slot.last_seq, static_cast<uint64_t>(record.seq));
      s.Set(slot.origin, origin);
    }
    s.Commit();
    sent += n;
    Signal(s, /*producers=*/false, /*consumers=*/true);
    if (last) return QueueStatus::kOk;
    shm::CrashPoint("push.lane", "sent");
    s.Lock();
  }
}

QueueStatus ShmQueue::ReceiveChunks(int consumer, const LargeHead& head, Lease* lease,
                                    bool* aborted) {
  shm::ConsumerSlot& slot = Consumer(consumer);
  std::string bytes(head.len, '\0');
  uint64_t got = 0;
  Section s(base_, h_, "pop.lane");
  for (;;) {
    QueueStatus status;
    if (Stopped(&status)) return status;
    if (Get(slot.lane_tag) != head.tag) {
      // RecoverProducer dropped the record: its producer died half way.
      *aborted = true;
      return QueueStatus::kOk;
    }
    if (Get(slot.lane_full) == 0) {
      Wait(s, slot.waiting, /*on_consumers=*/true);
      continue;
    }
    const uint64_t n = Get(slot.lane_len);
    const bool last = Get(slot.lane_last) != 0;
    if (got + n > head.len || (last && got + n != head.len)) std::abort();  // not our record
    std::memcpy(bytes.data() + got, Lane(consumer), n);
    got += n;
    s.Set(slot.lane_full, 0);
    // Its place is drawn when the whole record is in hand: a head whose
    // producer died half way is dropped, and a place drawn for it would be
    // waited for by an [ordered] stage forever.
    const uint64_t order = last ? DrawOrder(s, Desc(head.ticket)) : 0;
    s.Commit();
    Signal(s, /*producers=*/true, /*consumers=*/false);
    if (last) {
      *lease = Lease::OfRecord(head.ticket, head.attempt, std::move(bytes), head.nr, head.seq);
      lease->set_order(order);
      return QueueStatus::kOk;
    }
    shm::CrashPoint("pop.lane", "received");
    s.Lock();
  }
}

}  // namespace flow
