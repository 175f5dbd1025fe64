// whois: the answer parser, the server syntax, and the client and stage
// against a small TCP server in this process (a thread on a free loopback
// port) that answers, stays silent, resets, drips or floods.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "stdlib/stages.h"
#include "stdlib/whois_client.h"
#include "tests/stdlib/stage_test_util.h"

namespace flow {
namespace {

using Strings = std::vector<std::string>;
using stagetest::Emitted;
using stagetest::Outcome;

const char kRipeAnswer[] =
    "% This is the RIPE Database query service.\n"
    "% netname: COMMENTED-OUT\n"
    "# netname: ALSO-COMMENTED\n"
    "\n"
    "inetnum:        192.0.2.0 - 192.0.2.255\n"
    "netname:        TEST-NET-1\n"
    "descr:          first descr\n"
    "descr:          second descr\n"
    "country:        NL\n"
    "remarks:        see http://example.net/x\n";

// A socket on 127.0.0.1 (or ::1) port 0: the kernel picks a free port.
int BoundSocket(int family, int* port) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_storage storage{};
  socklen_t length;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    length = sizeof(sockaddr_in6);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    close(fd);
    return -1;
  }
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) == 0);
  *port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&storage)->sin_port
                                  : reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  return fd;
}

// Serves connections one after the other until destroyed: reads the query
// line, then acts as `mode` says.
class FakeWhoisServer {
 public:
  enum class Mode { kAnswer, kSilent, kReset, kDrip };

  explicit FakeWhoisServer(std::function<std::string(const std::string&)> answer, Mode mode = Mode::kAnswer,
                           int family = AF_INET)
      : answer_(std::move(answer)), mode_(mode) {
    listen_fd_ = BoundSocket(family, &port_);
    if (listen_fd_ < 0) return;
    REQUIRE(listen(listen_fd_, 16) == 0);
    REQUIRE(pipe(stop_pipe_) == 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeWhoisServer() {
    if (listen_fd_ < 0) return;
    REQUIRE(write(stop_pipe_[1], "x", 1) == 1);
    thread_.join();
    close(listen_fd_);
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
  }

  bool listening() const { return listen_fd_ >= 0; }
  int port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  Strings queries() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return queries_;
  }

 private:
  // Waits for `fd` to be readable; false once the test is over.
  bool WaitReadable(int fd) const {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    while (poll(fds, 2, -1) < 0) {
    }
    return (fds[1].revents & POLLIN) == 0;
  }

  void Serve() {
    while (WaitReadable(listen_fd_)) {
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      std::string query;
      char c;
      while (WaitReadable(fd) && read(fd, &c, 1) == 1) {
        query += c;
        if (c == '\n') break;
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        queries_.push_back(query);
      }
      std::string text = answer_(query.substr(0, query.find('\r')));
      if (mode_ == Mode::kSilent) {
        WaitReadable(stop_pipe_[0]);
      } else if (mode_ == Mode::kReset) {
        linger hard = {1, 0};  // close() sends RST, not FIN
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
      } else if (mode_ == Mode::kDrip) {
        for (size_t i = 0; i < text.size(); i += 7) {
          send(fd, text.data() + i, std::min<size_t>(7, text.size() - i), MSG_NOSIGNAL);
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      } else {
        for (size_t sent = 0; sent < text.size();) {
          ssize_t n = send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
          if (n <= 0) break;
          sent += static_cast<size_t>(n);
        }
      }
      close(fd);
    }
  }

  std::function<std::string(const std::string&)> answer_;
  Mode mode_;
  int listen_fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;
  mutable std::mutex mutex_;
  Strings queries_;
};

std::string NetAnswer(const std::string& query) {
  if (query == "unknown") return "% no entries found\n";
  return "% answer for " + query + "\r\nnetname: NET-" + query + "\r\ncountry: XX\r\n";
}

std::unique_ptr<Stage> Whois(const std::string& server, Strings fields, int64_t timeout_ns = 0) {
  std::string error;
  std::unique_ptr<Stage> stage = MakeWhoisStage(WhoisSpec{server, std::move(fields), timeout_ns}, &error);
  INFO(error);
  REQUIRE(stage != nullptr);
  return stage;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::atomic<int> signals_received{0};

// While it lives, sends SIGUSR1 to the thread that made it every
// millisecond; the handler has no SA_RESTART, so each signal interrupts
// whatever system call that thread waits in.
class Interrupter {
 public:
  Interrupter() : target_(pthread_self()) {
    signals_received = 0;
    struct sigaction counting {};
    counting.sa_handler = [](int) { signals_received.fetch_add(1); };
    sigemptyset(&counting.sa_mask);
    REQUIRE(sigaction(SIGUSR1, &counting, &old_) == 0);
    thread_ = std::thread([this] {
      while (!done_.load()) {
        pthread_kill(target_, SIGUSR1);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  ~Interrupter() {
    done_ = true;
    thread_.join();
    sigaction(SIGUSR1, &old_, nullptr);
  }
  int Received() const { return signals_received.load(); }

 private:
  pthread_t target_;
  struct sigaction old_ {};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

TEST_SUITE("whois") {
  TEST_CASE("fields: in the order asked, first occurrence, comments skipped, empty when missing") {
    CHECK(WhoisFieldValues(kRipeAnswer, {"netname", "country", "descr", "remarks", "org"}) ==
          Strings{"TEST-NET-1", "NL", "first descr", "see http://example.net/x", ""});
    CHECK(WhoisFieldValues(kRipeAnswer, {"country", "country"}) == Strings{"NL", "NL"});
    CHECK(WhoisFieldValues(kRipeAnswer, {}).empty());
    CHECK(WhoisFieldValues("", {"netname"}) == Strings{""});
    CHECK(WhoisFieldValues("% netname: X\n#netname: Y\n  % netname: Z\n", {"netname"}) == Strings{""});
  }

  TEST_CASE("fields: keys without case or surrounding blanks, values trimmed, CRLF, no final newline") {
    CHECK(WhoisFieldValues("NetName:   ARIN-NET  \r\nCountry:\tUS\r\n", {"netname", "COUNTRY"}) ==
          Strings{"ARIN-NET", "US"});
    CHECK(WhoisFieldValues("   Domain Name: EXAMPLE.COM\n", {"domain name"}) == Strings{"EXAMPLE.COM"});
    CHECK(WhoisFieldValues("a: 1\nb: 2", {"b", " a "}) == Strings{"2", "1"});
    CHECK(WhoisFieldValues("a:x\r\n", {"a"}) == Strings{"x"});
    CHECK(WhoisFieldValues("descr: one\ttwo\n", {"descr"}) == Strings{"one two"});
    CHECK(WhoisFieldValues("no colon here\nkey value\nkey: v\n", {"key"}) == Strings{"v"});
  }

  TEST_CASE("fields: the first line with the key wins, even when empty") {
    CHECK(WhoisFieldValues("descr:\ndescr: later\n", {"descr"}) == Strings{""});
    CHECK(WhoisFieldValues("Descr: A\ndescr: B\nDESCR: C\n", {"descr"}) == Strings{"A"});
  }

  TEST_CASE("server: host:port, IPv6 in brackets") {
    std::string host, port, error;
    REQUIRE(SplitWhoisServer("whois.ripe.net:43", &host, &port, &error));
    CHECK((host == "whois.ripe.net" && port == "43"));
    REQUIRE(SplitWhoisServer("[::1]:4343", &host, &port, &error));
    CHECK((host == "::1" && port == "4343"));
    REQUIRE(SplitWhoisServer("localhost:whois", &host, &port, &error));
    CHECK((host == "localhost" && port == "whois"));
    const std::string usage = " is not host:port (e.g. 'whois.ripe.net:43', '[::1]:4343')";
    for (const char* bad : {"whois.ripe.net", ":43", "host:", "[::1]", "[::1]43", "", "[::1"}) {
      CHECK_FALSE(SplitWhoisServer(bad, &host, &port, &error));
      CHECK(error == "whois server '" + std::string(bad) + "'" + usage);
    }
    CHECK_FALSE(SplitWhoisServer("::1:43", &host, &port, &error));
    CHECK(error == "whois server '::1:43'" + usage + "; write an IPv6 address in brackets");
  }

  TEST_CASE("the stage refuses a bad server or a blank field name") {
    std::string error;
    CHECK(MakeWhoisStage(WhoisSpec{"nowhere", {}, 0}, &error) == nullptr);
    CHECK(error == "whois server 'nowhere' is not host:port (e.g. 'whois.ripe.net:43', '[::1]:4343')");
    CHECK(MakeWhoisStage(WhoisSpec{"h:43", {"netname", " "}, 0}, &error) == nullptr);
    CHECK(error == "whois fields must be names separated by commas, not ' '");
    CHECK(WhoisClient("h:43", 0).timeout_ns() == kWhoisDefaultTimeoutNs);
    CHECK(WhoisClient("h:43", 250'000'000).timeout_ns() == 250'000'000);
  }

  TEST_CASE("answers: query\\tfields per record, one connection per query, CRLF sent") {
    FakeWhoisServer server(NetAnswer);
    Outcome out = stagetest::Feed(*Whois(server.server(), {"netname", "country", "org"}), {"a", "unknown", "b"});
    CHECK(out.records == std::vector<Emitted>{{"a\tNET-a\tXX\t", 1}, {"unknown\t\t\t", 2}, {"b\tNET-b\tXX\t", 3}});
    CHECK(out.record_errors.empty());
    CHECK(server.queries() == Strings{"a\r\n", "unknown\r\n", "b\r\n"});
    CHECK(stagetest::Feed(*Whois(server.server(), {}), {"c"}).Texts() == Strings{"c"});
  }

  TEST_CASE("through the factory: server, fields and [timeout] from the program") {
    FakeWhoisServer server(NetAnswer);
    stagetest::TestProgram program("lines(\"\") | whois(server = \"" + server.server() +
                                   "\", fields = \"country,netname\") [timeout = 2s] | discard");
    CHECK(program.Node("whois").options.timeout_ns == 2'000'000'000);
    Outcome out = stagetest::Feed(*program.Make("whois"), {"x"});
    CHECK(out.Texts() == Strings{"x\tXX\tNET-x"});
  }

  TEST_CASE("a query with a tab, CR, LF or NUL is a record error and is not sent") {
    FakeWhoisServer server(NetAnswer);
    Outcome out =
        stagetest::Feed(*Whois(server.server(), {"netname"}), {"a\tb", "a\rb", "a\n", std::string("a\0b", 3), "ok"});
    CHECK(out.record_errors ==
          Strings{"a whois query cannot contain a tab", "a whois query cannot contain a carriage return",
                  "a whois query cannot contain a newline", "a whois query cannot contain a NUL byte"});
    CHECK(out.records == std::vector<Emitted>{{"ok\tNET-ok", 5}});
    CHECK(server.queries() == Strings{"ok\r\n"});
  }

  TEST_CASE("a name resolves: localhost, trying each of its addresses") {
    // A bare root (the CI's) may have no /etc/hosts: then there is no name
    // to resolve, which is the system's state, not the client's fault.
    addrinfo* found = nullptr;
    if (getaddrinfo("localhost", nullptr, nullptr, &found) != 0) {
      MESSAGE("'localhost' does not resolve on this machine: skipped");
      return;
    }
    freeaddrinfo(found);
    FakeWhoisServer server(NetAnswer);
    std::string answer, error;
    WhoisClient client("localhost:" + std::to_string(server.port()), 2'000'000'000);
    REQUIRE_MESSAGE(client.Query("q", &answer, &error), error);
    CHECK(answer == NetAnswer("q"));
  }

  TEST_CASE("IPv6 loopback in brackets") {
    FakeWhoisServer server(NetAnswer, FakeWhoisServer::Mode::kAnswer, AF_INET6);
    if (!server.listening()) return;  // no ::1 on this machine
    std::string answer, error;
    WhoisClient client("[::1]:" + std::to_string(server.port()), 2'000'000'000);
    REQUIRE_MESSAGE(client.Query("q6", &answer, &error), error);
    CHECK(answer == NetAnswer("q6"));
  }

  TEST_CASE("an answer in many small pieces is read whole") {
    FakeWhoisServer server([](const std::string&) { return std::string(kRipeAnswer); }, FakeWhoisServer::Mode::kDrip);
    Outcome out = stagetest::Feed(*Whois(server.server(), {"country", "netname"}, 5'000'000'000), {"q"});
    CHECK(out.Texts() == Strings{"q\tNL\tTEST-NET-1"});
  }

  TEST_CASE("connection refused: a record error naming the server") {
    int port = 0;
    int fd = BoundSocket(AF_INET, &port);  // bound, never listening: connections are refused
    REQUIRE(fd >= 0);
    const std::string name = "127.0.0.1:" + std::to_string(port);
    Outcome out = stagetest::Feed(*Whois(name, {"netname"}, 2'000'000'000), {"a", "b"});
    close(fd);
    CHECK(out.records.empty());
    CHECK(out.record_errors ==
          Strings(2, "whois server '" + name + "': cannot connect: connection refused (nothing listens there)"));
  }

  TEST_CASE("a server that never answers: a record error within about the timeout") {
    FakeWhoisServer server(NetAnswer, FakeWhoisServer::Mode::kSilent);
    auto start = std::chrono::steady_clock::now();
    Outcome out = stagetest::Feed(*Whois(server.server(), {"netname"}, 300'000'000), {"slow"});
    const double seconds = SecondsSince(start);
    CHECK(seconds >= 0.29);
    CHECK(seconds < 3.0);
    CHECK(out.records.empty());
    CHECK(out.record_errors ==
          Strings{"whois server '" + server.server() + "': no complete answer within 300ms (0 bytes so far)"});
    CHECK(server.queries() == Strings{"slow\r\n"});
  }

  TEST_CASE("a server whose backlog is full: connecting gives up at the timeout") {
    int port = 0;
    int listen_fd = BoundSocket(AF_INET, &port);
    REQUIRE(listen_fd >= 0);
    REQUIRE(listen(listen_fd, 0) == 0);  // never accepted: the queue fills, then SYNs are dropped
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::vector<int> held;
    for (bool full = false; !full && held.size() < 32;) {
      held.push_back(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      connect(held.back(), reinterpret_cast<sockaddr*>(&to), sizeof(to));
      pollfd p = {held.back(), POLLOUT, 0};
      full = poll(&p, 1, 50) == 0;
    }
    const std::string name = "127.0.0.1:" + std::to_string(port);
    auto start = std::chrono::steady_clock::now();
    Outcome out = stagetest::Feed(*Whois(name, {"netname"}, 300'000'000), {"q"});
    const double seconds = SecondsSince(start);
    for (int fd : held) close(fd);
    close(listen_fd);
    CHECK(seconds >= 0.29);
    CHECK(seconds < 3.0);
    CHECK(out.record_errors == Strings{"whois server '" + name + "': cannot connect: no connection within 300ms"});
  }

  TEST_CASE("a reset connection is a record error") {
    FakeWhoisServer server(NetAnswer, FakeWhoisServer::Mode::kReset);
    Outcome out = stagetest::Feed(*Whois(server.server(), {"netname"}, 2'000'000'000), {"r"});
    CHECK(out.records.empty());
    CHECK(out.record_errors ==
          Strings{"whois server '" + server.server() +
                  "': lost the connection while reading the answer: connection reset by the server"});
  }

  TEST_CASE("an answer longer than the bound is a record error; one at the bound is not") {
    FakeWhoisServer server([](const std::string& q) { return std::string(static_cast<size_t>(std::stoul(q)), 'x'); });
    std::string answer, error;
    WhoisClient small(server.server(), 2'000'000'000, 1000);
    CHECK(small.Query("1000", &answer, &error));
    CHECK(answer.size() == 1000);
    CHECK_FALSE(small.Query("1001", &answer, &error));
    CHECK(error == "whois server '" + server.server() + "': the answer is longer than 1000 bytes");
    Outcome out = stagetest::Feed(*Whois(server.server(), {"x"}, 5'000'000'000),
                                  {std::to_string(kWhoisMaxAnswerBytes), std::to_string(kWhoisMaxAnswerBytes + 1)});
    CHECK(out.Texts() == Strings{std::to_string(kWhoisMaxAnswerBytes) + "\t"});
    CHECK(out.record_errors == Strings{"whois server '" + server.server() + "': the answer is longer than 1 MiB"});
  }

  TEST_CASE("signals during the waits (EINTR) neither end nor stretch a query") {
    FakeWhoisServer server(NetAnswer, FakeWhoisServer::Mode::kDrip);
    FakeWhoisServer silent(NetAnswer, FakeWhoisServer::Mode::kSilent);
    std::string answer, error;
    {
      Interrupter interrupter;
      WhoisClient client(server.server(), 5'000'000'000);
      CHECK_MESSAGE(client.Query("eintr", &answer, &error), error);
      CHECK(interrupter.Received() > 0);
    }
    CHECK(answer == NetAnswer("eintr"));
    Interrupter interrupter;
    auto start = std::chrono::steady_clock::now();
    WhoisClient slow(silent.server(), 200'000'000);
    CHECK_FALSE(slow.Query("eintr", &answer, &error));
    const double seconds = SecondsSince(start);
    CHECK(seconds >= 0.19);
    CHECK(seconds < 3.0);
    CHECK(interrupter.Received() > 0);
    CHECK(error == "whois server '" + silent.server() + "': no complete answer within 200ms (0 bytes so far)");
  }
}

}  // namespace flow
