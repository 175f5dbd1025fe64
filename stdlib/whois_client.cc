#include "stdlib/whois_client.h"

#include <netdb.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>

namespace flow {
namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr int64_t kNanosPerSecond = 1'000'000'000;

int64_t NowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * kNanosPerSecond + now.tv_nsec;
}

// Closes the socket on every way out of a query.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsBlank(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsBlank(text.back())) text.remove_suffix(1);
  return text;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// System messages start with a capital; diagnostics here do not.
std::string LowerFirst(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

std::string ErrnoText(int err) {
  switch (err) {
    case ECONNREFUSED:
      return "connection refused (nothing listens there)";
    case ECONNRESET:
      return "connection reset by the server";
    case EHOSTUNREACH:
      return "host unreachable";
    case ENETUNREACH:
      return "network unreachable";
    default:
      return LowerFirst(strerror(err));
  }
}

// As the language writes durations: a timeout is a whole number of ms.
std::string DurationText(int64_t ns) {
  if (ns % kNanosPerSecond == 0) return std::to_string(ns / kNanosPerSecond) + "s";
  if (ns % kNanosPerMilli == 0) return std::to_string(ns / kNanosPerMilli) + "ms";
  return std::to_string(ns) + "ns";
}

std::string SizeText(size_t bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes % (1 << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// Waits until `fd` is ready for `events` (or has an error or hangup, which
// the next socket call reports) or `deadline_ns` passes: 1 ready, 0 timed
// out, -1 poll itself failed (errno). A signal only restarts the wait with
// what is left of the time.
int WaitFor(int fd, short events, int64_t deadline_ns) {
  for (;;) {
    const int64_t left = deadline_ns - NowNs();
    if (left <= 0) return 0;
    // Rounded up: a wait rounded down to 0 ms would spin until the deadline.
    const int ms = static_cast<int>(std::min<int64_t>((left + kNanosPerMilli - 1) / kNanosPerMilli, INT_MAX));
    pollfd p = {fd, events, 0};
    const int n = poll(&p, 1, ms);
    if (n > 0) return 1;
    if (n < 0 && errno != EINTR) return -1;
  }
}

}  // namespace

bool SplitWhoisServer(const std::string& server, std::string* host, std::string* port, std::string* error) {
  const std::string usage = "whois server '" + server + "' is not host:port (e.g. 'whois.ripe.net:43', '[::1]:4343')";
  size_t colon;
  if (!server.empty() && server[0] == '[') {
    const size_t close = server.find(']');
    if (close == std::string::npos || close + 1 >= server.size() || server[close + 1] != ':') {
      *error = usage;
      return false;
    }
    *host = server.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = server.rfind(':');
    if (colon == std::string::npos || server.find(':') != colon) {
      *error = colon == std::string::npos ? usage : usage + "; write an IPv6 address in brackets";
      return false;
    }
    *host = server.substr(0, colon);
  }
  *port = server.substr(colon + 1);
  if (host->empty() || port->empty()) {
    *error = usage;
    return false;
  }
  return true;
}

std::vector<std::string> WhoisFieldValues(std::string_view answer, const std::vector<std::string>& fields) {
  std::vector<std::string> wanted;
  for (const std::string& field : fields) wanted.push_back(Lower(Trim(field)));
  std::vector<std::string> values(fields.size());
  std::vector<bool> found(fields.size(), false);
  size_t missing = fields.size();
  while (!answer.empty() && missing > 0) {
    const size_t end = answer.find('\n');
    std::string_view line = answer.substr(0, end);
    answer.remove_prefix(end == std::string_view::npos ? answer.size() : end + 1);
    const std::string_view content = Trim(line);
    if (content.empty() || content[0] == '%' || content[0] == '#') continue;
    const size_t colon = content.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string key = Lower(Trim(content.substr(0, colon)));
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (found[i] || wanted[i] != key) continue;
      found[i] = true;
      --missing;
      values[i] = Trim(content.substr(colon + 1));
      std::replace(values[i].begin(), values[i].end(), '\t', ' ');
    }
  }
  return values;
}

std::string WhoisQueryProblem(std::string_view query) {
  static constexpr struct {
    char byte;
    const char* name;
  } kForbidden[] = {{'\t', "a tab"}, {'\r', "a carriage return"}, {'\n', "a newline"}, {'\0', "a NUL byte"}};
  for (const auto& forbidden : kForbidden) {
    if (query.find(forbidden.byte) != std::string_view::npos)
      return std::string("a whois query cannot contain ") + forbidden.name;
  }
  return "";
}

WhoisClient::WhoisClient(std::string server, int64_t timeout_ns, size_t max_answer_bytes)
    : server_(std::move(server)),
      timeout_ns_(timeout_ns > 0 ? timeout_ns : kWhoisDefaultTimeoutNs),
      max_answer_bytes_(max_answer_bytes) {
  std::string ignored;
  SplitWhoisServer(server_, &host_, &port_, &ignored);
}

std::string WhoisClient::Problem(const std::string& what) const { return "whois server '" + server_ + "': " + what; }

bool WhoisClient::Resolve(std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host_.c_str(), port_.c_str(), &hints, &found);
  if (rc != 0) {
    const std::string why = rc == EAI_SYSTEM ? ErrnoText(errno) : LowerFirst(gai_strerror(rc));
    *error = Problem("cannot resolve '" + host_ + "' (port '" + port_ + "'): " + why);
    return false;
  }
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_addrlen > sizeof(sockaddr_storage)) continue;
    Address address{};
    std::memcpy(&address.storage, a->ai_addr, a->ai_addrlen);
    address.length = a->ai_addrlen;
    address.family = a->ai_family;
    addresses_.push_back(address);
  }
  freeaddrinfo(found);
  if (addresses_.empty()) {
    *error = Problem("'" + host_ + "' has no usable address");
    return false;
  }
  return true;
}

bool WhoisClient::Query(std::string_view query, std::string* answer, std::string* error) {
  // One budget for the whole query, so that a stage's [timeout = d] bounds
  // it however the time splits between connecting and reading.
  const int64_t deadline_ns = NowNs() + timeout_ns_;
  if (addresses_.empty() && !Resolve(error)) return false;
  // A name may resolve to several addresses (localhost: ::1 and 127.0.0.1);
  // the next is tried only when connecting to one failed, in time.
  for (const Address& address : addresses_) {
    bool connected = false;
    answer->clear();
    if (QueryAddress(address, query, deadline_ns, answer, error, &connected)) return true;
    if (connected || NowNs() >= deadline_ns) return false;
  }
  return false;
}

bool WhoisClient::QueryAddress(const Address& address, std::string_view query, int64_t deadline_ns, std::string* answer,
                               std::string* error, bool* connected) {
  const std::string timeout = DurationText(timeout_ns_);
  // Non-blocking from the start: connect, send and recv never wait except
  // in WaitFor, which knows the deadline.
  ScopedFd fd(socket(address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    *error = Problem("cannot create a socket: " + ErrnoText(errno));
    return false;
  }
  // EINTR leaves a non-blocking connect going on in the background, as
  // EINPROGRESS does; its outcome is read from SO_ERROR either way.
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0 &&
      errno != EINPROGRESS && errno != EINTR) {
    *error = Problem("cannot connect: " + ErrnoText(errno));
    return false;
  }
  const int ready = WaitFor(fd.get(), POLLOUT, deadline_ns);
  if (ready <= 0) {
    *error = Problem(ready == 0 ? "cannot connect: no connection within " + timeout : "poll: " + ErrnoText(errno));
    return false;
  }
  int so_error = 0;
  socklen_t length = sizeof(so_error);
  if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &length) != 0) so_error = errno;
  if (so_error != 0) {
    *error = Problem("cannot connect: " + ErrnoText(so_error));
    return false;
  }
  *connected = true;

  std::string line(query);
  line += "\r\n";
  size_t sent = 0;
  while (sent < line.size()) {
    // MSG_NOSIGNAL: a server that closed early is an error here, not a
    // SIGPIPE that kills the worker.
    const ssize_t n = send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      const int writable = WaitFor(fd.get(), POLLOUT, deadline_ns);
      if (writable <= 0) {
        *error = Problem(writable == 0 ? "cannot send the query within " + timeout : "poll: " + ErrnoText(errno));
        return false;
      }
    } else if (errno != EINTR) {
      *error = Problem("cannot send the query: " + ErrnoText(errno));
      return false;
    }
  }

  // RFC 3912: the answer ends when the server closes the connection.
  char buffer[16 << 10];
  for (;;) {
    const ssize_t n = recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n > 0) {
      if (answer->size() + static_cast<size_t>(n) > max_answer_bytes_) {
        *error = Problem("the answer is longer than " + SizeText(max_answer_bytes_));
        return false;
      }
      answer->append(buffer, static_cast<size_t>(n));
    } else if (n == 0) {
      return true;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      const int readable = WaitFor(fd.get(), POLLIN, deadline_ns);
      if (readable <= 0) {
        *error = Problem(readable == 0 ? "no complete answer within " + timeout + " (" +
                                             std::to_string(answer->size()) + " bytes so far)"
                                       : "poll: " + ErrnoText(errno));
        return false;
      }
    } else if (errno != EINTR) {
      *error = Problem("lost the connection while reading the answer: " + ErrnoText(errno));
      return false;
    }
  }
}

}  // namespace flow
