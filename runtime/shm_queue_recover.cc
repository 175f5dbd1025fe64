// Waiting, waking, stopping, and putting right what a dead instance left:
// its leases, its reservations, its half-sent large record, its place among
// the sleepers.
#include <algorithm>
#include <cassert>
#include <cstring>

#include "runtime/futex.h"
#include "runtime/shm_lock.h"
#include "runtime/shm_queue.h"

namespace flow {

using shm::Section;
using shm::Word;

// Shared fields are read under the lock, which orders every access to them:
// relaxed is enough (see shm_lock.h for how they are written).
static uint64_t Get(const Word& w) { return w.load(std::memory_order_relaxed); }

// Registers as a sleeper, sleeps until the side's futex word moves, and
// unregisters; the caller then looks at the state again. The registration
// is in the slot so that RecoverConsumer/RecoverProducer can undo it when
// the process dies asleep, which keeps the sleeper counts exact.
void ShmQueue::Wait(Section& s, Word& slot_waiting, bool on_consumers) {
  Word& waiters = on_consumers ? h_->consumer_waiters : h_->producer_waiters;
  std::atomic<uint32_t>& word = on_consumers ? h_->to_consumers : h_->to_producers;
  const char* op = s.op();
  s.set_op(on_consumers ? "pop.wait" : "push.wait");
  s.Set(waiters, Get(waiters) + 1);
  s.Set(slot_waiting, on_consumers ? shm::kOnConsumers : shm::kOnProducers);
  s.Commit();
  // Read under the lock: any change after our look at the state comes with
  // a bump in a later section, so FUTEX_WAIT below sees a different word or
  // is woken (see shm_queue_layout.h). Relaxed: the lock orders it.
  const uint32_t seen = word.load(std::memory_order_relaxed);
  s.Unlock();
  shm::CrashPoint(s.op(), "sleeping");
  FutexWait(&word, seen);
  s.Lock();
  s.Set(waiters, Get(waiters) - 1);
  s.Set(slot_waiting, shm::kNotWaiting);
  s.Commit();
  s.set_op(op);
}

void ShmQueue::ClearWaiting(Section& s, Word& slot_waiting) {
  const uint64_t waiting = Get(slot_waiting);
  if (waiting == shm::kNotWaiting) return;
  Word& waiters = waiting == shm::kOnConsumers ? h_->consumer_waiters : h_->producer_waiters;
  s.Set(waiters, Get(waiters) - 1);
  s.Set(slot_waiting, shm::kNotWaiting);
  s.Commit();
}

void ShmQueue::Signal(Section& s, bool producers, bool consumers, bool force) {
  // Only sides with sleepers need a bump: a sleeper registers and reads the
  // word in one section, so with none registered now, any later one reads
  // the word after seeing this section's change. The bump is relaxed: it is
  // made under the lock the sleeper read the word under, and the kernel
  // compares the word with the sleeper's value atomically with queueing it.
  // Waking after unlocking spares the woken a trip straight into the lock.
  const bool wake_producers = producers && (force || Get(h_->producer_waiters) > 0);
  const bool wake_consumers = consumers && (force || Get(h_->consumer_waiters) > 0);
  if (wake_producers) h_->to_producers.fetch_add(1, std::memory_order_relaxed);
  if (wake_consumers) h_->to_consumers.fetch_add(1, std::memory_order_relaxed);
  s.Unlock();
  if (wake_producers) FutexWakeAll(&h_->to_producers);
  if (wake_consumers) FutexWakeAll(&h_->to_consumers);
}

void ShmQueue::Requeue(Section& s, uint64_t ticket, uint64_t first) {
  shm::Descriptor& d = Desc(ticket);
  s.Set(d.state, shm::kPublished);
  s.Set(d.taker, shm::kNobody);
  s.Set(d.first, first);
  s.Set(d.done, 0);
  // Back ahead of every newer batch: takers scan from the cursor up.
  if (ticket < Get(h_->take_cursor)) s.Set(h_->take_cursor, ticket);
}

RecoveryReport ShmQueue::RecoverConsumer(int consumer) {
  RecoveryReport report;
  shm::ConsumerSlot& slot = Consumer(consumer);
  Section s(base_, h_, "recover");
  ClearWaiting(s, slot.waiting);
  bool unused_p = false, unused_c = false;
  // A descriptor whose records are finished with (or were never seen):
  // free it and let the freed space go back to producers.
  auto free_descriptor = [&](shm::Descriptor& d) {
    s.Set(d.state, shm::kFree);
    Reclaim(s, &unused_p, &unused_c);
  };
  // One committed section per batch: if the recoverer dies half way, the
  // rest is done by the next call.
  const uint64_t tail = Get(h_->desc_tail);
  for (uint64_t t = Get(h_->desc_head); t < tail; ++t) {
    shm::Descriptor& d = Desc(t);
    if (Get(d.ticket) != t || Get(d.state) != shm::kTaken ||
        Get(d.taker) != static_cast<uint64_t>(consumer)) {
      continue;
    }
    const uint64_t count = Get(d.count);
    if (Get(d.kind) == shm::kRecords) {
      // `done` was stored by the dead consumer alone (acquire pairs with its
      // release in Progress).
      const uint64_t first = Get(d.first);
      const uint64_t done = std::min(d.done.load(std::memory_order_acquire), count - first);
      if (first + done == count) {  // everything finished: as good as acknowledged
        free_descriptor(d);
      } else {
        Requeue(s, t, first + done);
        report.requeued.push_back({t, static_cast<uint32_t>(first + done),
                                   static_cast<uint32_t>(count - first - done)});
      }
      s.Commit();
      continue;
    }
    shm::ProducerSlot& from = Producer(static_cast<int>(Get(d.producer)));
    if (d.done.load(std::memory_order_acquire) != 0) {  // finished: as good as acknowledged
      free_descriptor(d);
    } else if (Get(d.large_complete) != 0) {
      // Every piece had reached the dead consumer: the bytes are gone.
      LostRecord lost{t, static_cast<int>(Get(d.producer)), 0, 0, Get(d.large_len)};
      std::memcpy(&lost.nr, ArenaAt(Get(d.arena_off)), sizeof lost.nr);
      std::memcpy(&lost.seq, ArenaAt(Get(d.arena_off)) + 8, sizeof lost.seq);
      report.lost.push_back(lost);
      free_descriptor(d);
    } else {
      // Its producer is still sending: the next taker gets it from the start.
      Requeue(s, t, 0);
      if (Get(from.large_id) == Get(d.large_id)) s.Set(from.large_owner, 0);
      report.requeued.push_back({t, 0, 1});
    }
    s.Commit();
  }
  if (Get(slot.lane_tag) != 0 || Get(slot.lane_full) != 0) {
    s.Set(slot.lane_tag, 0);
    s.Set(slot.lane_full, 0);
    s.Commit();
  }
  Signal(s, true, true, /*force=*/true);
  return report;
}

RecoveryReport ShmQueue::RecoverProducer(int producer) {
  RecoveryReport report;
  shm::ProducerSlot& slot = Producer(producer);
  Section s(base_, h_, "recover");
  ClearWaiting(s, slot.waiting);
  bool unused_p = false, unused_c = false;
  // A descriptor whose records are finished with (or were never seen):
  // free it and let the freed space go back to producers.
  auto free_descriptor = [&](shm::Descriptor& d) {
    s.Set(d.state, shm::kFree);
    Reclaim(s, &unused_p, &unused_c);
  };
  // A run it had reserved and not published: never seen by anyone.
  const uint64_t tail = Get(h_->desc_tail);
  for (uint64_t t = Get(h_->desc_head); t < tail; ++t) {
    shm::Descriptor& d = Desc(t);
    if (Get(d.ticket) != t || Get(d.state) != shm::kReserved ||
        Get(d.producer) != static_cast<uint64_t>(producer)) {
      continue;
    }
    free_descriptor(d);
    s.Commit();
    ++report.dropped_runs;
  }
  // A large record not sent to the end: drop its head, wherever it is, and
  // tell its owner (who notices its lane's tag change) to forget the pieces.
  const uint64_t id = Get(slot.large_id);
  if (id != 0) {
    const uint64_t t = Get(slot.large_head);
    shm::Descriptor& d = Desc(t);
    if (Get(d.ticket) == t && Get(d.kind) == shm::kLargeHead && Get(d.large_id) == id) {
      const uint64_t state = Get(d.state);
      if (state == shm::kTaken) {
        shm::ConsumerSlot& owner = Consumer(static_cast<int>(Get(d.taker)));
        s.Set(owner.lane_tag, 0);
        s.Set(owner.lane_full, 0);
      }
      if (state == shm::kTaken || state == shm::kPublished) s.Set(d.state, shm::kFree);
    }
    s.Set(slot.large_id, 0);
    s.Set(slot.large_owner, 0);
    s.Set(slot.large_tag, 0);
    Reclaim(s, &unused_p, &unused_c);
    s.Commit();
    report.dropped_large = true;
  }
  Signal(s, true, true, /*force=*/true);
  return report;
}

void ShmQueue::WakeAll() {
  Section s(base_, h_, "wake");
  Signal(s, true, true, /*force=*/true);
}

void ShmQueue::Cancel() {
  Section s(base_, h_, "cancel");
  // Under the lock, like every change sleepers wait for; set once, never
  // cleared, so it needs no undo.
  h_->cancelled.store(1, std::memory_order_relaxed);
  Signal(s, true, true, /*force=*/true);
}

void ShmQueue::Close() {
  Section s(base_, h_, "close");
  h_->closed.store(1, std::memory_order_relaxed);
  Signal(s, true, true, /*force=*/true);
}

ProducerProgress ShmQueue::PublishedBy(int producer) {
  // Under the lock, so that a section a dead process left half done is
  // rolled back before we look.
  Section s(base_, h_, "published");
  const shm::ProducerSlot& slot = Producer(producer);
  return {Get(slot.published), static_cast<int64_t>(Get(slot.last_nr)),
          static_cast<int64_t>(Get(slot.last_seq)), Get(slot.origin), Get(slot.ended) != 0};
}

ShmQueueStats ShmQueue::Stats() const {
  // Two loads without the lock: the tail may be read before a head that
  // has since passed it.
  const uint64_t head = Get(h_->arena_head);
  const uint64_t tail = Get(h_->arena_tail);
  return {Get(h_->records_used), tail > head ? tail - head : 0,
          static_cast<int>(Get(h_->producer_waiters)),
          static_cast<int>(Get(h_->consumer_waiters))};
}

}  // namespace flow
