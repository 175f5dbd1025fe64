// Built only with libnats (the build defines FLOWRUN_NATS when pkg-config
// finds it): without it the runtime still builds, with local queues only.
#ifdef FLOWRUN_NATS

#include "runtime/nats_run.h"

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>
#include <random>
#include <thread>
#include <vector>

#include "runtime/nats_subscription.h"
#include "runtime/nkey_seed.h"
#include "runtime/quiet_thread.h"
#include "runtime/run_bucket.h"

namespace flow {
namespace {

// A run whose bucket has no heartbeat yet is being created: left alone for
// this long.
constexpr int64_t kCreationGraceNs = 60'000'000'000;

// Our own values, but a bucket is open to anyone on the broker: garbage
// reads as 0 rather than throwing.
int64_t ToInt64(const char* text) { return text != nullptr ? std::strtoll(text, nullptr, 10) : 0; }

int64_t WallNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The library's last error without its "(file.c:123): " prefix, lower-cased
// at the start like our own messages.
std::string Reason(natsStatus status) {
  std::string text = nats_GetLastError(nullptr) != nullptr ? nats_GetLastError(nullptr) : "";
  if (!text.empty() && text[0] == '(') {
    const size_t close = text.find("): ");
    if (close != std::string::npos) text.erase(0, close + 3);
  }
  // A system error the library did not name ("... '/x': (null)").
  if (text.size() > 8 && text.compare(text.size() - 8, 8, ": (null)") == 0) text.resize(text.size() - 8);
  if (text.empty()) text = natsStatus_GetText(status);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z' && (text.size() < 2 || text[1] > 'Z')) text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text;
}

// Stream names, closed over a run: one request, freed here.
std::vector<std::string> StreamNames(NatsLink& link, natsStatus* status, jsErrCode* code) {
  jsStreamNamesList* list = nullptr;
  std::vector<std::string> names;
  *status = js_StreamNames(&list, link.js(), nullptr, code);
  if (*status == NATS_NOT_FOUND) *status = NATS_OK;  // no stream at all
  if (list != nullptr) {
    for (int i = 0; i < list->Count; ++i) names.emplace_back(list->List[i]);
    jsStreamNamesList_Destroy(list);
  }
  return names;
}

// A broker without JetStream is told apart: the fix is on its command line.
std::string JetStreamNotEnabled(const std::string& shown_url) {
  return "JetStream is not enabled on the broker at '" + shown_url + "' (start nats-server with -js)";
}

// The library's reason about `path` without its own mention of the file
// ("error loading trusted certificates 'ca.pem': no certificate found"
// reads "no certificate found"): our message names the file already.
std::string ReasonAbout(const std::string& path, natsStatus status) {
  std::string text = Reason(status);
  const std::string quoted = "'" + path + "'";
  const size_t at = text.find(quoted + ": ");
  if (at != std::string::npos) return text.substr(at + quoted.size() + 2);
  if (text.size() > quoted.size() + 4 && text.compare(text.size() - quoted.size() - 4, std::string::npos,
                                                      " in " + quoted) == 0)
    text.resize(text.size() - quoted.size() - 4);  // "no nkey user seed found in 'x.creds'"
  return text;
}

// The library's options for `broker`; false with `*error` naming the
// option or file that it refused.
bool SetAccess(natsOptions* opts, const BrokerAccess& broker, std::string* error) {
  natsStatus s = natsOptions_SetURL(opts, broker.url.c_str());
  if (s != NATS_OK) {
    *error = "invalid broker URL '" + RedactedUrl(broker.url) + "': " + Reason(s);
    return false;
  }
  if (!broker.creds_file.empty()) {
    // The library reads the file when it connects, and again on every
    // reconnection: a rotated file is picked up.
    s = natsOptions_SetUserCredentialsFromFiles(opts, broker.creds_file.c_str(), nullptr);
    if (s != NATS_OK) {
      *error = "cannot use the credentials file '" + broker.creds_file + "': " + Reason(s);
      return false;
    }
  }
  if (!broker.nkey_file.empty()) {
    // The library signs the server's nonce with the seed it reads from the
    // file at each connection; the public key it also wants is derived here.
    const std::string public_key = NKeyUserPublicKeyOfFile(broker.nkey_file, error);
    if (public_key.empty()) return false;
    s = natsOptions_SetNKeyFromSeed(opts, public_key.c_str(), broker.nkey_file.c_str());
    if (s != NATS_OK) {
      *error = "cannot use the NKey seed file '" + broker.nkey_file + "': " + Reason(s);
      return false;
    }
  }
  if (!broker.tls()) return true;
  s = natsOptions_SetSecure(opts, true);
  if (s != NATS_OK) {
    *error = "cannot use TLS for the broker: " + Reason(s);
    return false;
  }
  if (!broker.tls_ca_file.empty()) {
    s = natsOptions_LoadCATrustedCertificates(opts, broker.tls_ca_file.c_str());
    if (s != NATS_OK) {
      *error = "cannot load the TLS CA file '" + broker.tls_ca_file + "': " + ReasonAbout(broker.tls_ca_file, s);
      return false;
    }
  }
  if (!broker.tls_cert_file.empty() || !broker.tls_key_file.empty()) {
    s = natsOptions_LoadCertificatesChain(opts, broker.tls_cert_file.c_str(), broker.tls_key_file.c_str());
    if (s != NATS_OK) {
      *error = "cannot load the TLS certificate '" + broker.tls_cert_file + "' and key '" + broker.tls_key_file +
               "': " + Reason(s);
      return false;
    }
  }
  return true;
}

// Why a connection failed, in the user's terms: refused credentials or an
// unusable credentials file are not an absent broker.
std::string ConnectError(const BrokerAccess& broker, natsStatus s) {
  const std::string url = RedactedUrl(broker.url);
  if (s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED) {
    if (broker.has_credentials())
      return "the broker at '" + url + "' refused the credentials (authorization violation)";
    return "the broker at '" + url + "' wants credentials (authorization violation): give them in the URL " +
           "(nats://USER:PASSWORD@HOST:PORT, nats://TOKEN@HOST:PORT) or with --nats-creds FILE";
  }
  const std::string reason = Reason(s);
  if (!broker.creds_file.empty() && reason.find("'" + broker.creds_file + "'") != std::string::npos)
    return "cannot use the credentials file '" + broker.creds_file + "': " + ReasonAbout(broker.creds_file, s);
  std::string text = "cannot reach the broker at '" + url + "': " + reason;
  if (s == NATS_SECURE_CONNECTION_WANTED)
    text += " (TLS was asked for, by a tls:// URL or --nats-tls-*, and the server does not offer it)";
  else if (reason.find("SSL handshake") != std::string::npos && broker.tls_ca_file.empty())
    text += " (give the CA that signed the server's certificate with --nats-tls-ca)";
  else if (broker.tls() && broker.tls_cert_file.empty() && reason.find("expected 'PONG'") != std::string::npos)
    text += " (does the server want a client certificate? --nats-tls-cert and --nats-tls-key)";
  return text;
}

// A server just started may fail to make an account's first stores:
// nats-server 2.9.10 in operator mode logged "could not create storage
// directory ... no such file or directory" for a run's bucket made 0.2 s
// after it started (about once in 100 runs on a loaded machine), and told
// the client "error creating store for stream". A moment later it
// succeeds: tried again kStoreTries times, kStoreRetryMs apart (a real
// failure, a full disk, still fails, that much later).
constexpr int kStoreTries = 5;
constexpr int64_t kStoreRetryMs = 50;
template <typename Make>
natsStatus MakeStore(Make make) {
  natsStatus s = make();
  for (int tried = 1; tried < kStoreTries && s != NATS_OK; ++tried) {
    const char* last = nats_GetLastError(nullptr);
    if (last == nullptr || std::strstr(last, "error creating store") == nullptr) break;
    nats_Sleep(kStoreRetryMs);
    s = make();
  }
  return s;
}

bool PutAlive(NatsLink& link, kvStore* kv, int64_t expiry_ns, std::string* error) {
  const std::string value = std::to_string(expiry_ns);
  natsStatus s = kvStore_PutString(nullptr, kv, kNatsRunAliveKey, value.c_str());
  if (s != NATS_OK) *error = link.Describe("cannot write the run's heartbeat", s);
  return s == NATS_OK;
}

}  // namespace

std::string JetStreamApiError(const NatsLink& link, const std::string& what, natsStatus status, jsErrCode code) {
  if (status == NATS_NO_RESPONDERS || code == JSNotEnabledErr) return JetStreamNotEnabled(link.url());
  if (code == JSNotEnabledForAccountErr)
    return "JetStream is not enabled for our account on the broker at '" + link.url() + "' (see its account limits)";
  return link.Describe(what, status, code);
}

NatsLink::NatsLink(natsConnection* nc, jsCtx* js, const NatsLinkOptions& options)
    : nc_(nc), js_(js), options_(options), shown_url_(RedactedUrl(options.broker.url)) {}

std::unique_ptr<NatsLink> NatsLink::Connect(const NatsLinkOptions& options, std::string* error) {
  // Before any other call opens the library with its default: a lock that
  // is taken spins up to 2,000 times before it sleeps. Our processes
  // outnumber the cores (24 replicas on 2), so the holder is often not
  // running and the spin is wasted: 5% of a whois replica's CPU, 11% of a
  // source's (perf, bench/broker_ab.py). Already open: nothing changes.
  (void)nats_Open(0);
  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s != NATS_OK) {
    *error = "cannot use the NATS library: " + Reason(s);
    return nullptr;
  }
  std::string refused;
  if (!SetAccess(opts, options.broker, &refused)) {
    natsOptions_Destroy(opts);
    *error = WithoutSecrets(refused, options.broker);
    return nullptr;
  }
  s = natsOptions_SetName(opts, options.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, options.connect_timeout_ms);
  // Reconnection never gives up by itself: each call bounds its own wait
  // by broker_wait_ms and fails with a message naming the broker.
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
  // What we publish without waiting for an answer (pull requests, acks,
  // InProgress, end signals and their relays, [ordered] turns) goes to the
  // socket at once. Left to libnats's flusher thread, each waits for it to
  // wake and then up to 1 ms more "to accumulate more requests": a
  // millisecond on every pull and every turn, where our messages are few
  // (one per batch) and each is waited for by someone. Requests (js_Publish,
  // key-value, API) are sent at once either way.
  if (s == NATS_OK) s = natsOptions_SetSendAsap(opts, true);
  if (s == NATS_OK) s = natsConnection_Connect(&nc, opts);
  // A refusal is tried twice more, a moment apart: once, on an ASan build
  // of a loaded 2-core machine, one of three workers connecting at once
  // with the same credentials file was refused while its siblings got in.
  // Wrong credentials still fail, 0.2 s later.
  for (int again = 0; again < 2 && (s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED); ++again) {
    nats_Sleep(100);
    s = natsConnection_Connect(&nc, opts);
  }
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    *error = WithoutSecrets(ConnectError(options.broker, s), options.broker);
    return nullptr;
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = options.api_wait_ms;
  jsCtx* js = nullptr;
  s = natsConnection_JetStream(&js, nc, &jo);
  if (s != NATS_OK) {
    *error = WithoutSecrets("cannot use JetStream at '" + RedactedUrl(options.broker.url) + "': " + Reason(s),
                            options.broker);
    natsConnection_Destroy(nc);
    return nullptr;
  }
  return std::unique_ptr<NatsLink>(new NatsLink(nc, js, options));
}

NatsLink::~NatsLink() {
  if (connected()) natsConnection_FlushTimeout(nc_, options_.api_wait_ms);
  for (auto& [name, kv] : buckets_) kvStore_Destroy(kv);
  jsCtx_Destroy(js_);
  // Closed first: its reader thread is joined, and the retired
  // subscriptions can go (Retire says why not before).
  natsConnection_Close(nc_);
  for (auto& destroy : retired_) destroy();
  natsConnection_Destroy(nc_);
}

void NatsLink::Retire(natsSubscription* sub) {
  if (natsSubscription_IsValid(sub)) natsSubscription_Unsubscribe(sub);
  AddRetired([sub] { natsSubscription_Destroy(sub); });
}

void NatsLink::Retire(kvWatcher* watcher) {
  kvWatcher_Stop(watcher);
  AddRetired([watcher] { kvWatcher_Destroy(watcher); });
}

void NatsLink::AddRetired(std::function<void()> destroy) {
  std::vector<std::function<void()>> due;
  {
    std::lock_guard lock(retired_mu_);
    retired_.push_back(std::move(destroy));
    if (retired_.size() < kRetiredPerFlush) return;
    due.swap(retired_);
  }
  // A round trip every kRetiredPerFlush (an [ordered] stage retires a
  // subscription per position), on the thread that retires the last.
  if (connected() && natsConnection_FlushTimeout(nc_, options_.api_wait_ms) == NATS_OK) {
    for (auto& destroy_now : due) destroy_now();
    return;
  }
  // No flush went through: kept until the connection closes.
  std::lock_guard lock(retired_mu_);
  for (auto& later : due) retired_.push_back(std::move(later));
}

uint64_t NatsLink::Published() const {
  natsStatistics* stats = nullptr;
  uint64_t published = 0;
  if (natsStatistics_Create(&stats) == NATS_OK && natsConnection_GetStats(nc_, stats) == NATS_OK)
    natsStatistics_GetCounts(stats, nullptr, nullptr, &published, nullptr, nullptr);
  natsStatistics_Destroy(stats);
  return published;
}

void NatsLink::NoteReadThrough(uint64_t published) {
  uint64_t seen = read_through_.load();
  while (seen < published && !read_through_.compare_exchange_weak(seen, published)) {
  }
}

kvStore* NatsLink::Bucket(const std::string& name, std::string* error) {
  std::lock_guard lock(buckets_mu_);
  auto it = buckets_.find(name);
  if (it != buckets_.end()) return it->second;
  kvStore* kv = nullptr;
  // A broker away for a moment (restarting, or the connection being made
  // again) is waited for, up to the link's wait, as every call on it is.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.broker_wait_ms);
  for (;;) {
    const natsStatus s = js_KeyValue(&kv, js_, name.c_str());
    if (s == NATS_OK) break;
    const bool away = !connected() || s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS;
    if (!away || std::chrono::steady_clock::now() > deadline) {
      *error = Describe("no bucket '" + name + "'", s);
      return nullptr;
    }
    nats_Sleep(25);
  }
  buckets_[name] = kv;
  return kv;
}

std::string NatsLink::Describe(const std::string& what, natsStatus status, jsErrCode code) const {
  std::string text = what + ": ";
  if (!connected()) return text + "lost the broker at '" + shown_url_ + "'";
  text += Reason(status);
  if (code != 0) text += " (jetstream error " + std::to_string(static_cast<int>(code)) + ")";
  // What the broker's terse reason means to the user, and what to change.
  if (code == JSInsufficientResourcesErr || code == JSStorageResourcesExceededErr)
    text += ": the broker's JetStream storage is full (its max_file_store, or the account's limit)";
  return text;
}

bool GetJetStreamAccount(NatsLink& link, JetStreamAccount* account, std::string* error) {
  jsAccountInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetAccountInfo(&info, link.js(), nullptr, &code);
  if (s != NATS_OK) {
    *error = JetStreamApiError(link, "cannot read the JetStream account", s, code);
    return false;
  }
  account->streams = info->Streams;
  account->consumers = info->Consumers;
  account->stored_bytes = static_cast<int64_t>(info->Store);
  account->max_store_bytes = info->Limits.MaxStore;
  jsAccountInfo_Destroy(info);
  return true;
}

void PrepareToForkLinks() {
  OPENSSL_init_ssl(0, nullptr);
  // libnats seeds its inbox names from OpenSSL's random generator, whose
  // first use sets it up (fetching its methods by name: 0.6 ms a process,
  // measured with 300 forks each making a connection). Set up here, it is
  // inherited; OpenSSL reseeds it in each child (it sees the fork), so no
  // two children draw the same numbers.
  unsigned char seed_use[8];
  RAND_bytes(seed_use, sizeof seed_use);
}

bool ValidRunId(std::string_view run) {
  if (run.empty() || run.size() > 32) return false;
  for (char c : run) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string NewRunId() {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device device;
  std::mt19937_64 random(device() ^ static_cast<uint64_t>(WallNanos()));
  std::string id;
  for (int i = 0; i < 16; ++i) id += kAlphabet[random() % 36];
  return id;
}

std::string NatsBucketName(std::string_view run) { return "flow_" + std::string(run); }

std::string NatsKeySubject(std::string_view bucket, std::string_view key) {
  return "$KV." + std::string(bucket) + "." + std::string(key);
}
std::string NatsStreamName(std::string_view run, size_t edge) {
  return "FLOW_" + std::string(run) + "_E" + std::to_string(edge);
}
std::string NatsSubjectPrefix(std::string_view run, size_t edge) {
  return "flow." + std::string(run) + ".e" + std::to_string(edge) + ".";
}
std::string NatsPiecesStream(std::string_view run) { return "KV_" + NatsBucketName(run); }
std::string NatsPiecesPrefix(std::string_view run, size_t edge) {
  return NatsKeySubject(NatsBucketName(run), "e" + std::to_string(edge) + ".c.");
}

bool CreateNatsRun(NatsLink& link, std::string_view run, int64_t expiry_ns, std::string* error) {
  if (!ValidRunId(run)) {
    *error = "invalid run id '" + std::string(run) + "' (1 to 32 letters and digits)";
    return false;
  }
  const std::string bucket = NatsBucketName(run);
  kvStore* kv = nullptr;
  kvConfig cfg;
  kvConfig_Init(&cfg);
  cfg.Bucket = bucket.c_str();
  cfg.History = 1;
  cfg.StorageType = js_FileStorage;
  natsStatus s = MakeStore([&] { return js_CreateKeyValue(&kv, link.js(), &cfg); });
  if (s != NATS_OK) {
    *error = JetStreamApiError(link, "cannot create the bucket '" + bucket + "'", s, static_cast<jsErrCode>(0));
    return false;
  }
  // Made, or there already with the same settings (the broker says yes to
  // both; not asked first, a round trip before every run is offered): a
  // run's bucket holds its heartbeat from the start, so a heartbeat that
  // cannot be created says the run was there.
  const std::string value = std::to_string(expiry_ns);
  const natsStatus put = kvStore_CreateString(nullptr, kv, kNatsRunAliveKey, value.c_str());
  if (put != NATS_OK) {
    kvEntry* entry = nullptr;
    const bool there = kvStore_Get(&entry, kv, kNatsRunAliveKey) == NATS_OK;
    kvEntry_Destroy(entry);
    *error = there ? "run '" + std::string(run) + "' exists already on the broker at '" + link.url() + "'"
                   : link.Describe("cannot write the run's heartbeat", put);
  }
  kvStore_Destroy(kv);
  return put == NATS_OK;
}

bool AddNatsEdge(NatsLink& link, std::string_view run, size_t edge, const NatsEdgeOptions& options,
                 std::string* error) {
  const std::string name = NatsStreamName(run, edge);
  const std::string prefix = NatsSubjectPrefix(run, edge);
  // Batches only (a large record's pieces are in the run's bucket): a
  // batch's stream sequence is then its place on the edge, which an
  // [ordered] consumer keeps (runtime/broker_order_gate.h).
  const std::string batches = prefix + "b";
  const char* subjects[] = {batches.c_str()};
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  sc.Name = name.c_str();
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Retention = js_WorkQueuePolicy;
  sc.Storage = js_FileStorage;
  // Bounded like a local queue: a publish beyond the capacity is refused
  // (Push waits and tries again), and takes no sequence number.
  sc.Discard = js_DiscardNew;
  sc.DiscardNewPerSubject = true;
  sc.MaxMsgsPerSubject = options.capacity_messages;
  sc.Duplicates = options.duplicate_window_ns;
  jsErrCode code = static_cast<jsErrCode>(0);
  jsStreamInfo* si = nullptr;
  natsStatus s = MakeStore([&] { return js_AddStream(&si, link.js(), &sc, nullptr, &code); });
  jsStreamInfo_Destroy(si);
  if (s != NATS_OK) {
    *error = JetStreamApiError(link, "cannot create the stream '" + name + "'", s, code);
    return false;
  }
  // One durable consumer for every replica of the consuming stage, on every
  // machine: the work queue hands each batch to one of them. Work-queue
  // streams take explicit acknowledgements only.
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = kNatsConsumerName;
  cc.AckPolicy = js_AckExplicit;
  cc.AckWait = options.ack_wait_ns;
  cc.MaxDeliver = options.max_deliver;
  cc.FilterSubject = batches.c_str();
  jsConsumerInfo* ci = nullptr;
  s = js_AddConsumer(&ci, link.js(), name.c_str(), &cc, nullptr, &code);
  jsConsumerInfo_Destroy(ci);
  if (s != NATS_OK) {
    *error = JetStreamApiError(link, "cannot create the consumer of '" + name + "'", s, code);
    return false;
  }
  return true;
}

namespace {

constexpr const char* kMadeKey = "run.made";
std::string MadeSubject(std::string_view run) { return "flow." + std::string(run) + ".made"; }

// Whether the run's bucket holds the made key, read straight from the
// bucket's stream: no kvStore (whose making asks for the stream's info).
bool MadeKeyStored(NatsLink& link, std::string_view run) {
  return RunBucket(link, NatsBucketName(run)).Get(kMadeKey) == NATS_OK;
}

}  // namespace

bool MarkNatsRunMade(NatsLink& link, std::string_view run, std::string* error) {
  // Without a lookup of the bucket just made (a round trip more before the
  // run is offered).
  const natsStatus s = RunBucket(link, NatsBucketName(run)).Put(kMadeKey, "1");
  if (s != NATS_OK) {
    *error = link.Describe("cannot mark run '" + std::string(run) + "' made", s);
    return false;
  }
  natsConnection_PublishString(link.connection(), MadeSubject(run).c_str(), "1");
  return true;
}

bool AwaitNatsRunMade(NatsLink& link, std::string_view run, std::string* error) {
  // Listening first: the key is put before the message is sent, so a key
  // not found yet means a message still to come.
  NatsSubscription made(link, MadeSubject(run));
  // The key is read while the bucket is looked up: the two requests share
  // one round trip. A worker's instance makes both as it starts, and is
  // almost always offered its run before the run is made, but started
  // after: the key is there. (A round trip is 2-5 ms with 24 instances
  // starting on a loaded broker, more across machines.)
  std::future<bool> stored = QuietAsync([&link, run] { return MadeKeyStored(link, run); });
  std::string missing;
  kvStore* kv = link.Bucket(NatsBucketName(run), &missing);
  const bool made_already = stored.get();
  if (kv == nullptr) {
    *error = "run '" + std::string(run) + "' is not on the broker: " + missing;
    return false;
  }
  if (made_already) return true;
  kvEntry* entry = nullptr;
  std::string said;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(link.broker_wait_ms());
  while (std::chrono::steady_clock::now() < deadline) {
    if (made.Next(&said, 100)) return true;
    if (!made.ok()) nats_Sleep(100);
    // A message lost (core NATS), or no subscription: the key says.
    if (kvStore_Get(&entry, kv, kMadeKey) == NATS_OK) {
      kvEntry_Destroy(entry);
      return true;
    }
  }
  *error = "run '" + std::string(run) + "' was offered but its edges were not made within " +
           std::to_string(link.broker_wait_ms()) + " ms";
  return false;
}

bool TouchNatsRun(NatsLink& link, std::string_view run, std::string* error) {
  kvStore* kv = nullptr;
  kvEntry* entry = nullptr;
  natsStatus s = js_KeyValue(&kv, link.js(), NatsBucketName(run).c_str());
  if (s == NATS_OK) s = kvStore_Get(&entry, kv, kNatsRunAliveKey);
  bool ok = s == NATS_OK;
  if (ok) {
    ok = PutAlive(link, kv, ToInt64(kvEntry_ValueString(entry)), error);
  } else {
    *error = link.Describe("cannot find run '" + std::string(run) + "'", s);
  }
  kvEntry_Destroy(entry);
  kvStore_Destroy(kv);
  return ok;
}

namespace {

// Each stream on a thread of its own (the link is thread-safe): the end of
// every run waits for this, and one request after the other costs their
// round trips and the broker's file removals in a row. With `bucket`, the
// run's bucket after them, and only if they went: a sweep finds a run by
// its bucket.
bool RemoveStreams(NatsLink& link, const std::vector<std::string>& streams, const std::string& bucket,
                   std::string* error) {
  std::vector<std::string> failures(streams.size());
  std::vector<std::thread> removals;
  for (size_t i = 0; i < streams.size(); ++i) {
    removals.emplace_back([&link, &streams, &failures, i] {
      jsErrCode why = static_cast<jsErrCode>(0);
      const natsStatus status = js_DeleteStream(link.js(), streams[i].c_str(), nullptr, &why);
      if (status != NATS_OK && status != NATS_NOT_FOUND && why != JSStreamNotFoundErr)
        failures[i] = link.Describe("cannot remove the stream '" + streams[i] + "'", status, why);
    });
  }
  for (std::thread& removal : removals) removal.join();
  for (const std::string& failure : failures) {
    if (!failure.empty()) {
      *error = failure;
      return false;
    }
  }
  if (bucket.empty()) return true;
  const natsStatus s = js_DeleteKeyValue(link.js(), bucket.c_str());
  if (s != NATS_OK && s != NATS_NOT_FOUND) {
    *error = link.Describe("cannot remove the bucket '" + bucket + "'", s);
    return false;
  }
  return true;
}

std::vector<std::string> EdgeStreams(std::string_view run, const std::vector<size_t>& edges) {
  std::vector<std::string> streams;
  for (size_t e : edges) streams.push_back(NatsStreamName(run, e));
  return streams;
}

}  // namespace

bool RemoveNatsEdges(NatsLink& link, std::string_view run, const std::vector<size_t>& edges, std::string* error) {
  return RemoveStreams(link, EdgeStreams(run, edges), "", error);
}

bool RemoveNatsRun(NatsLink& link, std::string_view run, std::string* error, const std::vector<size_t>* edges) {
  std::vector<std::string> streams;
  if (edges != nullptr) {
    streams = EdgeStreams(run, *edges);
  } else {
    natsStatus s;
    jsErrCode code = static_cast<jsErrCode>(0);
    const std::vector<std::string> names = StreamNames(link, &s, &code);
    if (s != NATS_OK) {
      *error = JetStreamApiError(link, "cannot list the streams", s, code);
      return false;
    }
    const std::string prefix = "FLOW_" + std::string(run) + "_E";
    for (const std::string& name : names) {
      if (name.compare(0, prefix.size(), prefix) == 0) streams.push_back(name);
    }
  }
  return RemoveStreams(link, streams, NatsBucketName(run), error);
}

int SweepStaleNatsRuns(NatsLink& link, std::string* error) {
  natsStatus s;
  jsErrCode code = static_cast<jsErrCode>(0);
  const std::vector<std::string> names = StreamNames(link, &s, &code);
  if (s != NATS_OK) {
    *error = JetStreamApiError(link, "cannot list the streams", s, code);
    return -1;
  }
  std::vector<std::string> buckets, stale;
  for (const std::string& name : names) {
    if (name.rfind("KV_flow_", 0) == 0) buckets.push_back(name.substr(8));
  }
  const int64_t now = WallNanos();
  for (const std::string& run : buckets) {
    kvStore* kv = nullptr;
    kvEntry* entry = nullptr;
    if (js_KeyValue(&kv, link.js(), NatsBucketName(run).c_str()) != NATS_OK) continue;
    if (kvStore_Get(&entry, kv, kNatsRunAliveKey) == NATS_OK) {
      // Server time on both sides of the comparison would be exact; the
      // local clock is close enough for expiries of minutes.
      if (kvEntry_Created(entry) + ToInt64(kvEntry_ValueString(entry)) < now) stale.push_back(run);
    } else {
      jsStreamInfo* si = nullptr;
      if (js_GetStreamInfo(&si, link.js(), ("KV_" + NatsBucketName(run)).c_str(), nullptr, nullptr) == NATS_OK &&
          si->Created + kCreationGraceNs < now)
        stale.push_back(run);
      jsStreamInfo_Destroy(si);
    }
    kvEntry_Destroy(entry);
    kvStore_Destroy(kv);
  }
  // Streams whose bucket is gone: a removal that died half-way. Not in
  // their first minute: a run's keeper makes its edges while it makes its
  // bucket.
  std::vector<std::string> young;
  for (const std::string& name : names) {
    if (name.rfind("FLOW_", 0) != 0) continue;
    const std::string run = name.substr(5, name.find('_', 5) - 5);
    bool has_bucket = false;
    for (const std::string& b : buckets) has_bucket = has_bucket || b == run;
    bool listed = false;
    for (const std::string& r : stale) listed = listed || r == run;
    for (const std::string& r : young) listed = listed || r == run;
    if (has_bucket || listed) continue;
    jsStreamInfo* si = nullptr;
    const bool old = js_GetStreamInfo(&si, link.js(), name.c_str(), nullptr, nullptr) == NATS_OK &&
                     si->Created + kCreationGraceNs < now;
    jsStreamInfo_Destroy(si);
    (old ? stale : young).push_back(run);
  }
  for (const std::string& run : stale) {
    if (!RemoveNatsRun(link, run, error)) return -1;
  }
  return static_cast<int>(stale.size());
}

}  // namespace flow

#endif  // FLOWRUN_NATS
