// Built only with libnats (see runtime/nats_run.cc).
#ifdef FLOWRUN_NATS

#include "runtime/nats_queue.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>

#include "runtime/nats_batch_format.h"
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
//
// libnats's natsMsg_Ack and its kin refuse (3.4.1: crash on) a message of
// a plain subscription, so acknowledgements are published by hand to the
// message's reply subject, which is all they are.

// The longest pause between two tries to publish to a full edge.
constexpr int64_t kFullEdgePauseMs = 8;
// Once every producer has ended, a consumer that finds nothing to take
// within this long looks whether the edge is drained at once, instead of
// a poll later: the last replica to finish then sees the end, and says so.
// (Looked at again after twice as long, and so on: see Taker::tail_wait_ms.)
constexpr int64_t kTailPeekMs = 3;
// What an end signal says: producer p ended ("ended <p>"), or a consumer
// found the edge drained for good ("drained": every producer ended, nothing
// pending or unacknowledged, so nothing can come any more).
constexpr const char* kDrainedWord = "drained";
constexpr const char* kEndedWord = "ended";  // "ended <producer>"
// How often a producer's books are written while it pushes.
constexpr int64_t kBooksEveryMs = 200;
// Left in a message for the protocol's and our headers (Nats-Msg-Id): the
// server's maximum counts them.
constexpr int64_t kHeaderRoom = 512;
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
// The acknowledgement protocol's words.
constexpr const char* kAckWord = "+ACK";
constexpr const char* kNakWord = "-NAK";
constexpr const char* kInProgressWord = "+WPI";
constexpr const char* kTermWord = "+TERM";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// What a lease points into: the message (kept until the Ack, which needs
// it) and the columns decoded from it; a large record's lease owns its bytes
// and remembers its pieces, purged after the Ack.
struct NatsQueue::Held {
  natsMsg* msg = nullptr;
  int64_t touched_ms = 0;  // last told InProgress (0: not yet, since it was taken)
  std::vector<int64_t> nrs, seqs;
  std::vector<uint32_t> ends;
  std::string pieces;  // the pieces' subject filter; "" for a batch
};

struct NatsQueue::Taker {
  std::mutex mu;
  // "<inbox>.*": our pull requests' replies ("<inbox>.<n>") and the end
  // signals relayed to us ("<inbox>.w").
  natsSubscription* inbox = nullptr;
  std::string inbox_prefix;  // "<inbox>."
  uint64_t requests = 0;     // pull requests sent; the last one's number
  int64_t request_until_ms = 0;  // when the open request expires; 0: none open
  int request_left = 0;          // batches it may still bring
  uint64_t request_reconnects = 0;  // the link's reconnections when it was sent
  struct Fetched {
    natsMsg* msg;
    int64_t touched_ms;  // fetched, or last told InProgress
  };
  std::deque<Fetched> buffer;
  // By (ticket, attempt): a batch redelivered to the consumer that still
  // holds it (it outlived its ack wait) is a second lease.
  std::map<std::pair<uint64_t, uint32_t>, Held> held;
  uint64_t signals_seen = 0;  // end signals already looked into
  int64_t end_checked_ms = 0;  // when the end of stream was last looked at
  // Every producer ended: how long to wait for a batch before looking at
  // the end of stream again. kTailPeekMs after a lease, doubled after each
  // look that finds the edge not drained yet, up to poll_ms.
  int64_t tail_wait_ms = kTailPeekMs;
};

// End signals come on libnats's thread: counted, and relayed to every
// taker's inbox, where a waiting Pop wakes. On the heap, so that a late
// callback finds it (see the destructor).
struct NatsQueue::Wakes {
  std::atomic<uint64_t> signals{0};
  std::atomic<bool> drained{false};
  std::mutex mu;
  natsConnection* connection = nullptr;
  std::vector<std::string> subjects;  // under mu
  // Producers whose end signal ("ended <p>") came, under mu: each said so
  // after writing "ended" in its books, so the books need not be read
  // again (a request each: with 24 producers ending together, tens of ms).
  std::vector<bool> ended;
};

struct NatsQueue::Books {
  std::mutex mu;
  bool loaded = false;
  ProducerProgress progress;
  uint64_t messages = 0;
  bool dirty = false;     // pushed since the last save
  int64_t saved_ms = 0;   // when last saved
};

NatsQueue::NatsQueue(std::shared_ptr<NatsLink> link, const NatsQueueOptions& options, kvStore* kv,
                     int64_t ack_wait_ms)
    : link_(std::move(link)),
      options_(options),
      kv_(kv),
      ack_wait_ms_(ack_wait_ms),
      stream_(NatsStreamName(options.run, options.edge)),
      prefix_(NatsSubjectPrefix(options.run, options.edge)),
      stop_key_("e" + std::to_string(options.edge) + ".stop"),
      limit_(link_->max_payload() - kHeaderRoom),
      ended_seen_(static_cast<size_t>(options.producers), false),
      wakes_(std::make_unique<Wakes>()) {
  for (int i = 0; i < options.producers; ++i) books_.push_back(std::make_unique<Books>());
  for (int i = 0; i < options.consumers; ++i) takers_.push_back(std::make_unique<Taker>());
  wakes_->connection = link_->connection();
  wakes_->ended.assign(static_cast<size_t>(options.producers), false);
}

std::unique_ptr<NatsQueue> NatsQueue::Open(std::shared_ptr<NatsLink> link, const NatsQueueOptions& options,
                                           std::string* error) {
  if (options.producers < 1 || options.consumers < 1 || options.fetch_batch < 1 || options.poll_ms < 1) {
    *error = "a queue needs producers, consumers, fetch_batch and poll_ms of at least 1";
    return nullptr;
  }
  // Each request here is paid by every process that opens the edge (24
  // replicas on a 2-core machine: tens of ms): the ack wait comes with the
  // options when the caller knows it, the bucket is looked up once per link.
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
  std::string missing;
  kvStore* kv = link->Bucket(NatsBucketName(options.run), &missing);
  if (kv == nullptr) {
    *error = "no bucket for run '" + options.run + "': " + missing;
    return nullptr;
  }
  return std::unique_ptr<NatsQueue>(new NatsQueue(std::move(link), options, kv, ack_wait_ms));
}

NatsQueue::~NatsQueue() {
  StopHeartbeat();
  if (end_sub_ != nullptr) {
    // Drained, so that no callback still runs when wakes_ goes; with
    // the broker away no signal can come, and nothing is waited for.
    if (link_->connected() && natsSubscription_Drain(end_sub_) == NATS_OK)
      natsSubscription_WaitForDrainCompletion(end_sub_, 1000);
    else
      natsSubscription_Unsubscribe(end_sub_);
    natsSubscription_Destroy(end_sub_);
  }
  for (auto& t : takers_) {
    std::lock_guard lock(t->mu);
    if (t->inbox != nullptr) {
      Collect(*t, 0);
      natsSubscription_Unsubscribe(t->inbox);
      natsSubscription_Destroy(t->inbox);
    }
    for (auto& f : t->buffer) {
      Respond(f.msg, kNakWord);
      natsMsg_Destroy(f.msg);
    }
    for (auto& [key, h] : t->held) {
      Respond(h.msg, kNakWord);
      natsMsg_Destroy(h.msg);
    }
  }
  // Books not yet written: best effort (a replacement reading older books
  // only publishes again what the duplicate window drops).
  for (size_t p = 0; p < books_.size(); ++p) {
    std::lock_guard lock(books_[p]->mu);
    if (books_[p]->dirty && link_->connected()) SaveBooks(static_cast<int>(p), *books_[p]);
  }
  if (link_->connected()) natsConnection_FlushTimeout(link_->connection(), link_->api_wait_ms());
}

// ---- producer side ----

bool NatsQueue::IsLarge(const RecordBatch& batch, size_t i) const {
  return static_cast<int64_t>(kBatchHeader + kMaxColumnBytes + (batch.end(i) - batch.begin(i))) > limit_;
}

size_t NatsQueue::RunEnd(const RecordBatch& batch, size_t i) const {
  int64_t bytes = kBatchHeader;
  size_t j = i;
  while (j < batch.size() && !IsLarge(batch, j)) {
    const int64_t more = kMaxColumnBytes + static_cast<int64_t>(batch.end(j) - batch.begin(j));
    if (bytes + more > limit_) break;
    bytes += more;
    ++j;
  }
  return j;
}

std::string NatsQueue::MessageId(const RecordBatch& batch, int producer, size_t i, size_t count) const {
  const std::string from =
      batch.origin() != 0 ? "o" + std::to_string(batch.origin()) : "p" + std::to_string(producer);
  return options_.run + "." + std::to_string(options_.edge) + ".b." + from + "." +
         std::to_string(static_cast<uint64_t>(batch.seqs()[i])) + "." + std::to_string(count);
}

QueueStatus NatsQueue::Push(int producer, const RecordBatch& batch) {
  assert(producer >= 0 && producer < options_.producers && "producer index out of range");
  QueueStatus status;
  if (Stopped(&status)) return status;
  if (batch.empty()) return QueueStatus::kOk;
  Books& books = LoadBooks(producer);
  std::lock_guard lock(books.mu);
  size_t i = 0;
  while (i < batch.size()) {
    if (IsLarge(batch, i)) {
      status = PublishLarge(producer, batch, i);
      i += 1;
    } else {
      const size_t j = RunEnd(batch, i);
      status = PublishRun(producer, batch, i, j);
      i = j;
    }
    if (status != QueueStatus::kOk) return status;
    ++books.messages;
  }
  ProducerProgress& p = books.progress;
  p.records += batch.size();
  p.last_nr = batch.nrs()[batch.size() - 1];
  p.last_seq = batch.seqs()[batch.size() - 1];
  p.origin = batch.origin();
  // Saved at most every kBooksEveryMs (a round trip each; a producer of
  // one-record batches would spend half its time on them), and always at
  // the end. Books a little behind are safe: a replacement that reads them
  // publishes again what the dead one had published since, and the
  // duplicate window drops it (the message ids name the records).
  books.dirty = true;
  const int64_t now = NowMs();
  if (now - books.saved_ms < kBooksEveryMs) return QueueStatus::kOk;
  return SaveBooks(producer, books) ? QueueStatus::kOk : QueueStatus::kClosed;
}

QueueStatus NatsQueue::PublishRun(int producer, const RecordBatch& batch, size_t i, size_t j) {
  std::string columns;
  int64_t nr = 0, seq = 0;
  for (size_t k = i; k < j; ++k) {
    PutVarint(columns, Delta(batch.nrs()[k], nr));
    PutVarint(columns, Delta(batch.seqs()[k], seq));
    PutVarint(columns, batch.end(k) - batch.begin(k));
    nr = batch.nrs()[k];
    seq = batch.seqs()[k];
  }
  const uint64_t data_bytes = batch.end(j - 1) - batch.begin(i);
  std::string msg = Header(kBatchKind, static_cast<uint32_t>(j - i), batch.origin());
  PutU32(msg, static_cast<uint32_t>(columns.size()));
  PutU32(msg, static_cast<uint32_t>(data_bytes));
  msg.reserve(msg.size() + columns.size() + data_bytes);
  msg += columns;
  msg.append(batch.data() + batch.begin(i), data_bytes);
  return Publish(prefix_ + "b", msg, MessageId(batch, producer, i, j - i));
}

QueueStatus NatsQueue::PublishLarge(int producer, const RecordBatch& batch, size_t i) {
  const RecordView r = batch[i];
  const std::string id = MessageId(batch, producer, i, 1);
  // The pieces' subject token: the id's distinguishing part, '-' for '.'.
  std::string token = id.substr(id.find(".b.") + 3);
  std::replace(token.begin(), token.end(), '.', '-');
  const auto piece = static_cast<uint64_t>(limit_);
  const uint64_t pieces = std::max<uint64_t>(1, (r.bytes.size() + piece - 1) / piece);
  for (uint64_t k = 0; k < pieces; ++k) {
    const std::string_view part = r.bytes.substr(k * piece, piece);
    QueueStatus status = Publish(prefix_ + "c." + token + "." + std::to_string(k), part, id + "." + std::to_string(k));
    if (status != QueueStatus::kOk) return status;
  }
  std::string msg = Header(kLargeKind, static_cast<uint32_t>(pieces), batch.origin());
  PutU64(msg, static_cast<uint64_t>(r.nr));
  PutU64(msg, static_cast<uint64_t>(r.seq));
  PutU64(msg, r.bytes.size());
  msg += token;
  return Publish(prefix_ + "b", msg, id + ".ref");
}

// Publishes until the broker stores the message (or says it has it: a
// duplicate id), waiting while the edge is full or the broker away.
QueueStatus NatsQueue::Publish(const std::string& subject, std::string_view data, const std::string& id) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = id.c_str();
  int64_t trouble_since = 0;
  int64_t pause_ms = 1;
  for (;;) {
    if (!AwaitBroker()) return QueueStatus::kClosed;
    jsErrCode code = static_cast<jsErrCode>(0);
    jsPubAck* ack = nullptr;
    const natsStatus s = js_Publish(&ack, link_->js(), subject.c_str(), data.data(), static_cast<int>(data.size()),
                                    &po, &code);
    jsPubAck_Destroy(ack);
    if (s == NATS_OK) return QueueStatus::kOk;
    const char* last = nats_GetLastError(nullptr);
    const bool full = code == JSStreamStoreFailedErr && last != nullptr && std::strstr(last, "maximum messages") != nullptr;
    if (!full) {
      // A timed-out publish may have been stored: the same id again is safe.
      if (!BrokerAway(s)) return Fail(link_->Describe("cannot publish to '" + stream_ + "'", s, code));
      if (Troubled(&trouble_since, true)) return QueueStatus::kClosed;
    }
    QueueStatus status;
    if (Stopped(&status)) return status;
    nats_Sleep(pause_ms);
    // A full edge frees a slot per batch a consumer acknowledges: looked
    // at again soon, or a producer of small batches starves its consumers.
    pause_ms = std::min<int64_t>(pause_ms * 2, std::min<int64_t>(kFullEdgePauseMs, options_.poll_ms));
  }
}

std::string NatsQueue::BooksKey(int producer) const {
  return "e" + std::to_string(options_.edge) + ".p" + std::to_string(producer);
}

NatsQueue::Books& NatsQueue::LoadBooks(int producer) {
  Books& books = *books_[static_cast<size_t>(producer)];
  std::lock_guard lock(books.mu);
  if (!books.loaded) {
    // A replacement of a producer that died continues its books.
    kvEntry* entry = nullptr;
    if (kvStore_Get(&entry, kv_, BooksKey(producer).c_str()) == NATS_OK)
      ParseBooks(kvEntry_ValueString(entry), &books.progress, &books.messages);
    kvEntry_Destroy(entry);
    books.loaded = true;
  }
  return books;
}

bool NatsQueue::SaveBooks(int producer, Books& books) {
  books.dirty = false;
  books.saved_ms = NowMs();
  const std::string value = FormatBooks(books.progress, books.messages);
  int64_t trouble_since = 0;
  for (;;) {
    if (!AwaitBroker()) return false;
    const natsStatus s = kvStore_PutString(nullptr, kv_, BooksKey(producer).c_str(), value.c_str());
    if (s == NATS_OK) return true;
    if (!BrokerAway(s)) {
      Fail(link_->Describe("cannot record what producer " + std::to_string(producer) + " published", s));
      return false;
    }
    if (Troubled(&trouble_since, true)) return false;
    nats_Sleep(25);
  }
}

void NatsQueue::EndOfStream(int producer) {
  assert(producer >= 0 && producer < options_.producers && "producer index out of range");
  Books& books = LoadBooks(producer);
  std::lock_guard lock(books.mu);
  if (books.progress.ended) return;
  books.progress.ended = true;
  if (!SaveBooks(producer, books)) return;
  // Then a signal to every consumer, after "ended" is written: a consumer
  // that gets it looks at the end of stream at once, instead of a poll
  // later (each stage of a pipeline would add that much to the run). Core
  // NATS, not JetStream: every subscriber gets it, and nothing is stored.
  // Lost (the broker away a moment), it costs a poll, nothing more.
  // libnats's flusher sends it within a moment; no flush here, which would
  // wait for a broker that is away.
  natsConnection_PublishString(link_->connection(), (prefix_ + "end").c_str(),
                               (std::string(kEndedWord) + " " + std::to_string(producer)).c_str());
}

ProducerProgress NatsQueue::PublishedBy(int producer) {
  ProducerProgress p;
  uint64_t messages = 0;
  kvEntry* entry = nullptr;
  if (kvStore_Get(&entry, kv_, BooksKey(producer).c_str()) == NATS_OK) ParseBooks(kvEntry_ValueString(entry), &p, &messages);
  kvEntry_Destroy(entry);
  return p;
}

// ---- consumer side ----

void NatsQueue::OnEndSignal(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* wakes = static_cast<Wakes*>(closure);
  const std::string said(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  natsMsg_Destroy(msg);
  if (said == kDrainedWord) wakes->drained.store(true);
  std::lock_guard lock(wakes->mu);
  const size_t word = std::strlen(kEndedWord);
  if (said.size() > word + 1 && said.compare(0, word, kEndedWord) == 0 && said[word] == ' ') {
    const uint64_t p = std::strtoull(said.c_str() + word + 1, nullptr, 10);
    if (p < wakes->ended.size()) wakes->ended[p] = true;
  }
  // Counted after the producer is noted: a Pop that sees the count looks.
  wakes->signals.fetch_add(1);
  for (const std::string& subject : wakes->subjects) natsConnection_PublishString(wakes->connection, subject.c_str(), "");
}

void NatsQueue::Respond(natsMsg* msg, const char* word) const {
  const char* reply = natsMsg_GetReply(msg);
  if (reply != nullptr) natsConnection_PublishString(link_->connection(), reply, word);
}

QueueStatus NatsQueue::Subscribe(Taker& t) {
  if (t.inbox != nullptr) return QueueStatus::kOk;
  natsInbox* inbox = nullptr;
  natsStatus s = natsInbox_Create(&inbox);
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
  bool first = false;
  {
    std::lock_guard lock(end_mu_);
    {
      std::lock_guard wakes(wakes_->mu);
      wakes_->subjects.push_back(t.inbox_prefix + "w");
    }
    if (end_sub_ == nullptr) {
      const natsStatus e = natsConnection_Subscribe(&end_sub_, link_->connection(), (prefix_ + "end").c_str(),
                                                    &NatsQueue::OnEndSignal, wakes_.get());
      if (e != NATS_OK) end_sub_ = nullptr;  // no signals: the end is seen every poll_ms
      first = end_sub_ != nullptr;
    }
  }
  // Registered before the first pull, so that neither a batch nor a signal
  // sent after it is missed; bounded, for a broker that is away (a missed
  // signal costs one poll_ms).
  if (link_->connected()) natsConnection_FlushTimeout(link_->connection(), 200);
  // The producers that ended before: their signals went by unheard, their
  // books say so (one look each, once). Without it, a consumer that never
  // ran dry would see the end of its input a poll_ms late.
  if (first) AllProducersEnded();
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
  ++t.requests;
  const std::string reply = t.inbox_prefix + std::to_string(t.requests);
  const natsStatus s = natsConnection_PublishRequestString(link_->connection(), subject.c_str(), reply.c_str(),
                                                           body.c_str());
  if (s == NATS_OK) {
    t.request_until_ms = NowMs() + expires_ms;
    t.request_left = options_.fetch_batch;
    t.request_reconnects = Reconnects();
  }
  return s;
}

// Moves what the inbox holds into the buffer, waiting up to `wait_ms` for
// the first message. Returns early on a relayed end signal. A status from
// the server (404 nothing there, 408 expired, 409 and others) closes the
// request it answers; a 503 says nobody serves the edge (`*refused`).
void NatsQueue::Collect(Taker& t, int64_t wait_ms, bool* refused) {
  int64_t wait = wait_ms;
  for (;;) {
    natsMsg* msg = nullptr;
    if (natsSubscription_NextMsg(&msg, t.inbox, wait) != NATS_OK) return;
    wait = 0;  // then only what is already there
    const char* reply = natsMsg_GetReply(msg);
    if (reply != nullptr && std::strncmp(reply, "$JS.ACK.", 8) == 0) {
      t.buffer.push_back({msg, NowMs()});
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

QueueStatus NatsQueue::Pop(int consumer, Lease* lease, PopMode mode) {
  assert(consumer >= 0 && consumer < options_.consumers && "consumer index out of range");
  Taker& t = *takers_[static_cast<size_t>(consumer)];
  std::lock_guard lock(t.mu);
  QueueStatus status = Subscribe(t);
  if (status != QueueStatus::kOk) return status;
  std::call_once(heartbeat_started_, [this] { StartHeartbeat(); });
  int64_t trouble_since = 0;
  for (;;) {
    if (Stopped(&status)) return status;
    KeepHeld(t);
    if (t.buffer.empty()) Collect(t, 0);
    KeepBuffered(t);
    if (!t.buffer.empty()) {
      natsMsg* msg = t.buffer.front().msg;
      t.buffer.pop_front();
      t.tail_wait_ms = kTailPeekMs;
      t.end_checked_ms = 0;  // the first look after a lease is not put off
      switch (Take(t, msg, lease)) {
        case Taken::kLease: return QueueStatus::kOk;
        case Taken::kStale: continue;
        case Taken::kBroken: return QueueStatus::kClosed;
      }
    }
    // Nothing to ask a broker that is away; and no end of stream to see.
    if (!AwaitBroker()) return QueueStatus::kClosed;
    if (Stopped(&status)) return status;
    uint64_t pending = 1;
    if (mode == PopMode::kNoWait) {
      if (Drained(AllProducersEnded(), &pending)) return QueueStatus::kEnd;
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
        if (!BrokerAway(s)) return Fail(link_->Describe("cannot take from '" + stream_ + "'", s));
        if (Troubled(&trouble_since, true)) return QueueStatus::kClosed;
        nats_Sleep(25);
        continue;
      }
    }
    bool refused = false;
    const bool tail = mode == PopMode::kWait && ProducersKnownEnded();
    Collect(t, mode == PopMode::kNoWait ? kNoWaitFetchMs : (tail ? t.tail_wait_ms : options_.poll_ms), &refused);
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
    if (signals == t.signals_seen && now - t.end_checked_ms < (tail ? t.tail_wait_ms : options_.poll_ms)) continue;
    t.signals_seen = signals;
    t.end_checked_ms = now;
    if (AllProducersEnded() && Drained(true, &pending)) {
      // Said to the siblings on every machine, who then end without asking.
      natsConnection_PublishString(link_->connection(), (prefix_ + "end").c_str(), kDrainedWord);
      return QueueStatus::kEnd;
    }
    // Not drained: leases are still out. The last of them may be just
    // done, its ack on its way to the broker: looked at again soon, then
    // less and less often (a slow record may take minutes).
    if (tail) t.tail_wait_ms = std::min(t.tail_wait_ms * 2, options_.poll_ms);
  }
}

NatsQueue::Taken NatsQueue::Take(Taker& t, natsMsg* msg, Lease* lease) {
  jsMsgMetaData* meta = nullptr;
  uint64_t ticket = 0;
  uint32_t attempt = 1;
  if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
    ticket = meta->Sequence.Stream;
    attempt = static_cast<uint32_t>(meta->NumDelivered);
    jsMsgMetaData_Destroy(meta);
  }
  const char* data = natsMsg_GetData(msg);
  const auto len = static_cast<size_t>(natsMsg_GetDataLength(msg));
  Held h;
  h.msg = msg;
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
        Respond(msg, kAckWord);
        natsMsg_Destroy(msg);
        return Taken::kStale;
      case Taken::kBroken:
        Respond(msg, kNakWord);
        natsMsg_Destroy(msg);
        return Taken::kBroken;
    }
    if (bytes.size() == length) {
      h.pieces = prefix_ + "c." + token + ".>";
      t.held.emplace(key, std::move(h));
      *lease = Lease::OfRecord(ticket, attempt, std::move(bytes), nr, seq);
      return Taken::kLease;
    }
  }
  // Not ours, or damaged: taken out of the queue for good (Term), and the
  // run stops rather than skip records silently.
  Respond(msg, kTermWord);
  natsMsg_Destroy(msg);
  Fail("message " + std::to_string(ticket) + " of '" + stream_ + "' is not a batch of records");
  return Taken::kBroken;
}

NatsQueue::Taken NatsQueue::ReadPieces(const std::string& token, uint32_t pieces, std::string* bytes) {
  for (uint32_t k = 0; k < pieces; ++k) {
    const std::string subject = prefix_ + "c." + token + "." + std::to_string(k);
    natsMsg* piece = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = js_GetLastMsg(&piece, link_->js(), stream_.c_str(), subject.c_str(), nullptr, &code);
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

// An acknowledgement the server has confirmed.
bool NatsQueue::AckSync(natsMsg* msg) const {
  const char* reply = natsMsg_GetReply(msg);
  if (reply == nullptr) return false;
  natsMsg* answer = nullptr;
  const natsStatus s = natsConnection_RequestString(&answer, link_->connection(), reply, kAckWord, link_->api_wait_ms());
  natsMsg_Destroy(answer);
  return s == NATS_OK;
}

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
  // Born with every signal blocked (a thread inherits its creator's mask):
  // signals meant for the worker never run their handlers here.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  heartbeat_ = std::thread([this] { Heartbeat(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void NatsQueue::StopHeartbeat() {
  if (!heartbeat_.joinable()) return;
  {
    std::lock_guard lock(heartbeat_mu_);
    heartbeat_stop_ = true;
  }
  heartbeat_cv_.notify_all();
  heartbeat_.join();
}

// A tick at a quarter of the ack wait: a batch is told InProgress at the
// latest three quarters into it (or by Pop's own loop, every poll_ms, while
// Pop holds the taker).
void NatsQueue::Heartbeat() {
  const auto tick = std::chrono::milliseconds(std::max<int64_t>(ack_wait_ms_ / 4, 50));
  std::unique_lock lock(heartbeat_mu_);
  while (!heartbeat_cv_.wait_for(lock, tick, [this] { return heartbeat_stop_; })) {
    lock.unlock();
    for (auto& t : takers_) {
      // A taker in Pop holds its lock while it waits for batches, and
      // keeps its own batches alive meanwhile: skipped, never waited for.
      std::unique_lock taker(t->mu, std::try_to_lock);
      if (!taker.owns_lock()) continue;
      KeepHeld(*t);
      // What a request brought while the consumer was busy is ours too.
      if (t->inbox != nullptr) Collect(*t, 0);
      KeepBuffered(*t);
    }
    lock.lock();
  }
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
  TraceEvent("drain check " + stream_ + " pending " + std::to_string(ci->NumPending) + " ack " + std::to_string(ci->NumAckPending) + " waiting " + std::to_string(ci->NumWaiting));
  jsConsumerInfo_Destroy(ci);
  return drained;
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

uint64_t NatsQueue::DeliveryOf(int consumer, const Lease& lease) {
  Taker& t = *takers_[static_cast<size_t>(consumer)];
  std::lock_guard lock(t.mu);
  auto it = t.held.find({lease.ticket(), lease.attempt()});
  if (it == t.held.end()) return 0;
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, it->second.msg) != NATS_OK) return 0;
  const uint64_t delivery = meta->Sequence.Consumer;
  jsMsgMetaData_Destroy(meta);
  return delivery;
}

void NatsQueue::Ack(int consumer, Lease* lease) {
  Taker& t = *takers_[static_cast<size_t>(consumer)];
  std::lock_guard lock(t.mu);
  auto it = t.held.find({lease->ticket(), lease->attempt()});
  assert(it != t.held.end() && "ack of a lease this consumer does not hold");
  if (it != t.held.end()) {
    Held& h = it->second;
    if (h.pieces.empty()) {
      // Buffered: libnats's flusher thread sends it at once, without the
      // round trip a flush here would wait for (one per record into a slow
      // stage). The destructor flushes what is left before the process
      // exits; a worker that dies first has its lease come back, as if it
      // had died before the ack.
      Respond(h.msg, kAckWord);
    } else if (AckSync(h.msg)) {
      // Only once the server has the ack: pieces gone before it would turn
      // a redelivery of the reference into a lost record.
      jsOptions jo;
      jsOptions_Init(&jo);
      jo.Stream.Purge.Subject = h.pieces.c_str();
      js_PurgeStream(link_->js(), stream_.c_str(), &jo, nullptr);
    }
    natsMsg_Destroy(h.msg);
    t.held.erase(it);
  }
  *lease = Lease();
}

// ---- stop flags and errors ----

void NatsQueue::Cancel() {
  cancelled_.store(true);
  // Create, not put: a cancel never hides a close.
  kvStore_CreateString(nullptr, kv_, stop_key_.c_str(), "cancelled");
}

void NatsQueue::Close() {
  closed_.store(true);
  kvStore_PutString(nullptr, kv_, stop_key_.c_str(), "closed");
}

bool NatsQueue::Stopped(QueueStatus* status) {
  const int64_t now = NowMs();
  if (!closed_.load() && !cancelled_.load() && link_->connected() && now - stop_checked_ms_.load() >= options_.poll_ms) {
    stop_checked_ms_.store(now);
    kvEntry* entry = nullptr;
    if (kvStore_Get(&entry, kv_, stop_key_.c_str()) == NATS_OK) {
      (std::strcmp(kvEntry_ValueString(entry), "closed") == 0 ? closed_ : cancelled_).store(true);
    }
    kvEntry_Destroy(entry);
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
