// The workers' stderr, forwarded to the supervisor's as whole lines that
// name their worker: "[whois#3] connection refused". Each worker writes into
// a pipe of its own; lines are cut here, in the one process that writes the
// shared stderr, so two workers' lines can never mix mid-line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace flow {

// A line longer than this is passed on in pieces of this size, so a worker
// that never writes a newline cannot make the supervisor buffer without bound.
inline constexpr size_t kMaxLogLine = 64 * 1024;

// One worker's stderr bytes cut into prefixed lines.
class LogLines {
 public:
  explicit LogLines(const std::string& name) : prefix_("[" + name + "] ") {}

  // Appends to *out every line `data` completes, each "[name] text\n", and
  // keeps the unfinished rest (never more than kMaxLogLine bytes).
  void Add(std::string_view data, std::string* out);
  // The unfinished last line, if any, given the newline the worker did not
  // write (the worker has ended).
  void Finish(std::string* out);
  size_t pending() const { return partial_.size(); }

 private:
  void Emit(std::string_view tail, std::string* out);

  std::string prefix_;
  std::string partial_;
};

// Reads the log pipes of many workers and writes their lines to `out_fd`.
class LogForwarder {
 public:
  explicit LogForwarder(int out_fd) : out_fd_(out_fd) {}
  ~LogForwarder();  // closes the pipes still open, flushing their last lines
  LogForwarder(const LogForwarder&) = delete;
  LogForwarder& operator=(const LogForwarder&) = delete;

  // Takes ownership of `fd`, the non-blocking read end of worker `name`'s
  // stderr pipe.
  void Add(int fd, const std::string& name);
  // Forwards what `fd` holds now (a bounded amount, so one chatty worker
  // cannot starve the loop). Returns false when the pipe reached end of
  // file: its last line is flushed and `fd` closed.
  bool Forward(int fd);
  // The worker has ended: forwards what is left in its pipe, flushes the
  // last line and closes `fd`.
  void Close(int fd);

  // The first error writing `out_fd` ("" if none). After one, lines are
  // dropped, but the pipes are still read so no worker blocks on its stderr.
  const std::string& write_error() const { return write_error_; }

 private:
  struct Stream {
    int fd;
    LogLines lines;
  };

  Stream* Find(int fd);
  // Reads up to `budget` bytes into the stream's lines; false at end of file.
  bool Read(Stream* stream, size_t budget);
  void Remove(int fd);
  void Write();

  int out_fd_;
  std::vector<Stream> streams_;
  std::vector<char> buffer_ = std::vector<char>(64 * 1024);
  std::string out_;  // lines cut and not yet written
  std::string write_error_;
};

}  // namespace flow
