// A run's place on a NATS JetStream broker (issue 8): the connection, the
// names, and the streams and key-value bucket that a run creates at its
// start and removes at its end.
//
// Names. Everything a run owns carries its run id, so that several runs
// share one broker without seeing each other's records:
//   bucket   flow_<run>             producer books, stop flags, heartbeat
//   stream   FLOW_<run>_E<edge>     one work-queue stream per edge, with
//   subjects flow.<run>.e<edge>.b   the batches (one durable pull consumer,
//                                   "takers", filtered on this subject)
//            flow.<run>.e<edge>.c.<token>.<i>  the pieces of large records
//                                   (no consumer: read by subject, purged
//                                   once their batch is acknowledged)
// A run id is 1 to 32 letters and digits (no '_': the names above split
// at the first one).
//
// Expiry. JetStream never deletes a stream by itself and a message age
// limit would drop records that merely wait long, so a run is kept alive
// by a heartbeat in its bucket (TouchNatsRun) and removed whole by whoever
// sweeps next (SweepStaleNatsRuns) once the heartbeat is older than the
// run's expiry: an origin that crashed leaves nothing for long. The same
// heartbeat tells a worker's part that its origin lives (a part whose
// origin stays silent for kOriginSilentMs ends: runtime/worker_daemon.cc).
//
// libnats starts threads and has no fork handlers: a process that forks
// workers makes no libnats call before the fork; each worker connects after.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nats/nats.h>

#include "runtime/broker_access.h"

namespace flow {

// The heartbeat's key in a run's bucket: its value is the run's expiry in
// ns (how long the run survives without a beat), put again at each beat.
inline constexpr const char* kNatsRunAliveKey = "run.alive";

struct NatsLinkOptions {
  BrokerAccess broker;  // the URL, credentials and TLS files
  std::string name = "flowrun";    // how the connection shows on the server
  int64_t connect_timeout_ms = 2000;
  // How long a call waits for a lost broker to come back before it fails
  // (never a hang): reconnection is attempted all that time.
  int64_t broker_wait_ms = 10000;
  int64_t api_wait_ms = 2000;  // one JetStream API request (info, key-value)
};

// One connection to the broker and its JetStream context. Thread-safe as
// libnats is; the queues of a process share one.
class NatsLink {
 public:
  // Null with `*error` set ("cannot reach the broker at 'nats://host:4222':
  // ...") when the broker does not answer within the connect timeout,
  // refuses the credentials, or a TLS file cannot be loaded. Never a
  // password, token or the contents of a file in the message.
  static std::unique_ptr<NatsLink> Connect(const NatsLinkOptions& options, std::string* error);
  ~NatsLink();  // flushes first: acknowledgements are buffered
  NatsLink(const NatsLink&) = delete;
  NatsLink& operator=(const NatsLink&) = delete;

  natsConnection* connection() const { return nc_; }
  jsCtx* js() const { return js_; }
  // The URL without user, password or token: for messages.
  const std::string& url() const { return shown_url_; }
  int64_t broker_wait_ms() const { return options_.broker_wait_ms; }
  int64_t api_wait_ms() const { return options_.api_wait_ms; }
  // The largest message the server takes (headers included).
  int64_t max_payload() const { return natsConnection_GetMaxPayload(nc_); }
  bool connected() const { return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED; }

  // How many messages this link has published so far (libnats counts each
  // as it goes into the outgoing buffer, under the connection's lock).
  uint64_t Published() const;
  // The broker answered a request that followed the first `published`
  // messages on this link: it has read them all (a connection's messages
  // are read in order). Kept as the highest such count.
  void NoteReadThrough(uint64_t published);
  // Whether the broker is known to have read every message published so
  // far: then a process about to exit needs no flush (a round trip, at
  // the end of each of 24 replicas on a loaded broker: 1-8 ms).
  bool AllPublishedRead() const { return Published() == read_through_.load(); }

  // The key-value bucket `name`, looked up once per link (a request to the
  // broker) and kept until the link goes; null with `*error` when missing.
  kvStore* Bucket(const std::string& name, std::string* error);

  // "what: the broker's or the library's reason", for a failed call.
  std::string Describe(const std::string& what, natsStatus status, jsErrCode code = static_cast<jsErrCode>(0)) const;

  // Unsubscribes `sub` and destroys it once libnats's reader thread can no
  // longer be using it. libnats 3.4.1 looks a subscription up under the
  // connection's lock, lets go of the lock, then locks the subscription to
  // deliver a message, without a reference of its own
  // (natsConn_processMsg): a subscription destroyed in that moment is used
  // after it was freed. Seen as an [ordered] replica killed by SIGSEGV in
  // the reader thread, whose turn subscription another thread had just
  // destroyed. The reader thread reads the connection in order, so once a
  // flush (a PING and its PONG) that began after the unsubscribe is over,
  // nothing it delivers can find `sub`: retired subscriptions are destroyed
  // after such a flush, kRetiredPerFlush at a time, and the rest once the
  // connection is closed (which joins the reader thread).
  void Retire(natsSubscription* sub);
  // The same for a key-value watcher (stopped now), whose subscription
  // libnats destroys with it.
  void Retire(kvWatcher* watcher);

 private:
  NatsLink(natsConnection* nc, jsCtx* js, const NatsLinkOptions& options);

  natsConnection* nc_;
  jsCtx* js_;
  NatsLinkOptions options_;
  std::string shown_url_;
  std::atomic<uint64_t> read_through_{0};  // NoteReadThrough
  std::mutex buckets_mu_;
  std::map<std::string, kvStore*> buckets_;  // under buckets_mu_
  static constexpr size_t kRetiredPerFlush = 32;
  std::mutex retired_mu_;
  // Under retired_mu_: what destroys each of the retired, unsubscribed
  // subscriptions and stopped watchers.
  std::vector<std::function<void()>> retired_;
  void AddRetired(std::function<void()> destroy);
};

// What JetStream holds for our account on the broker.
struct JetStreamAccount {
  int64_t streams = 0;
  int64_t consumers = 0;
  int64_t stored_bytes = 0;      // in file storage
  int64_t max_store_bytes = -1;  // -1: no limit
};
// One account-info request: false with `*error` ("JetStream is not
// enabled on the broker at 'nats://host:4222' (start nats-server with
// -js)") when JetStream does not answer.
bool GetJetStreamAccount(NatsLink& link, JetStreamAccount* account, std::string* error);
// What a JetStream request that failed (`what` says what it asked) tells
// the user: a broker whose JetStream is off, or off for our account, is
// told apart (the fix is on its command line, or in its accounts); else
// NatsLink::Describe.
std::string JetStreamApiError(const NatsLink& link, const std::string& what, natsStatus status,
                              jsErrCode code = static_cast<jsErrCode>(0));

// In a process about to fork workers that each open a NatsLink: does the
// part of libnats's first call that is safe to inherit (OpenSSL's set-up
// and its random generator's, about 1 ms a process, no thread), once, so
// that 24 workers do not each do it while a run starts. No libnats call.
void PrepareToForkLinks();

bool ValidRunId(std::string_view run);
// 16 random letters and digits.
std::string NewRunId();
std::string NatsBucketName(std::string_view run);
// The subject that key `key` of bucket `bucket` is stored under: "$KV.<bucket>.<key>".
std::string NatsKeySubject(std::string_view bucket, std::string_view key);
std::string NatsStreamName(std::string_view run, size_t edge);
std::string NatsSubjectPrefix(std::string_view run, size_t edge);  // "flow.<run>.e<edge>."
// Where a large record's pieces are (runtime/nats_queue.h): the run's
// bucket's stream, and their subjects there before "<record's id>.<k>".
std::string NatsPiecesStream(std::string_view run);                 // "KV_flow_<run>"
std::string NatsPiecesPrefix(std::string_view run, size_t edge);  // "$KV.flow_<run>.e<edge>.c."
inline constexpr const char* kNatsConsumerName = "takers";

struct NatsEdgeOptions {
  int64_t ack_wait_ns = 5'000'000'000;  // a lease not acknowledged by then goes to another consumer
  int64_t max_deliver = -1;             // deliveries of one batch at most; -1: no limit
  int64_t capacity_messages = 64;       // batches waiting in the edge before Push blocks
  // How long a re-published batch is recognised and dropped: longer than
  // a lease can take to come back after its holder died.
  int64_t duplicate_window_ns = 600'000'000'000;
};

// The run's bucket and first heartbeat; `expiry_ns` is how long the run
// survives without one. False with `*error` when the run exists already,
// the id is invalid or the broker has no JetStream.
bool CreateNatsRun(NatsLink& link, std::string_view run, int64_t expiry_ns, std::string* error);
// One edge's stream and its durable consumer.
bool AddNatsEdge(NatsLink& link, std::string_view run, size_t edge, const NatsEdgeOptions& options,
                 std::string* error);
bool TouchNatsRun(NatsLink& link, std::string_view run, std::string* error);
// The run is offered to the workers before its edges' streams are made:
// once they are, its keeper marks it made (a key of its bucket, then a core
// NATS message on "flow.<run>.made"), and each instance on a worker waits
// for that before it uses its edges (AwaitNatsRunMade: the message, or the
// key for one that listened late).
bool MarkNatsRunMade(NatsLink& link, std::string_view run, std::string* error);
bool AwaitNatsRunMade(NatsLink& link, std::string_view run, std::string* error);
// Every stream of the run, then its bucket (so a crash half-way leaves the
// bucket, and with it the heartbeat that lets a sweep finish the job).
// With `edges` (the run's edges on the broker, their streams E<edge>), the
// streams are not listed first: a request less at the end of every run.
bool RemoveNatsRun(NatsLink& link, std::string_view run, std::string* error,
                   const std::vector<size_t>* edges = nullptr);
// Only the streams of `edges`: at the end of a run that went through, while
// its bucket still takes what the workers' parts say.
bool RemoveNatsEdges(NatsLink& link, std::string_view run, const std::vector<size_t>& edges, std::string* error);
// Removes the runs whose heartbeat is older than their expiry, and streams
// left without a bucket. Returns how many runs it removed; -1 on error.
int SweepStaleNatsRuns(NatsLink& link, std::string* error);

}  // namespace flow
