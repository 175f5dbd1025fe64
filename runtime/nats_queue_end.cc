// The end of a NatsQueue's stream, as a consumer sees it: producers' end
// signals, their books, and whether the edge is drained.
// Built only with libnats (see runtime/nats_run.cc).
#ifdef FLOWRUN_NATS

#include "runtime/nats_queue.h"

#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <string_view>

#include "runtime/nats_queue_parts.h"
#include "runtime/quiet_thread.h"
#include "runtime/trace.h"

namespace flow {

void NatsQueue::OnSignal(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* wakes = static_cast<Wakes*>(closure);
  const std::string_view on = natsMsg_GetSubject(msg);
  const bool stop = on.size() >= std::strlen(kStopSignal) &&
                    on.substr(on.size() - std::strlen(kStopSignal)) == kStopSignal;
  const std::string said(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  const bool upstream = !wakes->upstream_subject.empty() && on == wakes->upstream_subject;
  natsMsg_Destroy(msg);  // (on points into it)
  // Of the producers' input, only its drain matters here: its own
  // producers' ends are not ours.
  if (upstream && said != kDrainedWord) return;
  // Counted before the wake: a Pop woken looks at the flag (Stopped).
  if (stop) wakes->stops.fetch_add(1);
  // The first drained word woke whoever waits; the same word from the
  // siblings that found the drain too wakes nobody (a message through the
  // broker each, at the end of every replica, which would then have to
  // flush before it exits: NatsLink::AllPublishedRead).
  if (said == kDrainedWord && (upstream ? wakes->upstream_drained : wakes->drained).exchange(true)) return;
  if (upstream && wakes->upstream_drained_heard) wakes->upstream_drained_heard();
  if (!upstream && said == kDrainedWord) {  // a sibling found the edge drained: nothing can come
    CloseInboxes(wakes);
    return;
  }
  std::lock_guard lock(wakes->mu);
  const size_t word = std::strlen(kEndedWord);
  if (!upstream && said.size() > word + 1 && said.compare(0, word, kEndedWord) == 0 && said[word] == ' ') {
    const uint64_t p = std::strtoull(said.c_str() + word + 1, nullptr, 10);
    if (p < wakes->ended.size()) wakes->ended[p] = true;
  }
  // Counted after the producer is noted: a Pop that sees the count looks.
  wakes->signals.fetch_add(1);
  for (const std::string& subject : wakes->subjects) natsConnection_PublishString(wakes->connection, subject.c_str(), "");
}

void NatsQueue::GiveUpHeld() {
  give_up_held_.store(true);
  if (link_->connected()) bucket_.Put(failed_key_, "1");
}

bool NatsQueue::UpstreamDrained() {
  if (!wakes_->upstream_drained.load()) return false;
  std::lock_guard lock(end_mu_);
  if (upstream_verdict_ == 0) {
    const natsStatus s = bucket_.Get(failed_key_);
    if (s == NATS_OK) upstream_verdict_ = -1;
    else if (s == NATS_NOT_FOUND) upstream_verdict_ = 1;
    // Else (the broker away): asked again at the next look.
  }
  return upstream_verdict_ == 1;
}

bool NatsQueue::UpstreamVerdictDue() {
  if (!wakes_->upstream_drained.load()) return false;
  std::lock_guard lock(end_mu_);
  return upstream_verdict_ == 0;
}

bool NatsQueue::EarlyLookFoundEnd() {
  std::lock_guard lock(early_look_mu_);
  return wakes_->drained.load();
}

bool NatsQueue::EndsOnUpstreamDrain(uint64_t* pending) {
  // After the look that LookAtEndEarly may be making: it may have found
  // the end.
  std::lock_guard lock(early_look_mu_);
  if (wakes_->drained.load()) return true;
  return DrainedAndNoneFailed([this] { return UpstreamDrained(); }, pending);
}

bool NatsQueue::DrainedAndNoneFailed(const std::function<bool()>& none_failed, uint64_t* pending) {
  // The verdict on a thread of its own: both requests in one round trip.
  std::future<bool> verdict = QuietAsync(none_failed);
  const bool drained = Drained(true, pending);
  return verdict.get() && drained;
}

void NatsQueue::LookAtEndEarly() {
  std::lock_guard lock(early_look_mu_);
  if (wakes_->drained.load() || !UpstreamVerdictDue()) return;
  uint64_t pending = 1;
  // Found as a sibling's drained word would be: a Pop (woken by the
  // upstream's word) returns kEnd; the siblings elsewhere are told.
  if (DrainedAndNoneFailed([this] { return UpstreamDrained(); }, &pending)) SayDrained();
}

void NatsQueue::SayDrainedIfDrained() {
  std::lock_guard lock(early_look_mu_);
  if (wakes_->drained.load()) return;
  uint64_t pending = 1;
  if (DrainedAndNoneFailed([this] { return bucket_.Get(failed_key_) == NATS_NOT_FOUND; }, &pending)) SayDrained();
}

bool NatsQueue::ProducersKnownEnded() {
  std::lock_guard lock(ended_mu_);
  std::lock_guard wakes(wakes_->mu);
  for (size_t p = 0; p < ended_seen_.size(); ++p) {
    if (ended_seen_[p]) continue;
    if (!wakes_->ended[p]) return false;
    ended_seen_[p] = true;  // its end signal came
  }
  return true;
}

bool NatsQueue::AllProducersEnded() {
  std::lock_guard lock(ended_mu_);
  for (size_t p = 0; p < ended_seen_.size(); ++p) {
    if (ended_seen_[p]) continue;
    {
      std::lock_guard wakes(wakes_->mu);
      if (wakes_->ended[p]) {
        ended_seen_[p] = true;
        continue;
      }
    }
    if (!PublishedBy(static_cast<int>(p)).ended) return false;
    ended_seen_[p] = true;
  }
  return true;
}

bool NatsQueue::Drained(bool producers_ended, uint64_t* pending) {
  jsConsumerInfo* ci = nullptr;
  *pending = 1;
  if (js_GetConsumerInfo(&ci, link_->js(), stream_.c_str(), kNatsConsumerName, nullptr, nullptr) != NATS_OK) return false;
  *pending = ci->NumPending;
  const bool drained = producers_ended && ci->NumPending == 0 && ci->NumAckPending == 0;
  if (Tracing()) {
    TraceEvent("drain check " + stream_ + " pending " + std::to_string(ci->NumPending) + " ack " +
               std::to_string(ci->NumAckPending) + " waiting " + std::to_string(ci->NumWaiting));
  }
  jsConsumerInfo_Destroy(ci);
  return drained;
}

}  // namespace flow

#endif  // FLOWRUN_NATS
