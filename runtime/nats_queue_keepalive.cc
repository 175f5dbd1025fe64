// How a NatsQueue keeps the batches its consumers hold or have fetched
// from going to another replica: InProgress at half the ack wait, from
// Pop, Progress and a heartbeat thread.
// Built only with libnats (see runtime/nats_run.cc).
#ifdef FLOWRUN_NATS

#include "runtime/nats_queue.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <thread>
#include <utility>

#include "runtime/nats_queue_parts.h"
#include "runtime/quiet_thread.h"

namespace flow {

// Fetched batches wait in the buffer with their ack wait running: told
// InProgress at half of it, so that they are not handed to someone else.
void NatsQueue::KeepBuffered(Taker& t) {
  const int64_t now = NowMs();
  for (Taker::Fetched& f : t.buffer) KeepAlive(f.msg, &f.touched_ms, now);
}

// Tells the broker `msg` is being worked on once half its ack wait has
// gone by since `*touched_ms` (0: at once).
void NatsQueue::KeepAlive(natsMsg* msg, int64_t* touched_ms, int64_t now) const {
  if (*touched_ms != 0 && now - *touched_ms < ack_wait_ms_ / 2) return;
  Respond(msg, kInProgressWord);
  *touched_ms = now;
}

// Held batches: told InProgress at half their ack wait, like buffered ones.
void NatsQueue::KeepHeld(Taker& t) {
  const int64_t now = NowMs();
  for (auto& [key, h] : t.held) KeepAlive(h.msg, &h.touched_ms, now);
}

void NatsQueue::StartHeartbeat() {
  heartbeat_ = QuietThread([this] { Heartbeat(); });
}

void NatsQueue::StopHeartbeat() {
  if (!heartbeat_.joinable()) return;
  AskHeartbeatToStop();
  heartbeat_.join();
  if (early_look_.joinable()) early_look_.join();  // started by the heartbeat only
}

void NatsQueue::AskHeartbeatToStop() {
  {
    std::lock_guard lock(heartbeat_mu_);
    heartbeat_stop_ = true;
  }
  heartbeat_cv_.notify_all();
}

// A tick at a quarter of the ack wait: a batch is told InProgress at the
// latest three quarters into it (or by Pop's own loop, every poll_ms, while
// Pop holds the taker).
// It also sends the asks ahead when they are due (AskAheadIn), notes what
// they bring as it comes (NoteAnswersDue), and looks at the end early when
// the upstream's drain is heard (LookAtEndEarly).
void NatsQueue::Heartbeat() {
  using Clock = std::chrono::steady_clock;
  const auto tick = std::chrono::milliseconds(std::max<int64_t>(ack_wait_ms_ / 4, 50));
  auto next_tick = Clock::now() + tick;
  std::unique_lock lock(heartbeat_mu_);
  for (;;) {
    // Read under the lock that AskAheadIn and OnSignal take before they
    // notify: what they asked for is seen here, or wakes the wait.
    int64_t next_ask_us = 0;
    for (auto& t : takers_) {
      for (const int64_t when : {AskDueUs(*t), t->look_at_us}) {
        if (when != 0 && (next_ask_us == 0 || when < next_ask_us)) next_ask_us = when;
      }
    }
    auto until = next_tick;
    if (next_ask_us != 0) until = std::min(until, Clock::time_point(std::chrono::microseconds(next_ask_us)));
    if (!heartbeat_stop_ && !early_look_due_) heartbeat_cv_.wait_until(lock, until);
    if (heartbeat_stop_) break;
    const bool look = std::exchange(early_look_due_, false);
    lock.unlock();
    // On a thread of its own: its requests may take the broker's API wait,
    // and meanwhile this thread keeps the leases held alive.
    if (look && !early_look_.joinable()) early_look_ = QuietThread([this] { LookAtEndEarly(); });
    SendAsksDue();
    NoteAnswersDue();
    if (Clock::now() < next_tick) {
      lock.lock();
      continue;
    }
    next_tick = Clock::now() + tick;
    for (auto& t : takers_) {
      // A taker busy in Pop (its lock held) keeps its own batches alive:
      // skipped, never waited for.
      std::unique_lock taker(t->mu, std::try_to_lock);
      if (!taker.owns_lock()) continue;
      KeepHeld(*t);
      // A Pop waiting on the inbox (without the lock) reads it itself, and
      // its buffer is empty.
      if (t->waiting) continue;
      // What a request brought while the consumer was busy is ours too.
      if (t->inbox != nullptr) Collect(*t, 0);
      KeepBuffered(*t);
    }
    lock.lock();
  }
}

void NatsQueue::Progress(int consumer, const Lease& lease, size_t finished) {
  // The finished count has nowhere to go (a message cannot be changed); the
  // call restarts the ack wait, which is what a slow lease needs.
  (void)finished;
  Taker& t = *takers_[static_cast<size_t>(consumer)];
  std::lock_guard lock(t.mu);
  auto it = t.held.find({lease.ticket(), lease.attempt()});
  assert(it != t.held.end() && "progress on a lease this consumer does not hold");
  if (it != t.held.end()) {
    it->second.touched_ms = 0;  // told at once: records were finished
    KeepAlive(it->second.msg, &it->second.touched_ms, NowMs());
  }
  KeepBuffered(t);
}

}  // namespace flow

#endif  // FLOWRUN_NATS
