// The producer side of a NatsQueue: batches published with message ids,
// large records in pieces, each producer's books, its end of stream.
// Built only with libnats (see runtime/nats_run.cc).
#ifdef FLOWRUN_NATS

#include "runtime/nats_queue.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <string>

#include "runtime/nats_batch_format.h"
#include "runtime/nats_queue_parts.h"

namespace flow {
namespace {

// The longest pause between two tries to publish to a full edge.
constexpr int64_t kFullEdgePauseMs = 8;
// How often a producer's books are written while it pushes.
constexpr int64_t kBooksEveryMs = 200;

}  // namespace

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
  ListenToSignals(false);
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
  // the end; the first time a kBooksEveryMs after the first batch, not
  // with it (a round trip more before the first records of a run reach
  // their consumers, and at each hop of its end, where a stage pushes one
  // batch and ends). Books a little behind are safe: a replacement that
  // reads them publishes again what the dead one had published since, and
  // the duplicate window drops it (the message ids name the records).
  books.dirty = true;
  const int64_t now = NowMs();
  if (books.saved_ms == 0) books.saved_ms = now;  // from now on: this queue produces as `producer`
  if (now - books.saved_ms < kBooksEveryMs) return QueueStatus::kOk;
  // A process that confirms its books when it settles sends them without
  // waiting: the wait was a round trip inside the push, every 200 ms of
  // each replica, and an [ordered] replica pushes while it holds the turn
  // that its successors wait for. What the broker answered meanwhile is
  // read now: a refusal of these is let be (books a little behind are
  // safe); the books that say the producer ended are confirmed at Settle.
  if (confirm_ends_at_settle_) {
    ReadSentAnswers(false);
    if (SendBooks(producer, books, false)) return QueueStatus::kOk;
  }
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
    QueueStatus status = Publish(pieces_prefix_ + token + "." + std::to_string(k), part, id + "." + std::to_string(k));
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
    std::string said;
    if (bucket_.Get(BooksKey(producer), &said) == NATS_OK) ParseBooks(said.c_str(), &books.progress, &books.messages);
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
    const natsStatus s = bucket_.Put(BooksKey(producer), value);
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
  // A signal to every consumer: one that gets it looks at the end of
  // stream at once, instead of a poll later (each stage of a pipeline would
  // add that much to the run). Core NATS, not JetStream: every subscriber
  // gets it, and nothing is stored. Lost (the broker away a moment), it
  // costs a poll, nothing more. Sent before "ended" is written, a round
  // trip sooner: the consumers that hear it need no books (every batch this
  // producer published is stored: each publish was confirmed), and one that
  // listened too late reads them, written next, then or a poll later. If
  // writing them fails, this instance fails, and so does the run (when it
  // settles, if ConfirmEndsAtSettle).
  natsConnection_PublishString(link_->connection(), (prefix_ + kEndSignal).c_str(),
                               (std::string(kEndedWord) + " " + std::to_string(producer)).c_str());
  if (confirm_ends_at_settle_ && SendBooks(producer, books, true)) return;
  SaveBooks(producer, books);
}

bool NatsQueue::SendBooks(int producer, Books& books, bool end) {
  std::lock_guard lock(sent_mu_);
  if (!sent_answers_) {
    natsInbox* inbox = nullptr;
    if (natsInbox_Create(&inbox) != NATS_OK) return false;
    sent_inbox_ = std::string(inbox) + ".";
    natsInbox_Destroy(inbox);
    sent_answers_ = std::make_unique<NatsSubscription>(*link_, sent_inbox_ + "*");
  }
  if (!sent_answers_->ok()) return false;
  const std::string subject = bucket_.KeySubject(BooksKey(producer));
  const std::string value = FormatBooks(books.progress, books.messages);
  // Each put answered on a subject of its own: the answers to the books
  // that say a producer ended are told from the others'.
  const uint64_t put = ++sent_puts_;
  const std::string reply = sent_inbox_ + std::to_string(put);
  // Counted before: a message another thread publishes meanwhile may be
  // counted before ours yet go out after it.
  const uint64_t published_before = link_->Published();
  if (natsConnection_PublishRequestString(link_->connection(), subject.c_str(), reply.c_str(), value.c_str()) !=
      NATS_OK)
    return false;
  if (end) sent_ends_.insert(put);
  sent_read_through_ = published_before + 1;
  books.dirty = false;
  books.saved_ms = NowMs();
  return true;
}

void NatsQueue::ConfirmSentBooks() {
  std::lock_guard lock(sent_mu_);
  const bool ends_confirmed = ReadSentAnswersLocked(true);
  // The last put answered (a put that said a producer ended is sent after
  // everything else): the broker has read what went before it.
  if (ends_confirmed && sent_last_answered_ == sent_puts_) link_->NoteReadThrough(sent_read_through_);
}

void NatsQueue::ReadSentAnswers(bool wait) {
  std::lock_guard lock(sent_mu_);
  ReadSentAnswersLocked(wait);
}

// The answers to the books sent. Those of the periodic books are read
// when they are there and not waited for: a put lost in a reconnection or
// refused while JetStream restarts leaves the books a little behind, which
// is safe (see Push). Those of the books that say a producer ended are
// waited for when `wait`, and fail the queue if missing or refused.
bool NatsQueue::ReadSentAnswersLocked(bool wait) {
  const int64_t until = NowMs() + link_->api_wait_ms();
  while (!sent_ends_.empty() || !wait) {
    std::string said, subject;
    const int64_t left = wait ? std::max<int64_t>(until - NowMs(), 0) : 0;
    if (!sent_answers_ || !sent_answers_->Next(&said, &subject, left)) {
      if (!wait) return true;  // the rest later: at the next send, or at Settle
      Fail("the broker at '" + link_->url() + "' did not confirm that a producer of '" + stream_ + "' ended");
      return false;
    }
    const uint64_t put = std::strtoull(subject.c_str() + std::min(subject.size(), sent_inbox_.size()), nullptr, 10);
    sent_last_answered_ = std::max(sent_last_answered_, put);
    // A JetStream publish's answer: {"stream":...,"seq":...} or {"error":{...}}.
    const bool stored = said.find("\"error\"") == std::string::npos && said.find("\"seq\"") != std::string::npos;
    if (sent_ends_.erase(put) == 0) continue;  // periodic books: see above
    if (!stored) {
      Fail("cannot record that a producer of '" + stream_ + "' ended: " + said);
      return false;
    }
  }
  return true;
}

void NatsQueue::StartsFresh(int producer) {
  Books& books = *books_[static_cast<size_t>(producer)];
  std::lock_guard lock(books.mu);
  if (books.loaded) return;
  books.loaded = true;
  books.fresh = true;
}

ProducerProgress NatsQueue::PublishedBy(int producer) {
  Books& books = *books_[static_cast<size_t>(producer)];
  {
    // Asked of the producer itself (it pushed or ended here, or it is the
    // first to produce as `producer`): its own books, which the bucket's
    // are a little behind. Not waited for while a push holds them (a
    // test's consumer on the producer's queue).
    std::unique_lock lock(books.mu, std::try_to_lock);
    if (lock.owns_lock() && books.loaded && (books.saved_ms != 0 || books.fresh)) return books.progress;
  }
  ProducerProgress p;
  uint64_t messages = 0;
  std::string said;
  const natsStatus s = bucket_.Get(BooksKey(producer), &said);
  if (s == NATS_OK) ParseBooks(said.c_str(), &p, &messages);
  // What a producer's instance reads as it starts (ResumeSource,
  // RaiseFloorsFromBroker) is what its first Push would read again
  // (LoadBooks): kept, a round trip less before its first batch goes out
  // (a run's first records, and each hop of its end). Only an answer
  // counts ("no books yet" included), and only before any Push here.
  if (s == NATS_OK || s == NATS_NOT_FOUND) {
    std::unique_lock lock(books.mu, std::try_to_lock);
    if (lock.owns_lock() && !books.loaded) {
      books.progress = p;
      books.messages = messages;
      books.loaded = true;
    }
  }
  return p;
}

}  // namespace flow

#endif  // FLOWRUN_NATS
