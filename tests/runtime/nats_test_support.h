// What the NATS unit tests share (tests/runtime/nats_queue_test.cc,
// nats_run_test.cc): a nats-server of the test's own on loopback (a free
// port, a temporary store), links to it, runs and queues on it.
#pragma once
#ifdef FLOWRUN_NATS

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "runtime/nats_queue.h"
#include "runtime/poison_watch.h"


extern char** environ;

namespace flow::nats_queue_test {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::string_literals;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// Waits up to `limit` for `flag` to be set, looking every millisecond;
// whether it was.
bool Eventually(const std::atomic<bool>& flag, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!flag.load() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return flag.load();
}

std::string FindServer() {
  std::string dirs = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  dirs += ":/usr/sbin:/usr/local/sbin:/usr/local/bin";  // Debian installs it in /usr/sbin
  size_t start = 0;
  while (start < dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string path = dirs.substr(start, end - start) + "/nats-server";
    if (end > start && access(path.c_str(), X_OK) == 0) return path;
    start = end + 1;
  }
  return "";
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// libnats starts threads (at its first call, and per connection) that
// inherit the signal mask of the thread that makes them, and stay for the
// life of the test binary. Left with the signals unblocked, they would take
// a SIGTERM or SIGCHLD that a later test (process_test's SignalWatch) means
// for its own thread and signalfd. So each NATS test blocks those signals
// while it runs, and every libnats thread is born with them blocked.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGQUIT, SIGHUP}) sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~BlockedSignals() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

// A nats-server of the test's own, stopped and its store removed at the end.
class Server {
 public:
  explicit Server(bool jetstream = true) {
    const std::string path = FindServer();
    if (path.empty()) return;
    char dir[] = "/tmp/flowrun-nats-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    dir_ = dir;
    path_ = path;
    jetstream_ = jetstream;
    // A port free when FreePort() looked may be taken before the server
    // binds it (another suite's server, or the local end of an outgoing
    // connection): the server then exits at once and starts again on
    // another (as tests/e2e/nats_server.py does).
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = FreePort();
      if (Start(true)) return;
    }
    FAIL("nats-server would not start on any of 5 free ports (its log: " << dir_ << "/server.log)");
  }
  ~Server() {
    Stop(SIGTERM);
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // Stopped cleanly and started again on the same port and store: its
  // streams come back, its clients reconnect.
  void Restart() {
    Stop(SIGTERM);
    Start();
  }
  // Starts it and waits until it is ready; with `may_fail`, false when it
  // exited first (its port taken).
  bool Start(bool may_fail = false) {
    const std::string port = std::to_string(port_);
    const std::string store = dir_ + "/store", log = dir_ + "/server.log";
    std::vector<const char*> argv = {path_.c_str(), "-a", "127.0.0.1", "-p", port.c_str(), "-sd", store.c_str()};
    if (jetstream_) argv.push_back("-js");
    argv.push_back(nullptr);
    const std::uintmax_t said_before = std::filesystem::exists(log) ? std::filesystem::file_size(log) : 0;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    REQUIRE(posix_spawn(&pid_, path_.c_str(), &actions, nullptr, const_cast<char**>(argv.data()), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    // The server takes 7-22 ms to listen: poll, with a bound for failure.
    // Ready once it says so and accepts: a port that accepts may be
    // another's, and the server may still exit on it.
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    for (;;) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        REQUIRE_MESSAGE(may_fail, "nats-server exited on port " << port_ << " (its log: " << log << ")");
        return false;
      }
      if (Said(log, said_before, "Server is ready") && Accepts(port_)) return true;
      REQUIRE_MESSAGE(Clock::now() < deadline, "nats-server did not start on port " << port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  void Stop(int signal) {
    if (pid_ <= 0) return;
    kill(pid_, signal);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  bool available() const { return !dir_.empty(); }
  // Whether `log` says `what` after its first `from` bytes.
  static bool Said(const std::string& log, std::uintmax_t from, const std::string& what) {
    std::ifstream in(log, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(from));
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.find(what) != std::string::npos;
  }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  BlockedSignals blocked_;  // first member: in force before any libnats call
  pid_t pid_ = 0;
  int port_ = 0;
  std::string dir_;
  std::string path_;
  bool jetstream_ = true;
};

#define SKIP_WITHOUT_SERVER(server)                                                  \
  if (!(server).available()) {                                                       \
    MESSAGE("nats-server is not installed (apt-get install nats-server): skipped"); \
    return;                                                                          \
  }

std::shared_ptr<NatsLink> Link(const Server& server, int64_t broker_wait_ms = 10000) {
  NatsLinkOptions o;
  o.broker.url = server.url();
  o.broker_wait_ms = broker_wait_ms;
  o.api_wait_ms = std::min<int64_t>(broker_wait_ms, 2000);
  std::string error;
  std::shared_ptr<NatsLink> link = NatsLink::Connect(o, &error);
  REQUIRE_MESSAGE(link != nullptr, error);
  return link;
}

void MakeRun(NatsLink& link, const std::string& run, size_t edges, const NatsEdgeOptions& options = {}) {
  std::string error;
  REQUIRE_MESSAGE(CreateNatsRun(link, run, 3'600'000'000'000, &error), error);
  for (size_t e = 0; e < edges; ++e) REQUIRE_MESSAGE(AddNatsEdge(link, run, e, options, &error), error);
}

std::unique_ptr<NatsQueue> Open(std::shared_ptr<NatsLink> link, const std::string& run, int producers,
                                int consumers, size_t edge = 0, int64_t poll_ms = 20, int fetch_batch = 4,
                                int64_t upstream_edge = -1) {
  NatsQueueOptions o;
  o.upstream_edge = upstream_edge;
  o.fetch_batch = fetch_batch;
  o.run = run;
  o.edge = edge;
  o.producers = producers;
  o.consumers = consumers;
  o.poll_ms = poll_ms;
  std::string error;
  auto q = NatsQueue::Open(std::move(link), o, &error);
  REQUIRE_MESSAGE(q != nullptr, error);
  return q;
}

std::vector<std::string> Contents(const Lease& lease) {
  std::vector<std::string> out;
  for (size_t i = 0; i < lease.size(); ++i) out.emplace_back(lease[i].bytes);
  return out;
}

// Pops until kEnd, acknowledging; the records' bytes in order.
std::vector<std::string> Drain(NatsQueue& q, int consumer = 0) {
  std::vector<std::string> out;
  for (;;) {
    Lease lease;
    const QueueStatus s = q.Pop(consumer, &lease, PopMode::kWait);
    if (s != QueueStatus::kOk) {
      CHECK(s == QueueStatus::kEnd);
      return out;
    }
    for (const std::string& r : Contents(lease)) out.push_back(r);
    q.Ack(consumer, &lease);
  }
}

RecordBatch Batch(const std::vector<std::string>& records, int64_t first_nr, uint64_t origin = 0) {
  RecordBatch b;
  b.set_origin(origin);
  for (size_t i = 0; i < records.size(); ++i) b.Add(records[i], first_nr + static_cast<int64_t>(i), first_nr + static_cast<int64_t>(i));
  return b;
}

// The baseline: a plain JetStream loop, one 100-byte message per
// record, asynchronous publishes, fetches of 256, one ack per record.
[[maybe_unused]] double OneMessagePerRecord(const Server& server, int records) {
  auto setup = Link(server);
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  const char* subjects[] = {"raw"};
  sc.Name = "RAW";
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Retention = js_WorkQueuePolicy;
  REQUIRE(js_AddStream(nullptr, setup->js(), &sc, nullptr, nullptr) == NATS_OK);
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = "c";
  cc.AckPolicy = js_AckExplicit;
  REQUIRE(js_AddConsumer(nullptr, setup->js(), "RAW", &cc, nullptr, nullptr) == NATS_OK);
  const std::string record(100, 'r');
  const auto start = Clock::now();
  std::thread producer([&] {
    auto link = Link(server);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = 4096;
    jsCtx* js = nullptr;
    REQUIRE(natsConnection_JetStream(&js, link->connection(), &jo) == NATS_OK);
    for (int i = 0; i < records; ++i) REQUIRE(js_PublishAsync(js, "raw", record.data(), 100, nullptr) == NATS_OK);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 30000;
    REQUIRE(js_PublishAsyncComplete(js, &po) == NATS_OK);
    jsCtx_Destroy(js);
  });
  auto link = Link(server);
  natsSubscription* sub = nullptr;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = "RAW";
  so.Consumer = "c";
  so.ManualAck = true;
  REQUIRE(js_PullSubscribe(&sub, link->js(), "raw", "c", nullptr, &so, nullptr) == NATS_OK);
  int got = 0;
  while (got < records) {
    natsMsgList list{};
    if (natsSubscription_Fetch(&list, sub, 256, 1000, nullptr) != NATS_OK) continue;
    for (int i = 0; i < list.Count; ++i) natsMsg_Ack(list.Msgs[i], nullptr);
    got += list.Count;
    natsMsgList_Destroy(&list);
  }
  natsConnection_Flush(link->connection());
  const double rate = records / Seconds(start);
  producer.join();
  natsSubscription_Destroy(sub);
  return rate;
}

}  // namespace

}  // namespace flow::nats_queue_test

#endif  // FLOWRUN_NATS
