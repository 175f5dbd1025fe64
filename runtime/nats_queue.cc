// A NatsQueue's making and unmaking, the acknowledgement words it sends,
// and its stop flags and errors, which both sides look at.
// Built only with libnats (see runtime/nats_run.cc).
#ifdef FLOWRUN_NATS

#include "runtime/nats_queue.h"

#include <memory>
#include <string>

#include "runtime/nats_queue_parts.h"

namespace flow {
namespace {

// Left in a message for the protocol's and our headers (Nats-Msg-Id): the
// server's maximum counts them.
constexpr int64_t kHeaderRoom = 512;

int CountedProducers(const NatsQueueOptions& options) {
  const int counted = options.counted_producers;
  return counted >= 1 && counted < options.producers ? counted : options.producers;
}

}  // namespace

NatsQueue::NatsQueue(std::shared_ptr<NatsLink> link, const NatsQueueOptions& options, int64_t ack_wait_ms)
    : link_(std::move(link)),
      options_(options),
      bucket_(*link_, NatsBucketName(options.run)),
      ack_wait_ms_(ack_wait_ms),
      stream_(NatsStreamName(options.run, options.edge)),
      prefix_(NatsSubjectPrefix(options.run, options.edge)),
      pieces_stream_(NatsPiecesStream(options.run)),
      pieces_prefix_(NatsPiecesPrefix(options.run, options.edge)),
      stop_key_("e" + std::to_string(options.edge) + ".stop"),
      failed_key_("e" + std::to_string(options.edge) + ".failed"),
      limit_(link_->max_payload() - kHeaderRoom),
      ended_seen_(static_cast<size_t>(CountedProducers(options)), false),
      wakes_(std::make_unique<Wakes>()) {
  for (int i = 0; i < options.producers; ++i) books_.push_back(std::make_unique<Books>());
  for (int i = 0; i < options.consumers; ++i) takers_.push_back(std::make_unique<Taker>());
  wakes_->connection = link_->connection();
  if (options.upstream_edge >= 0) {
    wakes_->upstream_subject = NatsSubjectPrefix(options.run, static_cast<size_t>(options.upstream_edge)) + kEndSignal;
    // The callback may come until Settle has drained the subscription:
    // this queue is there until then (or for good: Settle(false)).
    wakes_->upstream_drained_heard = [this] {
      {
        std::lock_guard lock(heartbeat_mu_);
        early_look_due_ = true;
      }
      heartbeat_cv_.notify_all();
    };
  }
  acks_reconnects_ = Reconnects();
  wakes_->ended.assign(ended_seen_.size(), false);
  // The stop flag is first looked at a poll_ms after the queue opens, not
  // at its first Pop or Push: a request there, at every instance's start
  // and at each hop of a run's end (where a stage pushes its one batch and
  // ends). A run stopped before an instance got going is seen by it that
  // much later, as by one that is running.
  stop_checked_ms_.store(NowMs());
}

std::unique_ptr<NatsQueue> NatsQueue::Open(std::shared_ptr<NatsLink> link, const NatsQueueOptions& options,
                                           std::string* error) {
  if (options.producers < 1 || options.consumers < 1 || options.fetch_batch < 1 || options.poll_ms < 1) {
    *error = "a queue needs producers, consumers, fetch_batch and poll_ms of at least 1";
    return nullptr;
  }
  // Each request here is paid by every process that opens the edge (24
  // replicas on a 2-core machine: tens of ms): the ack wait comes with the
  // options when the caller knows it, and the run's bucket is used without
  // a lookup (RunBucket).
  int64_t ack_wait_ms = options.ack_wait_ns / 1'000'000;
  if (ack_wait_ms <= 0) {
    const std::string stream = NatsStreamName(options.run, options.edge);
    jsErrCode code = static_cast<jsErrCode>(0);
    jsConsumerInfo* ci = nullptr;
    const natsStatus s = js_GetConsumerInfo(&ci, link->js(), stream.c_str(), kNatsConsumerName, nullptr, &code);
    if (s != NATS_OK) {
      *error = link->Describe("no edge " + std::to_string(options.edge) + " of run '" + options.run + "'", s, code);
      return nullptr;
    }
    ack_wait_ms = ci->Config->AckWait / 1'000'000;
    jsConsumerInfo_Destroy(ci);
  }
  return std::unique_ptr<NatsQueue>(new NatsQueue(std::move(link), options, ack_wait_ms));
}

NatsQueue::~NatsQueue() {
  Settle(true);
  StopHeartbeat();  // (Settle(false) left it to end by itself)
  if (link_->connected()) natsConnection_FlushTimeout(link_->connection(), link_->api_wait_ms());
  // Unsubscribed by Settle; destroyed once the link's reader thread cannot
  // be delivering to them (NatsLink::Retire).
  for (natsSubscription* sub : {end_sub_, upstream_sub_, stop_sub_}) {
    if (sub != nullptr) link_->Retire(sub);
  }
  for (auto& t : takers_) {
    std::lock_guard lock(t->mu);
    if (t->inbox != nullptr) link_->Retire(t->inbox);
  }
}

void NatsQueue::Settle(bool callbacks_must_end) {
  if (settled_) return;
  settled_ = true;
  // A process about to exit (no callbacks_must_end) does not wait for the
  // thread: a tick that comes meanwhile finds nothing held once the leases
  // are handed back below (it tries each taker's lock, as Pop holds it).
  if (callbacks_must_end) StopHeartbeat();
  else AskHeartbeatToStop();
  for (natsSubscription* sub : {end_sub_, stop_sub_, upstream_sub_}) {
    if (sub == nullptr) continue;
    // Drained, so that no callback still runs when wakes_ goes; with
    // the broker away no signal can come, and nothing is waited for.
    if (callbacks_must_end && link_->connected() && natsSubscription_Drain(sub) == NATS_OK)
      natsSubscription_WaitForDrainCompletion(sub, 1000);
    else
      natsSubscription_Unsubscribe(sub);
  }
  {
    std::lock_guard lock(wakes_->mu);  // (CloseInboxes: they are unsubscribed below, and retired later)
    wakes_->inboxes.clear();
  }
  for (auto& t : takers_) {
    std::lock_guard lock(t->mu);
    if (t->inbox != nullptr) {
      Collect(*t, 0);
      natsSubscription_Unsubscribe(t->inbox);
    }
    for (auto& f : t->buffer) {
      Answer(f.msg, f.note, kNakWord);
      natsMsg_Destroy(f.msg);
    }
    t->buffer.clear();
    for (auto& [key, h] : t->held) {
      Answer(h.msg, h.note, give_up_held_.load() ? kTermWord : kNakWord);
      natsMsg_Destroy(h.msg);
    }
    t->held.clear();
  }
  ConfirmSentBooks();
  // Books not yet written: best effort (a replacement reading older books
  // only publishes again what the duplicate window drops).
  for (size_t p = 0; p < books_.size(); ++p) {
    std::lock_guard lock(books_[p]->mu);
    if (books_[p]->dirty && link_->connected()) SaveBooks(static_cast<int>(p), *books_[p]);
  }
}

// libnats's natsMsg_Ack and its kin refuse (3.4.1: crash on) a message of
// a plain subscription, so acknowledgements are published by hand to the
// message's reply subject, which is all they are.
void NatsQueue::Respond(natsMsg* msg, const char* word) const {
  const char* reply = natsMsg_GetReply(msg);
  if (reply != nullptr) natsConnection_PublishString(link_->connection(), reply, word);
}

void NatsQueue::Answer(natsMsg* msg, int note, const char* word) const {
  options_.hand_back.Forget(note);
  Respond(msg, word);
}

// ---- stop flags and errors ----

void NatsQueue::Cancel() {
  cancelled_.store(true);
  // Create, not put: a cancel never hides a close. Stored before the
  // signal goes: whoever hears it finds the flag.
  bucket_.Create(stop_key_, "cancelled");
  natsConnection_PublishString(link_->connection(), (prefix_ + kStopSignal).c_str(), "");
}

void NatsQueue::Close() {
  closed_.store(true);
  bucket_.Put(stop_key_, "closed");
  natsConnection_PublishString(link_->connection(), (prefix_ + kStopSignal).c_str(), "");
}

bool NatsQueue::ListenToSignals(bool consumer) {
  if (!consumer && listening_.load()) return false;  // at every Push: no lock once listening
  std::lock_guard lock(end_mu_);
  if (end_sub_ != nullptr || (!consumer && stop_sub_ != nullptr)) return false;
  natsSubscription** sub = consumer ? &end_sub_ : &stop_sub_;
  const std::string subject = prefix_ + (consumer ? "s.*" : kStopSignal);
  if (natsConnection_Subscribe(sub, link_->connection(), subject.c_str(), &NatsQueue::OnSignal, wakes_.get()) !=
      NATS_OK) {
    *sub = nullptr;  // no signals: the end and the stop flag are looked at every poll_ms
    return false;
  }
  // Unheard, the producers' input's drain costs nothing but the wait for
  // each producer's end, as without it.
  if (consumer && !wakes_->upstream_subject.empty() &&
      natsConnection_Subscribe(&upstream_sub_, link_->connection(), wakes_->upstream_subject.c_str(),
                               &NatsQueue::OnSignal, wakes_.get()) != NATS_OK)
    upstream_sub_ = nullptr;
  // A stop signalled before the subscription reached the broker went by
  // unheard: the flag is read a poll_ms from now, as when the queue opened,
  // and then only on a signal or every kStopLookMs.
  if (!listening_.exchange(true)) {
    stop_looked_.store(false);
    stop_checked_ms_.store(NowMs());
  }
  return consumer;
}

bool NatsQueue::Stopped(QueueStatus* status) {
  const int64_t now = NowMs();
  const uint64_t stops = wakes_->stops.load();
  const int64_t since = now - stop_checked_ms_.load();
  const bool look = stops != stops_seen_.load() || since >= (listening_.load() ? kStopLookMs : options_.poll_ms) ||
                    (!stop_looked_.load() && since >= options_.poll_ms);
  if (!closed_.load() && !cancelled_.load() && link_->connected() && look) {
    stop_checked_ms_.store(now);
    stop_looked_.store(true);
    stops_seen_.store(stops);
    std::string said;
    const natsStatus s = bucket_.Get(stop_key_, &said);
    if (s == NATS_OK) (said == "closed" ? closed_ : cancelled_).store(true);
    if (s != NATS_TIMEOUT) {
      unanswered_since_ms_.store(0);
    } else if (link_->connected()) {
      int64_t first = 0;
      unanswered_since_ms_.compare_exchange_strong(first, now);
      if (first != 0 && NowMs() - first > link_->broker_wait_ms())
        Fail("the broker at '" + link_->url() + "' has not answered for more than " +
             std::to_string(link_->broker_wait_ms()) + " ms");
    }
  }
  if (closed_.load()) {
    *status = QueueStatus::kClosed;
    return true;
  }
  if (cancelled_.load()) {
    *status = QueueStatus::kCancelled;
    return true;
  }
  return false;
}

// True when `s` says the broker is away or going away rather than that
// the request was wrong: the caller waits for it (bounded by Troubled)
// instead of failing at once. A server that shuts down cleanly answers
// pending pulls with "Server Shutdown", and JetStream requests with "no
// responders", while the connection still stands.
bool NatsQueue::BrokerAway(natsStatus s) const {
  if (s == NATS_TIMEOUT || s == NATS_CONNECTION_CLOSED || s == NATS_CONNECTION_DISCONNECTED || s == NATS_NO_SERVER ||
      s == NATS_STALE_CONNECTION || s == NATS_NO_RESPONDERS || !link_->connected()) {
    return true;
  }
  const char* last = nats_GetLastError(nullptr);
  return last != nullptr && strcasestr(last, "shutdown") != nullptr;
}

// True (after Fail) once the broker has been in trouble (unreachable, or
// not answering) for longer than the link's wait without a break.
bool NatsQueue::Troubled(int64_t* since_ms, bool trouble) {
  if (!trouble) {
    *since_ms = 0;
    return false;
  }
  const int64_t now = NowMs();
  if (*since_ms == 0) *since_ms = now;
  if (now - *since_ms <= link_->broker_wait_ms()) return false;
  Fail("lost the broker at '" + link_->url() + "' for more than " + std::to_string(link_->broker_wait_ms()) + " ms");
  return true;
}

// While the broker is away: true once it is back (or the queue was stopped
// here meanwhile: the caller looks), false after the link's wait.
bool NatsQueue::AwaitBroker() {
  int64_t since = 0;
  while (!link_->connected() && !closed_.load() && !cancelled_.load()) {
    if (Troubled(&since, true)) return false;
    nats_Sleep(25);
  }
  return true;
}

QueueStatus NatsQueue::Fail(const std::string& message) {
  {
    std::lock_guard lock(error_mu_);
    if (error_.empty()) error_ = message;
  }
  closed_.store(true);
  return QueueStatus::kClosed;
}

std::string NatsQueue::error() const {
  std::lock_guard lock(error_mu_);
  return error_;
}

}  // namespace flow

#endif  // FLOWRUN_NATS
