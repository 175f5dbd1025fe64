// sh("cmd"): one long-lived `/bin/sh -c cmd` per instance, started when the
// stage is made (so a shell that cannot start is an error before the first
// record). Each record goes to its stdin followed by "\n"; each line of its
// stdout is emitted as a record, numbered 1, 2, ... in the order this
// instance emits them (its output lines bear no relation to input records,
// so the NR of its input cannot carry over); a final unterminated line
// counts.
//
// Both pipes are moved at the same time by one poll loop on non-blocking
// descriptors, so a command that holds everything until end of input
// (`sort`) or prints more than it reads (`yes`) never deadlocks us: we never
// block on a write without also reading.
//
// Records are written in blocks, not one write per record: when 16 KiB are
// pending, or when a record arrives 5 ms or more after the last write.
// (A burst's last few records wait for the next record or the end.)
//
// Ends: a command that exits early (`head -1`) closes its stdin, and the
// next write fails with EPIPE: we stop writing, read what it still prints,
// and report the stage satisfied, so upstream is cancelled. When downstream
// wants no more, both pipes are closed: the command gets EOF and SIGPIPE as
// in a shell pipeline, and how it then ends is not an error. Otherwise, at
// Finish: stdin closed, the rest read, and an exit other than 0 is fatal.
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include <type_traits>

#include "stdlib/child_process.h"
#include "stdlib/stages.h"

namespace flow {
namespace {

constexpr size_t kWriteBlock = 16 * 1024;
constexpr size_t kMaxPending = 256 * 1024;  // beyond, OnRecord waits for the command
constexpr int64_t kWriteDelayNs = 5'000'000;
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kRoundsWithoutWaiting = 8;  // bounds a pump that must not block

int64_t NowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

class ShStage : public Stage {
 public:
  bool Start(const std::string& command, std::string* error) {
    SpawnOptions options;
    options.pipe_stdin = true;
    options.nonblocking = true;
    return child_.Start({"/bin/sh", "-c", command}, options, error);
  }

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    if (Satisfied()) return StageStatus::Ok();  // the command takes no more
    pending_.append(record.bytes);
    pending_.push_back('\n');
    const size_t left = pending_.size() - written_;
    if (left > kMaxPending) return Pump(out, [this] { return pending_.size() - written_ <= kMaxPending / 2; });
    if (left >= kWriteBlock || NowNs() - last_pump_ns_ >= kWriteDelayNs) return Pump(out, nullptr);
    return StageStatus::Ok();
  }

  StageStatus Finish(Emitter& out) override {
    StageStatus status = Pump(out, [this] { return written_ == pending_.size(); });
    if (!status.ok()) return status;
    child_.CloseStdin();
    status = Pump(out, [] { return false; });  // until its stdout closes
    if (!status.ok()) return status;
    ExitStatus exit;
    std::string error;
    if (!child_.Wait(&exit, &error)) return StageStatus::Fatal(error);
    if (!downstream_done_ && !exit.Succeeded()) return StageStatus::Fatal(DescribeCommandExit(exit));
    return StageStatus::Ok();
  }

  bool Satisfied() const override { return input_closed_ || downstream_done_; }

 private:
  // Moves bytes both ways. With `done`, blocks in poll until done() holds
  // or there is nothing left to move; without, moves only what can move now.
  template <class Done>
  StageStatus Pump(Emitter& out, Done done) {
    constexpr bool kBlock = !std::is_same_v<Done, std::nullptr_t>;
    last_pump_ns_ = NowNs();
    for (int round = 0; kBlock || round < kRoundsWithoutWaiting; ++round) {
      if constexpr (kBlock) {
        if (done()) break;
      }
      pollfd fds[2];
      nfds_t n = 0;
      int write_at = -1, read_at = -1;
      if (child_.stdin_fd() >= 0 && written_ < pending_.size()) {
        write_at = static_cast<int>(n);
        fds[n++] = {child_.stdin_fd(), POLLOUT, 0};
      }
      if (child_.stdout_fd() >= 0) {
        read_at = static_cast<int>(n);
        fds[n++] = {child_.stdout_fd(), POLLIN, 0};
      }
      if (n == 0) break;
      int ready = poll(fds, n, kBlock ? -1 : 0);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return StageStatus::Fatal(std::string("poll: ") + strerror(errno));
      if (ready == 0) break;
      if (write_at >= 0 && fds[write_at].revents != 0) {
        StageStatus status = WriteSome();
        if (!status.ok()) return status;
      }
      if (read_at >= 0 && fds[read_at].revents != 0 && child_.stdout_fd() >= 0) {
        StageStatus status = ReadSome(out);
        if (!status.ok()) return status;
      }
    }
    if (written_ == pending_.size()) {
      pending_.clear();
      written_ = 0;
    } else if (written_ > kMaxPending) {
      pending_.erase(0, written_);
      written_ = 0;
    }
    return StageStatus::Ok();
  }

  StageStatus WriteSome() {
    ssize_t n = child_.WriteStdin(std::string_view(pending_).substr(written_));
    if (n >= 0) {
      written_ += static_cast<size_t>(n);
      return StageStatus::Ok();
    }
    if (errno == EAGAIN) return StageStatus::Ok();
    if (errno != EPIPE) return StageStatus::Fatal(std::string("cannot write to the command: ") + strerror(errno));
    // It exited or closed its stdin: what it did not take is dropped.
    input_closed_ = true;
    child_.CloseStdin();
    pending_.clear();
    written_ = 0;
    return StageStatus::Ok();
  }

  StageStatus ReadSome(Emitter& out) {
    const size_t had = partial_.size();
    partial_.resize(had + kReadChunk);
    ssize_t n = child_.ReadStdout(partial_.data() + had, kReadChunk);
    partial_.resize(had + static_cast<size_t>(n > 0 ? n : 0));
    if (n < 0) {
      if (errno == EAGAIN) return StageStatus::Ok();
      return StageStatus::Fatal(std::string("cannot read the command's output: ") + strerror(errno));
    }
    size_t start = 0;
    for (size_t nl; !downstream_done_ && (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1)
      EmitLine(std::string_view(partial_).substr(start, nl - start), out);
    partial_.erase(0, start);
    if (n == 0) {
      if (!partial_.empty() && !downstream_done_) EmitLine(partial_, out);
      partial_.clear();
      child_.CloseStdout();
    }
    return StageStatus::Ok();
  }

  void EmitLine(std::string_view line, Emitter& out) {
    if (out.Emit(line, ++emitted_)) return;
    // Downstream wants no more: closing both pipes ends the command as a
    // shell pipeline would end it.
    downstream_done_ = true;
    child_.CloseStdin();
    child_.CloseStdout();
  }

  ChildProcess child_;
  std::string pending_;  // records not yet taken by the command, from written_
  size_t written_ = 0;
  std::string partial_;  // output after its last newline
  int64_t emitted_ = 0;
  int64_t last_pump_ns_ = 0;
  bool input_closed_ = false;
  bool downstream_done_ = false;
};

}  // namespace

std::unique_ptr<Stage> MakeShStage(std::string command, std::string* error) {
  if (command.find_first_not_of(" \t\r\n") == std::string::npos) {
    *error = "the command is empty";
    return nullptr;
  }
  auto stage = std::make_unique<ShStage>();
  if (!stage->Start(command, error)) return nullptr;
  return stage;
}

}  // namespace flow
