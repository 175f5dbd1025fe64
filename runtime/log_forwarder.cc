#include "runtime/log_forwarder.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>

namespace flow {
namespace {

// Per Forward() call: enough to empty a full pipe a few times over, little
// enough that the loop gets back to its other workers and signals soon.
constexpr size_t kForwardBudget = 256 * 1024;
// What Close() reads at most from a dead worker's pipe: the worker's own
// bytes fit in the pipe's capacity; only a grandchild still holding the
// write end could produce more, and it must not keep the loop forever.
constexpr size_t kCloseBudget = 4 * 1024 * 1024;

}  // namespace

void LogLines::Add(std::string_view data, std::string* out) {
  while (!data.empty()) {
    // partial_ never exceeds kMaxLogLine, so `room` is what a line may
    // still take before it must be cut.
    size_t room = kMaxLogLine - partial_.size();
    size_t newline = data.substr(0, room + 1).find('\n');
    if (newline != std::string_view::npos) {
      Emit(data.substr(0, newline), out);
      data.remove_prefix(newline + 1);
    } else if (data.size() <= room) {
      partial_.append(data);
      return;
    } else {
      // More than `room` bytes and no newline among them: the line is too
      // long; pass on a full piece and go on with the rest.
      Emit(data.substr(0, room), out);
      data.remove_prefix(room);
    }
  }
}

void LogLines::Finish(std::string* out) {
  if (!partial_.empty()) Emit({}, out);
}

void LogLines::Emit(std::string_view tail, std::string* out) {
  out->append(prefix_);
  out->append(partial_);
  out->append(tail);
  out->push_back('\n');
  partial_.clear();
}

LogForwarder::~LogForwarder() {
  while (!streams_.empty()) Close(streams_.back().fd);
}

void LogForwarder::Add(int fd, const std::string& name) {
  streams_.push_back(Stream{fd, LogLines(name)});
}

bool LogForwarder::Forward(int fd) {
  Stream* stream = Find(fd);
  if (stream == nullptr) return false;
  bool open = Read(stream, kForwardBudget);
  if (!open) {
    stream->lines.Finish(&out_);
    Remove(fd);
  }
  Write();
  return open;
}

void LogForwarder::Close(int fd) {
  Stream* stream = Find(fd);
  if (stream == nullptr) return;
  Read(stream, kCloseBudget);
  stream->lines.Finish(&out_);
  Remove(fd);
  Write();
}

LogForwarder::Stream* LogForwarder::Find(int fd) {
  for (Stream& stream : streams_) {
    if (stream.fd == fd) return &stream;
  }
  return nullptr;
}

bool LogForwarder::Read(Stream* stream, size_t budget) {
  size_t taken = 0;
  while (taken < budget) {
    ssize_t n = read(stream->fd, buffer_.data(), std::min(buffer_.size(), budget - taken));
    if (n < 0) {
      if (errno == EINTR) continue;
      // EAGAIN: nothing more for now. Any other error on a pipe we created
      // means it cannot be read again: treat it as the end.
      return errno == EAGAIN;
    }
    if (n == 0) return false;
    stream->lines.Add(std::string_view(buffer_.data(), static_cast<size_t>(n)), &out_);
    taken += static_cast<size_t>(n);
  }
  return true;
}

void LogForwarder::Remove(int fd) {
  close(fd);
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [fd](const Stream& s) { return s.fd == fd; }),
                 streams_.end());
}

void LogForwarder::Write() {
  size_t done = 0;
  while (done < out_.size() && write_error_.empty()) {
    ssize_t n = write(out_fd_, out_.data() + done, out_.size() - done);
    if (n >= 0) {
      done += static_cast<size_t>(n);
    } else if (errno == EAGAIN) {
      // Someone made our stderr non-blocking (a shared terminal): wait
      // until it takes more, rather than drop or cut a line.
      pollfd writable = {out_fd_, POLLOUT, 0};
      if (poll(&writable, 1, -1) < 0 && errno != EINTR) {
        write_error_ = std::string("cannot write the workers' log: ") + strerror(errno);
      }
    } else if (errno != EINTR) {
      write_error_ = std::string("cannot write the workers' log: ") + strerror(errno);
    }
  }
  out_.clear();
}

}  // namespace flow
