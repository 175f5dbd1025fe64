// What the sinks that write a file or stdout (write, report) share: writing
// a whole buffer, saying what went wrong in the same words, and the output
// itself (SinkOutput).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "runtime/stage.h"

namespace flow {

// Writes all `size` bytes to `fd`: an interrupted write goes on, and a
// non-blocking fd (a stdout shared with a process that set O_NONBLOCK) is
// waited for. Adds what went out to `*written`. False with errno set.
bool WriteFully(int fd, const char* data, size_t size, uint64_t* written);

// The error for a failed write, close or sync of `fd`, the sink's output
// for `target`: "stdout closed" (EPIPE on stdout: the runner then ends
// quietly, as `cmd | head` does), "cannot write to stdout: ...", or
// "cannot write 'out.txt': No space left on device".
std::string SinkError(int fd, const std::string& target, int error);

// A sink's output: stdout, or the file it opened for `target`, which it
// owns (closed at the end, if Close did not). The first error sticks: the
// sink fails every later call with error().
class SinkOutput {
 public:
  SinkOutput(int fd, std::string target) : fd_(fd), target_(std::move(target)) {}
  ~SinkOutput();
  SinkOutput(const SinkOutput&) = delete;
  SinkOutput& operator=(const SinkOutput&) = delete;

  // Whether something failed, and what: "" until then.
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  // The error as the Fatal every call of the sink returns once failed.
  StageStatus Fatal() const { return StageStatus::Fatal(error_); }
  // The bytes written so far (from where Resume cut the file back to).
  uint64_t written() const { return written_; }

  // All of `data`; false with error() set when the write failed.
  bool Write(const char* data, size_t size);
  // Sets error() for errno value `error`, and returns it as a Fatal.
  StageStatus Fail(int error);

  // A replacement worker's start: cuts the file back to `length`, what its
  // predecessor's last Sync gave, and writes on from there. False with
  // error() set when it cannot.
  bool Resume(uint64_t length);

  // After the last Write: a file is fsynced and closed, so that a rename
  // after it never exposes a half-written file after a crash; stdout stays
  // open.
  StageStatus Close();

 private:
  int fd_;  // STDOUT_FILENO, a file, or -1 once closed
  std::string target_;
  uint64_t written_ = 0;
  std::string error_;
};

}  // namespace flow
