// The consumer side of a NatsQueue: its pull requests into a taker's
// inbox, Pop and the leases it makes, and their acknowledgements.
// Built only with libnats (see runtime/nats_run.cc).
#ifdef FLOWRUN_NATS

#include "runtime/nats_queue.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <string>
#include <string_view>

#include "runtime/nats_batch_format.h"
#include "runtime/nats_queue_parts.h"
#include "runtime/trace.h"

namespace flow {
namespace {

// Pulls are our own requests, not libnats's Fetch. A Fetch gives up on its
// pull request after its timeout, and nats-server 2.9.10 can still hand a
// message to that request: it then came back only an ack wait later (5 s;
// for an [ordered] stage, out of order: seen with 1-10 ms fetches). So a
// consumer here asks with a request that lives kPullExpiresMs on the
// server, into an inbox of its own that it never stops reading: whatever
// a request brings is taken, however late. And a wait can end early
// without abandoning anything: a producer's end signal is relayed into the
// same inbox, so a stage sees its input end at once, not a poll later.

// A Pop that must not wait still gives the broker this long to deliver
// batches it says are pending.
constexpr int64_t kNoWaitFetchMs = 50;
// How long a pull request waits on the server for batches. Long: a wait
// here is a request less, and it is never given up on (see above). And
// nats-server 2.9.10 hands a redelivery that meets an expired request out
// as a new message (its delivery count back at 1, which would defeat
// MaxDeliver, runtime/poison_watch.h): the fewer requests expire, the
// rarer that is. A request lost with a connection is known by the
// reconnection (Reconnects), not by its expiry.
constexpr int64_t kPullExpiresMs = 30'000;

// NoteAnswersDue's looks at an inbox after an ask ahead: the first a little
// more than a round trip after it (0.4-0.6 ms on a loaded machine), so
// that one look mostly finds the answer there; then twice as far apart
// each time, up to kLongestLookWaitUs, kMostLooks at most.
constexpr int64_t kFirstLookAfterAskUs = 1000;
constexpr int64_t kLongestLookWaitUs = 16'000;
constexpr int kMostLooks = 24;

}  // namespace

QueueStatus NatsQueue::Subscribe(Taker& t) {
  if (t.inbox != nullptr) return QueueStatus::kOk;
  natsInbox* inbox = nullptr;
  natsStatus s = natsInbox_Create(&inbox);
  t.drained_ms = NowMs();  // nothing comes before the subscription
  if (s == NATS_OK) {
    t.inbox_prefix = std::string(inbox) + ".";
    natsInbox_Destroy(inbox);
    s = natsConnection_SubscribeSync(&t.inbox, link_->connection(), (t.inbox_prefix + "*").c_str());
  }
  if (s != NATS_OK) {
    t.inbox = nullptr;
    return Fail(link_->Describe("cannot take from '" + stream_ + "'", s));
  }
  // A queue of a lagging consumer holds a few fetches' batches, tens of KiB
  // each: libnats's default limits (65,536 messages, 64 MiB) would drop
  // batches of a consumer that is slow to read them.
  natsSubscription_SetPendingLimits(t.inbox, -1, -1);
  {
    std::lock_guard lock(end_mu_);
    std::lock_guard wakes(wakes_->mu);
    wakes_->subjects.push_back(t.inbox_prefix + "w");
    wakes_->inboxes.push_back(t.inbox);
  }
  // No flush (a round trip at every consumer's start, before its first
  // pull): the subscriptions go out on the connection before the books'
  // read and the pull request, so the broker has them before it answers
  // the read or hands out a batch. The producers that ended before that:
  // their signals went by unheard, their books say so (one look each,
  // once, by Pop just after its first pull request: the two round trips
  // then overlap, where the read first put one more before a replica's
  // first lease). Without it, a consumer that never ran dry would see the
  // end of its input a poll_ms late.
  if (ListenToSignals(true)) books_unread_.store(true);
  return QueueStatus::kOk;
}

// Asks the edge's durable consumer for up to fetch_batch batches (every
// replica, on every machine, pulls from the same one), to wait on the
// server for kPullExpiresMs.
natsStatus NatsQueue::RequestPull(Taker& t) {
  const std::string subject = "$JS.API.CONSUMER.MSG.NEXT." + stream_ + "." + kNatsConsumerName;
  const int64_t expires_ms = std::max(kPullExpiresMs, options_.poll_ms);
  const std::string body = "{\"batch\":" + std::to_string(options_.fetch_batch) +
                           ",\"expires\":" + std::to_string(expires_ms * 1'000'000) + "}";
  if (leaving_.load()) {
    // As if asked, and never answered: what came is noted (Leave), and
    // nothing more will come that a kill would leave unnoted.
    t.request_until_ms = NowMs() + expires_ms;
    t.ask_at_us.store(0);
    return NATS_OK;
  }
  ++t.requests;
  const std::string reply = t.inbox_prefix + std::to_string(t.requests);
  const natsStatus s = natsConnection_PublishRequestString(link_->connection(), subject.c_str(), reply.c_str(),
                                                           body.c_str());
  if (s == NATS_OK) {
    t.request_until_ms = NowMs() + expires_ms;
    t.ask_at_us.store(0);  // asked: an ask ahead is not wanted any more
    t.request_left = options_.fetch_batch;
    t.request_reconnects = Reconnects();
  }
  return s;
}

// Moves what the inbox holds into the buffer, waiting up to `wait_ms` for
// the first message. Returns early on a relayed end signal. A status from
// the server (404 nothing there, 408 expired, 409 and others) closes the
// request it answers; a 503 says nobody serves the edge (`*refused`).
void NatsQueue::Collect(Taker& t, int64_t wait_ms, bool* refused, std::unique_lock<std::mutex>* held) {
  int64_t wait = wait_ms;
  const int64_t delivered_after = t.drained_ms;
  for (;;) {
    natsMsg* msg = nullptr;
    natsStatus s;
    const int64_t asked = NowMs();
    if (held != nullptr && wait > 0) {
      // The wait without the taker's lock: an Ack from another thread goes
      // meanwhile (the heartbeat leaves the inbox to us: Taker::waiting).
      t.waiting = true;
      held->unlock();
      s = natsSubscription_NextMsg(&msg, t.inbox, wait);
      held->lock();
      t.waiting = false;
    } else {
      s = natsSubscription_NextMsg(&msg, t.inbox, wait);
    }
    if (s != NATS_OK) {
      if (s == NATS_TIMEOUT) t.drained_ms = asked;  // (what came before would have been returned)
      return;
    }
    wait = 0;  // then only what is already there
    const char* reply = natsMsg_GetReply(msg);
    if (reply != nullptr && std::strncmp(reply, "$JS.ACK.", 8) == 0) {
      t.buffer.push_back({msg, NowMs(), delivered_after, options_.hand_back.Note(reply)});
      if (t.request_left > 0 && --t.request_left == 0) t.request_until_ms = 0;
      continue;
    }
    const char* subject = natsMsg_GetSubject(msg);
    const std::string_view tail = std::string_view(subject).substr(std::min(std::strlen(subject), t.inbox_prefix.size()));
    const char* status = nullptr;
    natsMsgHeader_Get(msg, "Status", &status);
    const bool answers_last = tail == std::to_string(t.requests);
    if (status != nullptr && std::strncmp(status, "100", 3) != 0 && answers_last) {
      t.request_until_ms = 0;
      if (std::strncmp(status, "503", 3) == 0 && refused != nullptr) *refused = true;
    }
    const bool woken = tail == "w";  // an end signal: the caller looks at the end now
    natsMsg_Destroy(msg);            // (tail points into it)
    if (woken) return;
  }
}

void NatsQueue::Leave() {
  leaving_.store(true);
  for (auto& t : takers_) {
    std::lock_guard lock(t->mu);
    if (t->inbox != nullptr && !t->waiting) Collect(*t, 0);
  }
}

QueueStatus NatsQueue::Pop(int consumer, Lease* lease, PopMode mode) {
  assert(consumer >= 0 && consumer < options_.consumers && "consumer index out of range");
  Taker& t = *takers_[static_cast<size_t>(consumer)];
  std::unique_lock lock(t.mu);
  QueueStatus status = Subscribe(t);
  if (status != QueueStatus::kOk) return status;
  std::call_once(heartbeat_started_, [this] { StartHeartbeat(); });
  int64_t trouble_since = 0;
  for (;;) {
    if (Stopped(&status)) return status;
    AckAgainAfterReconnect();
    KeepHeld(t);
    if (t.buffer.empty()) Collect(t, 0);
    KeepBuffered(t);
    if (!t.buffer.empty()) {
      const Taker::Fetched fetched = t.buffer.front();
      t.buffer.pop_front();
      t.tail_wait_ms = kTailPeekMs;
      t.end_checked_ms = 0;  // the first look after a lease is not put off
      // Not told InProgress as it is taken, unless half its ack wait may
      // have gone by since it was delivered (a message per lease saved, 240
      // of a whois run's 2,600).
      switch (Take(t, fetched.msg, fetched.delivered_after_ms, fetched.note, lease)) {
        case Taken::kLease: return QueueStatus::kOk;
        case Taken::kStale: continue;
        case Taken::kBroken: return QueueStatus::kClosed;
      }
    }
    // Nothing to ask a broker that is away; and no end of stream to see.
    if (!AwaitBroker()) return QueueStatus::kClosed;
    if (Stopped(&status)) return status;
    // A sibling found the edge drained for good, its word heard while this
    // Pop was away (later words from the others wake nobody: OnSignal).
    if (mode == PopMode::kWait && wakes_->drained.load()) return QueueStatus::kEnd;
    uint64_t pending = 1;
    if (mode == PopMode::kNoWait) {
      if (Drained(UpstreamDrained() || AllProducersEnded(), &pending)) return QueueStatus::kEnd;
      if (pending == 0) return QueueStatus::kEmpty;
    }
    int64_t now = NowMs();
    // A request sent before the link reconnected is gone with the old
    // connection; one past its expiry with no answer seen, too.
    if (t.request_until_ms != 0 &&
        (now > t.request_until_ms + options_.poll_ms || Reconnects() != t.request_reconnects))
      t.request_until_ms = 0;
    if (t.request_until_ms == 0) {
      const natsStatus s = RequestPull(t);
      if (s != NATS_OK) {
        // A send error: the connection broke as the request went out (it
        // goes to the socket at once, see NatsLink::Connect), and the link
        // may not say so yet. Waited for as a broker that is away.
        if (!BrokerAway(s) && s != NATS_IO_ERROR)
          return Fail(link_->Describe("cannot take from '" + stream_ + "'", s));
        if (Troubled(&trouble_since, true)) return QueueStatus::kClosed;
        nats_Sleep(25);
        continue;
      }
    }
    if (books_unread_.exchange(false)) AllProducersEnded();  // see Subscribe
    bool refused = false;
    const bool tail = mode == PopMode::kWait && (wakes_->upstream_drained.load() || ProducersKnownEnded());
    Collect(t, mode == PopMode::kNoWait ? kNoWaitFetchMs : (tail ? t.tail_wait_ms : options_.poll_ms), &refused,
            &lock);
    if (!t.buffer.empty() || !link_->connected()) continue;
    if (refused) {
      // No responders: the server is going away, or the edge's consumer is
      // gone; waited for as a broker that is away, bounded.
      if (Troubled(&trouble_since, true)) return QueueStatus::kClosed;
      nats_Sleep(25);
      continue;
    }
    Troubled(&trouble_since, false);
    if (mode == PopMode::kNoWait) return QueueStatus::kEmpty;
    // A sibling found the edge drained for good: nothing can come.
    if (wakes_->drained.load()) return QueueStatus::kEnd;
    // The end of stream costs API requests: looked at after an end signal,
    // once after each lease when every producer has ended, and every
    // poll_ms (a signal may be lost).
    now = NowMs();
    const uint64_t signals = wakes_->signals.load();
    const bool signalled = signals != t.signals_seen;
    const bool due = now - t.end_checked_ms >= (tail ? t.tail_wait_ms : options_.poll_ms);
    if (!signalled && !due) continue;
    t.signals_seen = signals;
    if (t.held.empty() && UpstreamVerdictDue()) {
      t.end_checked_ms = now;
      if (EndsOnUpstreamDrain(&pending)) {
        SayDrained();
        return QueueStatus::kEnd;
      }
      if (tail) t.tail_wait_ms = std::min(t.tail_wait_ms * 2, options_.poll_ms);
      continue;
    }
    // An end signal names its producer: after one, whether every producer
    // has ended is known without a request. Their books (a request for
    // each producer not known to have ended) are read when the look is
    // due by time, in case a signal was lost: not at every signal, where
    // 24 producers ending together cost a consumer 24 reads (and the last
    // signal waited behind them).
    const bool upstream_drained = UpstreamDrained();
    if (!due && !upstream_drained && !ProducersKnownEnded()) continue;
    t.end_checked_ms = now;
    if (!t.held.empty()) {
      // A lease of ours is being finished (runtime/lease_finisher.h): the
      // edge is not drained, nothing to ask. At the end of an [ordered]
      // run, every replica's last lease waits for its turn, and 24
      // replicas asking again and again slowed the turns' chain.
      t.look_after_ack = true;
      continue;
    }
    if (upstream_drained && EarlyLookFoundEnd()) return QueueStatus::kEnd;
    if ((upstream_drained || AllProducersEnded()) && Drained(true, &pending)) {
      SayDrained();
      return QueueStatus::kEnd;
    }
    // Not drained: leases are still out. The last of them may be just
    // done, its ack on its way to the broker: looked at again soon, then
    // less and less often (a slow record may take minutes).
    if (tail) t.tail_wait_ms = std::min(t.tail_wait_ms * 2, options_.poll_ms);
  }
}

// Said to the siblings on every machine, who then end without asking; not
// again once a sibling's word was heard (at a whois run's end, 6-8 of its
// 24 replicas found the drain at once, and the broker sent each word to
// every replica and to the stages after them, as they all exited).
void NatsQueue::SayDrained() {
  if (wakes_->drained.exchange(true)) return;
  for (NatsQueue* output : outputs_ending_here_) output->SayDrainedIfDrained();
  natsConnection_PublishString(link_->connection(), (prefix_ + kEndSignal).c_str(), kDrainedWord);
  CloseInboxes(wakes_.get());  // a Pop of this process that waits (LookAtEndEarly found the end) ends now
}

// Nothing can come to a drained edge's inboxes any more (nothing is pending
// or unacknowledged anywhere, and acknowledgements do not use them): a Pop
// waiting on one wakes as its subscription closes, here, where the wake
// relayed through the broker took 1.5-3 ms to come back, as the 24
// replicas of a whois run ended together.
void NatsQueue::CloseInboxes(Wakes* wakes) {
  std::lock_guard lock(wakes->mu);
  for (natsSubscription* inbox : wakes->inboxes) natsSubscription_Unsubscribe(inbox);
  wakes->inboxes.clear();
}

NatsQueue::Taken NatsQueue::Take(Taker& t, natsMsg* msg, int64_t touched_ms, int note, Lease* lease) {
  jsMsgMetaData* meta = nullptr;
  uint64_t ticket = 0;
  uint32_t attempt = 1;
  if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
    ticket = meta->Sequence.Stream;
    attempt = static_cast<uint32_t>(meta->NumDelivered);
    jsMsgMetaData_Destroy(meta);
  }
  if (Tracing())
    TraceEvent("take " + stream_ + " seq " + std::to_string(ticket) + " delivery " + std::to_string(attempt));
  const char* data = natsMsg_GetData(msg);
  const auto len = static_cast<size_t>(natsMsg_GetDataLength(msg));
  Held h;
  h.msg = msg;
  h.touched_ms = touched_ms;
  h.note = note;
  const std::pair<uint64_t, uint32_t> key(ticket, attempt);
  assert(t.held.count(key) == 0 && "one delivery, one lease");
  const char* records = nullptr;
  if (ticket != 0 && len >= kBatchHeader && data[0] == kBatchKind && data[1] == kVersion) {
    if (DecodeBatch(data, len, &h.nrs, &h.seqs, &h.ends, &records)) {
      const Held& kept = t.held.emplace(key, std::move(h)).first->second;
      *lease = Lease::OfColumns(ticket, attempt, 0, static_cast<uint32_t>(kept.nrs.size()), kept.nrs.data(),
                                kept.seqs.data(), kept.ends.data(), records);
      return Taken::kLease;
    }
  } else if (ticket != 0 && len > kLargeHeader && data[0] == kLargeKind && data[1] == kVersion) {
    const auto pieces = static_cast<uint32_t>(GetLE(data + 4, 4));
    const auto nr = static_cast<int64_t>(GetLE(data + 16, 8));
    const auto seq = static_cast<int64_t>(GetLE(data + 24, 8));
    const uint64_t length = GetLE(data + 32, 8);
    const std::string token(data + kLargeHeader, len - kLargeHeader);
    std::string bytes;
    bytes.reserve(std::min<uint64_t>(length, static_cast<uint64_t>(pieces) * static_cast<uint64_t>(limit_)));
    switch (ReadPieces(token, pieces, &bytes)) {
      case Taken::kLease:
        break;
      case Taken::kStale:
        Answer(msg, note, kAckWord);
        natsMsg_Destroy(msg);
        return Taken::kStale;
      case Taken::kBroken:
        Answer(msg, note, kNakWord);
        natsMsg_Destroy(msg);
        return Taken::kBroken;
    }
    if (bytes.size() == length) {
      h.pieces = pieces_prefix_ + token + ".>";
      t.held.emplace(key, std::move(h));
      *lease = Lease::OfRecord(ticket, attempt, std::move(bytes), nr, seq);
      return Taken::kLease;
    }
  }
  // Not ours, or damaged: taken out of the queue for good (Term), and the
  // run stops rather than skip records silently.
  Answer(msg, note, kTermWord);
  natsMsg_Destroy(msg);
  Fail("message " + std::to_string(ticket) + " of '" + stream_ + "' is not a batch of records");
  return Taken::kBroken;
}

NatsQueue::Taken NatsQueue::ReadPieces(const std::string& token, uint32_t pieces, std::string* bytes) {
  for (uint32_t k = 0; k < pieces; ++k) {
    const std::string subject = pieces_prefix_ + token + "." + std::to_string(k);
    natsMsg* piece = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = js_GetLastMsg(&piece, link_->js(), pieces_stream_.c_str(), subject.c_str(), nullptr, &code);
    if (s == NATS_NOT_FOUND) return Taken::kStale;
    if (s != NATS_OK) {
      Fail(link_->Describe("cannot read a large record from '" + stream_ + "'", s, code));
      return Taken::kBroken;
    }
    bytes->append(natsMsg_GetData(piece), static_cast<size_t>(natsMsg_GetDataLength(piece)));
    natsMsg_Destroy(piece);
  }
  return Taken::kLease;
}

// How many times the link has reconnected: a pull request sent before the
// last time is gone with the old connection.
uint64_t NatsQueue::Reconnects() const {
  natsStatistics* stats = nullptr;
  uint64_t reconnects = 0;
  if (natsStatistics_Create(&stats) == NATS_OK && natsConnection_GetStats(link_->connection(), stats) == NATS_OK)
    natsStatistics_GetCounts(stats, nullptr, nullptr, nullptr, nullptr, &reconnects);
  natsStatistics_Destroy(stats);
  return reconnects;
}

void NatsQueue::NoteAck(const char* reply) {
  if (reply == nullptr) return;
  std::lock_guard lock(acks_mu_);
  recent_acks_.emplace_back(reply);
  if (recent_acks_.size() > kAcksKept) recent_acks_.pop_front();
}

void NatsQueue::AckAgainAfterReconnect() {
  const uint64_t reconnects = Reconnects();
  std::lock_guard lock(acks_mu_);
  if (reconnects == acks_reconnects_) return;
  acks_reconnects_ = reconnects;
  for (const std::string& reply : recent_acks_) natsConnection_PublishString(link_->connection(), reply.c_str(), kAckWord);
}

// An acknowledgement the server has confirmed.
bool NatsQueue::AckSync(natsMsg* msg) const {
  const char* reply = natsMsg_GetReply(msg);
  if (reply == nullptr) return false;
  natsMsg* answer = nullptr;
  const natsStatus s = natsConnection_RequestString(&answer, link_->connection(), reply, kAckWord, link_->api_wait_ms());
  natsMsg_Destroy(answer);
  return s == NATS_OK;
}

void NatsQueue::AskAhead(int consumer) {
  Taker& t = *takers_[static_cast<size_t>(consumer)];
  std::lock_guard lock(t.mu);
  if (t.inbox == nullptr || !t.buffer.empty() || t.request_until_ms != 0 || !link_->connected() || closed_.load() ||
      cancelled_.load())
    return;
  RequestPull(t);  // a failure is Pop's to see: it asks again
}

bool NatsQueue::HoldsEarlier(int consumer, uint64_t ticket) {
  Taker& t = *takers_[static_cast<size_t>(consumer)];
  std::lock_guard lock(t.mu);
  if (t.inbox != nullptr && !t.waiting) Collect(t, 0);
  auto earliest = t.buffer.end();
  uint64_t earliest_ticket = ticket;
  for (auto it = t.buffer.begin(); it != t.buffer.end(); ++it) {
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, it->msg) != NATS_OK) continue;
    if (meta->Sequence.Stream < earliest_ticket) {
      earliest_ticket = meta->Sequence.Stream;
      earliest = it;
    }
    jsMsgMetaData_Destroy(meta);
  }
  if (earliest == t.buffer.end()) return false;
  if (earliest != t.buffer.begin()) {
    const Taker::Fetched first = *earliest;
    t.buffer.erase(earliest);
    t.buffer.push_front(first);
  }
  return true;
}

void NatsQueue::AskAheadIn(int consumer, int64_t us) {
  // The pace is not steady (any more): an ask left from the last lease
  // must not come early in this one.
  if (us <= 0) {
    takers_[static_cast<size_t>(consumer)]->ask_at_us.store(0);
    return;
  }
  takers_[static_cast<size_t>(consumer)]->ask_at_us.store(NowUs() + us);
  {
    std::lock_guard lock(heartbeat_mu_);  // seen by the heartbeat before it waits, or it is woken
  }
  heartbeat_cv_.notify_all();
}

int64_t NatsQueue::AskDueUs(const Taker& t) {
  const int64_t at = t.ask_at_us.load();
  return at == 0 ? 0 : std::max(at, t.ask_retry_us);
}

void NatsQueue::SendAsksDue() {
  for (auto& t : takers_) {
    const int64_t at = t->ask_at_us.load();
    const int64_t now = NowUs();
    if (at == 0 || std::max(at, t->ask_retry_us) > now) continue;
    // Nothing to ask of a broker that is away (Pop asks once it is back),
    // nor of an edge that ended.
    if (!link_->connected() || wakes_->drained.load() || closed_.load() || cancelled_.load()) {
      t->ask_at_us.store(0);
      continue;
    }
    // Held by Pop doing something (it waits without the lock) or by an
    // Ack: for a moment only. Tried again shortly.
    std::unique_lock lock(t->mu, std::try_to_lock);
    if (!lock.owns_lock()) {
      t->ask_retry_us = now + 1000;
      continue;
    }
    t->ask_retry_us = 0;
    // Still the ask read above: not one that Pop's own request cleared
    // meanwhile, nor a newer one for the next lease.
    int64_t due = at;
    if (!t->ask_at_us.compare_exchange_strong(due, 0)) continue;
    if (t->inbox != nullptr && t->buffer.empty() && t->request_until_ms == 0) {
      // A failure is Pop's to see: it asks again.
      if (RequestPull(*t) == NATS_OK) {
        t->look_at_us = NowUs() + kFirstLookAfterAskUs;
        t->look_every_us = kFirstLookAfterAskUs;
        t->looks = 0;
      }
      if (Tracing()) TraceEvent("asked ahead on " + stream_);
    }
  }
}

// What an ask ahead brings comes while the instance works on its lease,
// and waited, unread, in libnats's queue until the lease ended: a crash
// then (the OOM killer, a [timeout], a bug in an `exec`'s command) left
// those batches unnoted, so to their ack wait, 5 s or more, where the
// replacement hands back at once what was noted (hand_back_book.h). With
// 100 ms records at a steady pace, every kill in the last few ms of a
// lease cost the ack wait. So the heartbeat looks at the inbox soon after
// the ask, then less and less often, until the request is closed (all its
// batches came, or the broker ended it), or Pop reads the inbox itself
// (it waits on it, or has the taker), or it has looked kMostLooks times
// (an edge running dry leaves a request open for long: its tick's look
// then goes on as before). A batch that comes between two looks is still
// unnoted for that moment.
void NatsQueue::NoteAnswersDue() {
  const int64_t now = NowUs();
  for (auto& t : takers_) {
    if (t->look_at_us == 0 || t->look_at_us > now) continue;
    std::unique_lock lock(t->mu, std::try_to_lock);
    if (!lock.owns_lock()) {
      // Pop, which reads and notes the inbox itself, or an Ack, a moment
      // only: looked at again soon (counted, so that a taker busy for long
      // does not wake this thread every millisecond).
      t->look_at_us = ++t->looks >= kMostLooks ? 0 : now + kFirstLookAfterAskUs;
      continue;
    }
    if (t->waiting || t->inbox == nullptr) {
      t->look_at_us = 0;
      continue;
    }
    Collect(*t, 0);
    if (t->request_until_ms == 0 || ++t->looks >= kMostLooks) {
      t->look_at_us = 0;
      continue;
    }
    t->look_every_us = std::min(t->look_every_us * 2, kLongestLookWaitUs);
    t->look_at_us = now + t->look_every_us;
  }
}

void NatsQueue::Ack(int consumer, Lease* lease) {
  Taker& t = *takers_[static_cast<size_t>(consumer)];
  std::lock_guard lock(t.mu);
  auto it = t.held.find({lease->ticket(), lease->attempt()});
  assert(it != t.held.end() && "ack of a lease this consumer does not hold");
  if (it != t.held.end()) {
    Held& h = it->second;
    options_.hand_back.Forget(h.note);  // before the answer: see hand_back_book.h
    if (h.pieces.empty()) {
      // Buffered: libnats's flusher thread sends it at once, without the
      // round trip a flush here would wait for (one per record into a slow
      // stage). The destructor flushes what is left before the process
      // exits; a worker that dies first has its lease come back, as if it
      // had died before the ack.
      AckAgainAfterReconnect();
      // The last lease held, whose Pop put its look at the end off (see
      // below): confirmed, so that the look it wakes counts it done (a
      // buffered ack raced the look, which then waited twice as long).
      const bool looks_next = t.look_after_ack && t.waiting && t.held.size() == 1;
      if (lose_next_ack_) {
        lose_next_ack_ = false;
      } else if (!looks_next || !AckSync(h.msg)) {
        Respond(h.msg, kAckWord);
      }
      NoteAck(natsMsg_GetReply(h.msg));
    } else if (AckSync(h.msg)) {
      // Only once the server has the ack: pieces gone before it would turn
      // a redelivery of the reference into a lost record.
      jsOptions jo;
      jsOptions_Init(&jo);
      jo.Stream.Purge.Subject = h.pieces.c_str();
      js_PurgeStream(link_->js(), pieces_stream_.c_str(), &jo, nullptr);
    }
    natsMsg_Destroy(h.msg);
    t.held.erase(it);
  }
  if (t.held.empty() && t.look_after_ack && t.waiting) {
    // The Pop that put its look off waits: woken to look now.
    t.look_after_ack = false;
    t.end_checked_ms = 0;
    t.tail_wait_ms = kTailPeekMs;
    natsConnection_PublishString(link_->connection(), (t.inbox_prefix + "w").c_str(), "");
  }
  *lease = Lease();
}

}  // namespace flow

#endif  // FLOWRUN_NATS
