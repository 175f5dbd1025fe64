// An edge of the stage graph on NATS JetStream (issue 8): the same Queue as
// the shared-memory one, for stage instances on several machines. The
// run's streams and bucket are made beforehand (runtime/nats_run.h); a
// NatsQueue is one process's end of one edge, on that process's link.
//
// Producer side. Push publishes a batch as one message (more when it is
// larger than the broker takes), encoded by columns: a 24-byte header
// (kind, count, origin), per record varints of nr and seq (as differences
// from the previous record's) and of the length, then the bytes, which a
// consumer's lease points into without a copy. Every message carries a
// message id that depends on what it holds, not on who sends it:
//   <run>.<edge>.b.o<origin>.<first seq>.<count>   records made from a lease
//   <run>.<edge>.b.p<producer>.<first seq>.<count> a source's (origin 0)
// so when a lease is redelivered and redone, by this replica or another on
// another machine, the copies of the batches that had gone out are dropped
// by the stream's duplicate window: exactly once, as the recovery book
// gives on one machine, provided the redo cuts its batches where the first
// attempt did (the worker's batch size must not depend on the machine).
// After a Push the producer's books (records, last nr and seq, origin,
// messages, ended) are written to its key in the run's bucket, at most
// every 200 ms and always at EndOfStream; PublishedBy reads them (a little
// behind is safe: what a replacement publishes again is dropped). A full edge refuses the publish; Push waits and
// tries again, looking at the edge's stop flag (Cancel, Close) meanwhile.
//
// Large records. A record too large for one message is published in
// pieces, keys of the run's bucket of their own ("e<edge>.c.<id>.<k>": no
// consumer reads them in order, the work queue would scatter them), then a
// small reference in the edge's stream. Whoever takes the reference reads
// the pieces by key and purges them after its Ack. A reference whose
// pieces are gone was acknowledged by an earlier holder: it is dropped.
// The edge's stream holds batches and references only, so a batch's
// stream sequence counts the batches before it: an [ordered] stage's
// position (runtime/broker_order_gate.h).
//
// Consumer side. Pop asks for up to fetch_batch messages at once (its own
// pull request, into an inbox of its own: see nats_queue_take.cc) and keeps
// the extra locally (sending InProgress for them when they wait half an ack
// wait); a lease is one message, its ticket the stream sequence (the same
// on every machine), its attempt the delivery count. Progress sends
// InProgress (the ack wait starts again; a redelivery still starts at the
// lease's first record: a message cannot be changed). Ack acknowledges and
// flushes. A consumer that dies, or hangs past the ack wait, loses its
// leases to the others.
//
// End of stream is state, not a marker (a marker in a work queue reaches
// one consumer): Pop returns kEnd when every producer's books say ended
// and then the consumer has nothing pending and nothing unacknowledged on
// any machine. The order of those two reads matters: a producer writes
// "ended" after its last publish was stored. Those reads are API requests,
// so a waiting consumer makes them after a producer's end signal (core
// NATS, to every consumer, which wakes it), and every poll_ms in case a
// signal was lost.
//
// Calls for one consumer index are serialised, but for Ack, Progress and
// AskAhead, which may come from another thread while that index's Pop
// waits (AcksDuringPop: a worker finishing its last lease while
// it takes the next); different indexes, and the producer side, may run on
// different threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime/hand_back_book.h"
#include "runtime/nats_run.h"
#include "runtime/nats_subscription.h"
#include "runtime/queue.h"
#include "runtime/run_bucket.h"

namespace flow {

struct NatsQueueOptions {
  std::string run;
  size_t edge = 0;
  int producers = 1;
  // The producers whose end the consumers wait for: the first ones; 0 for
  // all. Instances added to a running `* auto` stage (a worker that joined
  // the run) publish under the higher numbers, and their end is not waited
  // for: they publish a lease's outputs before they acknowledge it, so
  // once every first producer has ended (each after its input was drained:
  // nothing pending, nothing unacknowledged anywhere), what the added ones
  // make is on the edge already.
  int counted_producers = 0;
  int consumers = 1;
  int fetch_batch = 4;   // messages one fetch asks for
  int64_t poll_ms = 100;  // how often a blocked call looks at the stop flag and the end of stream
  // The edge consumer's ack wait, as AddNatsEdge made it; 0: asked of the
  // broker (a request more for each queue opened).
  int64_t ack_wait_ns = 0;
  // The input edge of this edge's producers, when they read that one edge
  // on the broker and publish only while they work on its leases (their
  // stage emits nothing at its end); -1 if not. Each of them publishes a
  // lease's outputs before it acknowledges the lease, so once that edge is
  // drained, everything they will ever publish here is here: a consumer
  // that hears so (its drained signal) looks at the end of stream at once,
  // without waiting for each producer to say it ended (24 replicas ending
  // together took a run's last 10 ms).
  int64_t upstream_edge = -1;
  // Where this process notes the batches it fetched until it answers them,
  // for whoever outlives it to hand them back (runtime/hand_back_book.h);
  // the empty page notes nothing.
  HandBackPage hand_back;
};

class NatsQueue final : public Queue {
 public:
  // Null with `*error` set when the edge's stream or the run's bucket is
  // not on the broker.
  static std::unique_ptr<NatsQueue> Open(std::shared_ptr<NatsLink> link, const NatsQueueOptions& options,
                                         std::string* error);
  // Leases still held and batches fetched but not handed out are given
  // back at once (not after the ack wait): Settle(true), then the
  // subscriptions are freed.
  ~NatsQueue() override;
  // What the queue owes the broker before it goes: batches fetched and not
  // begun handed back, held ones handed back (or terminated: GiveUpHeld),
  // books written, subscriptions ended; the caller then flushes the link
  // (once for all the queues on it: a round trip each). Frees
  // nothing libnats may still touch. With `callbacks_must_end`, waits for
  // the end signals' callback to be over (the destructor then frees what
  // it uses); without, a process about to exit calls it and never destroys
  // the queue (BrokerEdges::SettleForExit says why). Once only.
  void Settle(bool callbacks_must_end);
  // This process is about to be killed (its worker stops: HandBackBook::
  // AskToLeave): what the inboxes hold is moved to the buffer, so noted in
  // NatsQueueOptions::hand_back, and no pull request goes out any more.
  // From any thread; a Pop waiting on an inbox notes what it gets itself.
  void Leave();
  NatsQueue(const NatsQueue&) = delete;
  NatsQueue& operator=(const NatsQueue&) = delete;

  int64_t upstream_edge() const { return options_.upstream_edge; }
  int producers() const override { return options_.producers; }
  int consumers() const override { return options_.consumers; }
  QueueStatus Push(int producer, const RecordBatch& batch) override;
  void EndOfStream(int producer) override;
  ProducerProgress PublishedBy(int producer) override;
  // `output`, an edge this process produces to, ends on this one's drain
  // (its NatsQueueOptions::upstream_edge is this edge). When this queue
  // finds its edge drained, it first looks whether `output` is drained
  // too, and says so if it is: the word then reaches the stage after it
  // before the replicas that hear this edge's word end all at once, whose
  // ending loads the broker (its consumer's own look, made as it hears
  // this word, was answered 2-8 ms later at a whois run's end).
  void AlsoSayDrainedOf(NatsQueue* output) { outputs_ending_here_.push_back(output); }
  // This process is the first to produce as `producer` in this run (not
  // a replacement): it has no books to read, a request less at its start
  // (RaiseFloorsFromBroker, ResumeSource) or at its first Push.
  void StartsFresh(int producer);
  // From now on EndOfStream sends the books that say "ended" without
  // waiting for the broker to store them; Settle waits for its answers, and
  // the queue fails (error()) if one is missing or says no. For a worker
  // about to exit: its end is a round trip shorter (24 replicas ending at
  // once on a loaded broker waited 1-9 ms each), and Settle's wait
  // overlaps the rest of its goodbye.
  void ConfirmEndsAtSettle() { confirm_ends_at_settle_ = true; }
  QueueStatus Pop(int consumer, Lease* lease, PopMode mode) override;
  void Progress(int consumer, const Lease& lease, size_t finished) override;
  void Ack(int consumer, Lease* lease) override;
  // A pull request for the next batch, when none is out and none is here:
  // it is answered while the lease's outputs are published and it is acked
  // (a round trip less per lease of a slow stage, one record each).
  void AskAhead(int consumer) override;
  // The same, from the heartbeat thread `us` from now (it wakes for it),
  // unless a request went out meanwhile.
  void AskAheadIn(int consumer, int64_t us) override;
  // Looks at what the consumer's requests brought (its inbox too).
  bool HoldsEarlier(int consumer, uint64_t ticket) override;
  // Both flags live in the run's bucket, and a signal (core NATS,
  // "flow.<run>.e<edge>.s.stop") tells every queue of the edge on every
  // machine to look now; without one (lost with a connection), the bucket
  // is read every kStopLookMs, and a poll_ms after the queue opened.
  void Cancel() override;
  void Close() override;

  // Why calls return kClosed when nobody closed the queue (the broker lost
  // for longer than its wait, a message that is not a batch); "" if not.
  std::string error() const;
  std::string Failure() const override { return error(); }
  // Stops keeping the batches this process holds alive, as its death
  // would: they go to another consumer after their ack wait. (The tests
  // play a dead consumer this way; the destructor calls it.)
  void StopHeartbeat();
  bool MarksRedeliveries() const override { return false; }
  // Pop lets go of its consumer while it waits for batches.
  bool AcksDuringPop() const override { return true; }
  // This process fails the run (a record error with on_error = fail, or
  // any other reason it exits 1): the batches it holds are not handed back
  // at its end but terminated, so that no sibling runs them again (an
  // exec's command twice) while the run stops. Batches it has fetched and
  // not begun are handed back as ever.
  // It also says so in the run's bucket, before anything it held is
  // terminated: an edge it produced to must not end on its input's drain
  // alone (NatsQueueOptions::upstream_edge), for that input no longer
  // holds what it dropped.
  void GiveUpHeld();
  // Tests only: the next acknowledgement is noted as sent but not sent, as
  // one written to a connection just as it broke would be lost.
  void LoseNextAckForTests() { lose_next_ack_ = true; }
  // How long a batch taken and not acknowledged stays with its holder.
  int64_t ack_wait_ms() const { return ack_wait_ms_; }
  // True once the edge was cancelled or closed, here or (seen every
  // poll_ms) on another machine, or failed.
  bool Stopping() {
    QueueStatus status;
    return Stopped(&status);
  }

 private:
  struct Taker;
  struct Books;
  struct Held;
  struct Wakes;
  NatsQueue(std::shared_ptr<NatsLink> link, const NatsQueueOptions& options, int64_t ack_wait_ms);

  QueueStatus PublishRun(int producer, const RecordBatch& batch, size_t i, size_t j);
  QueueStatus PublishLarge(int producer, const RecordBatch& batch, size_t i);
  QueueStatus Publish(const std::string& subject, std::string_view data, const std::string& id);
  bool IsLarge(const RecordBatch& batch, size_t i) const;
  size_t RunEnd(const RecordBatch& batch, size_t i) const;
  std::string MessageId(const RecordBatch& batch, int producer, size_t i, size_t count) const;
  std::string BooksKey(int producer) const;  // "e<edge>.p<producer>"
  Books& LoadBooks(int producer);
  bool SaveBooks(int producer, Books& books);
  // SaveBooks without the wait (ConfirmEndsAtSettle); false if not sent.
  // `end`: the books say the producer ended, and their answer is waited
  // for at Settle.
  bool SendBooks(int producer, Books& books, bool end);
  // Waits for the answers to SendBooks.
  void ConfirmSentBooks();
  // Reads the answers to SendBooks: those already here only, unless
  // `wait`, which waits for those of the ends. The Locked one (under
  // sent_mu_) returns false, the queue failed, if an end's was refused or,
  // waited for, did not come.
  void ReadSentAnswers(bool wait);
  bool ReadSentAnswersLocked(bool wait);

  QueueStatus Subscribe(Taker& t);
  natsStatus RequestPull(Taker& t);
  // `held`, when given, is the taker's lock, let go while waiting.
  void Collect(Taker& t, int64_t wait_ms, bool* refused = nullptr, std::unique_lock<std::mutex>* held = nullptr);
  void Respond(natsMsg* msg, const char* word) const;
  // Respond, for a batch noted in NatsQueueOptions::hand_back: its note is
  // forgotten first (a dying holder's note must never outlive an answer).
  void Answer(natsMsg* msg, int note, const char* word) const;
  bool AckSync(natsMsg* msg) const;
  uint64_t Reconnects() const;
  enum class Taken { kLease, kStale, kBroken };
  // `touched_ms`: a time before `msg`'s ack wait began (0: not known);
  // `note`: its note in NatsQueueOptions::hand_back.
  Taken Take(Taker& t, natsMsg* msg, int64_t touched_ms, int note, Lease* lease);
  Taken ReadPieces(const std::string& token, uint32_t pieces, std::string* bytes);
  void KeepBuffered(Taker& t);
  void KeepHeld(Taker& t);
  void KeepAlive(natsMsg* msg, int64_t* touched_ms, int64_t now) const;
  void StartHeartbeat();
  void Heartbeat();
  bool AllProducersEnded();
  bool ProducersKnownEnded();  // from what AllProducersEnded saw: no request
  // upstream_edge was drained (its signal heard) and no producer of this
  // edge failed (GiveUpHeld): a look at the bucket, the first time.
  bool UpstreamDrained();
  // The upstream's drain was heard, and the bucket not yet read about it.
  bool UpstreamVerdictDue();
  // Then: whether a producer failed (UpstreamDrained) and whether this
  // edge is drained (Drained) are asked at once, not in a row (the two
  // round trips took 10 ms at the end of a whois run, as its 24 replicas
  // exited); true when the edge has ended. A producer that fails says so
  // in the bucket before it hands back what it held, so both reads come
  // after that put, whatever their order.
  bool EndsOnUpstreamDrain(uint64_t* pending);
  // Drained(true) and `none_failed` (whether no producer of the edge
  // failed), asked at once: the one on a thread of its own.
  bool DrainedAndNoneFailed(const std::function<bool()>& none_failed, uint64_t* pending);
  // The same look, on a thread the heartbeat starts as soon as the
  // upstream's drained word is heard, while the wake it relays travels through the
  // broker to the waiting Pop (1.5-3.3 ms at a whois run's end, as its 24
  // replicas exited). An edge found drained is then as one a sibling said
  // drained: Pop returns kEnd as it wakes, or waits for the look still
  // going (early_look_mu_) instead of asking again.
  void LookAtEndEarly();
  // Once LookAtEndEarly is over, if it was looking: whether the edge has
  // ended (the early look's, or a sibling's drained word).
  bool EarlyLookFoundEnd();
  // Consumer info: the batches not yet delivered, and whether the edge is
  // drained (every producer ended, nothing pending or unacknowledged).
  bool Drained(bool producers_ended, uint64_t* pending);
  void SayDrained();
  static void CloseInboxes(Wakes* wakes);
  // For an edge that ends on its upstream's drain, looked at by a process
  // that found the upstream drained (AlsoSayDrainedOf): whether no producer
  // failed and the edge is drained; says so if it is.
  void SayDrainedIfDrained();

  bool Stopped(QueueStatus* status);
  // Subscribes to the edge's signals once: a consumer to both (ends and
  // stops), a producer to stops only. True when a consumer's subscription
  // was made by this call. Signals unheard are looked for anyway.
  bool ListenToSignals(bool consumer);
  bool BrokerAway(natsStatus s) const;
  bool Troubled(int64_t* since_ms, bool trouble);
  bool AwaitBroker();
  QueueStatus Fail(const std::string& message);

  std::shared_ptr<NatsLink> link_;
  NatsQueueOptions options_;
  RunBucket bucket_;  // the run's (NatsBucketName)
  int64_t ack_wait_ms_;
  std::string stream_;
  std::string prefix_;    // "flow.<run>.e<edge>."
  std::string pieces_stream_;   // the run's bucket's stream, where large records' pieces are
  std::string pieces_prefix_;   // "$KV.<bucket>.e<edge>.c.": a piece's subject there, less its id
  std::string stop_key_;  // "e<edge>.stop": "cancelled" or "closed"
  std::string failed_key_;  // "e<edge>.failed": a producer of the edge failed (GiveUpHeld)
  int64_t limit_;         // the largest message we make: the broker's maximum, less room for headers
  std::vector<std::unique_ptr<Books>> books_;
  std::vector<std::unique_ptr<Taker>> takers_;
  std::vector<bool> ended_seen_;  // producers known to have ended (for good); under ended_mu_
  std::mutex ended_mu_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> closed_{false};
  std::atomic<bool> give_up_held_{false};
  std::atomic<bool> leaving_{false};  // Leave
  bool confirm_ends_at_settle_ = false;
  std::mutex sent_mu_;
  // "<inbox>.": where the broker answers SendBooks, the put's number after it; under sent_mu_.
  std::string sent_inbox_;
  std::unique_ptr<NatsSubscription> sent_answers_;  // under sent_mu_
  uint64_t sent_puts_ = 0;                           // SendBooks's puts so far, under sent_mu_
  uint64_t sent_last_answered_ = 0;                  // the latest put answered, under sent_mu_
  std::set<uint64_t> sent_ends_;                     // the puts of ends not yet answered, under sent_mu_
  uint64_t sent_read_through_ = 0;  // under sent_mu_: the link's count with the last books sent (NoteReadThrough)
  int upstream_verdict_ = 0;  // UpstreamDrained: 0 not yet known, 1 drained, -1 a producer failed; under end_mu_
  // The acknowledgements of the last leases (their reply subjects), sent
  // again after the link reconnects. One written to a connection just as
  // it broke (the broker restarting) is lost: its batch would come back an
  // ack wait later and be done again, and what that publishes again is not
  // always dropped as a duplicate (a restarted broker knows the message
  // ids of the messages it still stores only, and a work queue's consumed
  // ones are gone). An ack sent twice does nothing.
  void NoteAck(const char* reply);
  void AckAgainAfterReconnect();
  std::mutex acks_mu_;
  std::deque<std::string> recent_acks_;  // under acks_mu_
  uint64_t acks_reconnects_ = 0;         // under acks_mu_: Reconnects() when last sent again
  bool lose_next_ack_ = false;           // tests: see LoseNextAckForTests
  std::atomic<int64_t> stop_checked_ms_{0};
  std::atomic<bool> stop_looked_{false};     // the bucket was read once since the queue opened
  std::atomic<uint64_t> stops_seen_{0};      // Wakes::stops when the bucket was last read
  // When the looks at the stop flag began to go unanswered (0: the last
  // was answered). A broker that stops answering while the connection
  // stays up (stalled, or SIGSTOPped) breaks no connection, so nothing
  // else would ever end the wait.
  std::atomic<int64_t> unanswered_since_ms_{0};
  mutable std::mutex error_mu_;
  std::string error_;
  // Keeps every batch this process holds alive on the broker (InProgress)
  // while its consumer is busy or blocked, so that a record slower than the
  // ack wait, or a push waiting on a full edge, does not hand the batch to
  // another replica too (its side effects would happen twice). Started at
  // the first Pop; a dead process stops it, and its batches come back.
  // Signals (core NATS, "flow.<run>.e<edge>.s.<what>"): each producer's
  // EndOfStream sends "s.end", and a waiting consumer then looks at the
  // end of stream at once; Cancel and Close send "s.stop". One
  // subscription a queue: a consumer's takes both, a producer's stops.
  static void OnSignal(natsConnection*, natsSubscription*, natsMsg* msg, void* closure);
  std::mutex end_mu_;
  natsSubscription* end_sub_ = nullptr;   // a consumer's ("s.*"), under end_mu_
  natsSubscription* upstream_sub_ = nullptr;  // a consumer's, of upstream_edge's end signal, under end_mu_
  natsSubscription* stop_sub_ = nullptr;  // a producer's ("s.stop") when it has no end_sub_, under end_mu_
  std::atomic<bool> listening_{false};    // to stops: the flag is read every kStopLookMs, not poll_ms
  // Listening to the end signals since the first Subscribe: the books of
  // producers that ended before are still to be read once (Pop).
  std::atomic<bool> books_unread_{false};
  std::unique_ptr<Wakes> wakes_;
  // StopHeartbeat without the wait for the thread to end: for a process
  // about to exit, whose heartbeat thread, woken on a loaded machine, took
  // 0.6 ms (median) to be scheduled and end, at the end of each replica.
  void AskHeartbeatToStop();
  std::once_flag heartbeat_started_;
  std::thread heartbeat_;
  std::mutex heartbeat_mu_;
  std::condition_variable heartbeat_cv_;
  bool heartbeat_stop_ = false;  // under heartbeat_mu_
  bool early_look_due_ = false;  // under heartbeat_mu_: LookAtEndEarly, asked by OnSignal
  // Sends the asks ahead that are due (AskAheadIn). The heartbeat finds
  // when the next one is due itself, with AskDueUs, before it waits.
  void SendAsksDue();
  // When `t`'s ask ahead should go (NowUs), 0 if none is wanted: not before
  // its retry, if the heartbeat found the taker busy.
  static int64_t AskDueUs(const Taker& t);
  // Moves into the buffer, so notes (NatsQueueOptions::hand_back), what the
  // asks ahead brought, as it comes: see NoteAnswersDue in
  // nats_queue_take.cc. The heartbeat finds when it is next due with
  // Taker::look_at_us.
  void NoteAnswersDue();
  std::mutex early_look_mu_;     // held by LookAtEndEarly and EndsOnUpstreamDrain
  std::thread early_look_;       // LookAtEndEarly's, started by the heartbeat, joined after it
  std::vector<NatsQueue*> outputs_ending_here_;  // AlsoSayDrainedOf; set before the first Pop
  bool settled_ = false;         // Settle ran
};

}  // namespace flow
