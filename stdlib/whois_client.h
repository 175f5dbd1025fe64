// An RFC 3912 whois client, apart from the whois() stage so that it can be
// tested without one: resolve "host:port", connect, send `query\r\n`, read
// the answer until the server closes; and pick `key: value` fields out of
// the answer. Every wait is a poll() with a deadline: a query never blocks
// past its timeout, and a signal (EINTR) only shortens a wait, never ends
// or stretches the query.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flow {

// A query's whole budget (connect, send, read) when the stage has no
// [timeout = d]: long enough for a slow public server, short enough that a
// dead one does not hold a worker for minutes.
constexpr int64_t kWhoisDefaultTimeoutNs = 10'000'000'000;
// An answer longer than this is a record error: real answers are a few KiB,
// so a longer one is a misbehaving server, not data.
constexpr size_t kWhoisMaxAnswerBytes = 1 << 20;

// "host:port", "[v6-address]:port"; the port is a number or a service name.
// False, with `*error` set, when `server` is not of that form.
bool SplitWhoisServer(const std::string& server, std::string* host, std::string* port, std::string* error);

// The values of `fields` in `answer`, in that order, "" where a key is
// missing. Lines end in LF or CRLF; a line whose first non-blank byte is '%'
// or '#' is a comment; other lines are `key: value`, the key compared
// without case and with its surrounding blanks ignored, the value trimmed of
// blanks, a tab inside it turned into a space (the value goes into a
// tab-separated record). The first line with a key wins, even when its value
// is empty.
std::vector<std::string> WhoisFieldValues(std::string_view answer, const std::vector<std::string>& fields);

// Why `query` cannot be sent ("" when it can): a tab, CR, LF or NUL would
// end the query line early or mean something else to the server.
std::string WhoisQueryProblem(std::string_view query);

// One server, resolved once (on the first query) and then reused: a
// connection per query, as whois servers close after one answer.
class WhoisClient {
 public:
  // `server` must have passed SplitWhoisServer; `timeout_ns` <= 0 means
  // kWhoisDefaultTimeoutNs.
  WhoisClient(std::string server, int64_t timeout_ns, size_t max_answer_bytes = kWhoisMaxAnswerBytes);

  // Asks `query`. True with the raw answer in `*answer`; false with
  // `*error` naming the server and what happened.
  bool Query(std::string_view query, std::string* answer, std::string* error);

  int64_t timeout_ns() const { return timeout_ns_; }

 private:
  struct Address {
    sockaddr_storage storage;
    socklen_t length;
    int family;
  };

  // Name resolution is getaddrinfo's, bounded by the resolver's own
  // timeouts (resolv.conf), not by the query's deadline; a numeric address
  // never waits.
  bool Resolve(std::string* error);
  // One attempt at one address; `*connected` tells whether the failure (if
  // any) came after the connection was made (then no other address is tried).
  bool QueryAddress(const Address& address, std::string_view query, int64_t deadline_ns, std::string* answer,
                    std::string* error, bool* connected);
  std::string Problem(const std::string& what) const;

  std::string server_;
  std::string host_;
  std::string port_;
  int64_t timeout_ns_;
  size_t max_answer_bytes_;
  std::vector<Address> addresses_;  // empty until resolved
};

}  // namespace flow
