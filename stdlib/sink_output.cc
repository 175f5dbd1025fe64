#include "stdlib/sink_output.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace flow {

bool WriteFully(int fd, const char* data, size_t size, uint64_t* written) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd ready = {fd, POLLOUT, 0};
        poll(&ready, 1, -1);
        continue;
      }
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
    *written += static_cast<uint64_t>(n);
  }
  return true;
}

std::string SinkError(int fd, const std::string& target, int error) {
  if (fd == STDOUT_FILENO)
    return error == EPIPE ? "stdout closed" : std::string("cannot write to stdout: ") + std::strerror(error);
  return "cannot write '" + target + "': " + std::strerror(error);
}

SinkOutput::~SinkOutput() {
  if (fd_ != STDOUT_FILENO && fd_ >= 0) close(fd_);
}

bool SinkOutput::Write(const char* data, size_t size) {
  if (WriteFully(fd_, data, size, &written_)) return true;
  Fail(errno);
  return false;
}

StageStatus SinkOutput::Fail(int error) {
  error_ = SinkError(fd_, target_, error);
  return StageStatus::Fatal(error_);
}

bool SinkOutput::Resume(uint64_t length) {
  written_ = length;
  // Only a regular file can be cut back: a device or a FIFO the run
  // writes in place (/dev/null) takes what comes.
  struct stat info {};
  if (fd_ == STDOUT_FILENO || fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode)) return true;
  if (ftruncate(fd_, static_cast<off_t>(length)) != 0 || lseek(fd_, static_cast<off_t>(length), SEEK_SET) < 0) {
    Fail(errno);
    return false;
  }
  return true;
}

StageStatus SinkOutput::Close() {
  if (fd_ == STDOUT_FILENO) return StageStatus::Ok();
  if (fsync(fd_) != 0 && errno != EINVAL) return Fail(errno);
  int fd = fd_;
  fd_ = -1;
  // close() can report a write error a networked file system deferred.
  if (close(fd) != 0 && errno != EINTR) return Fail(errno);
  return StageStatus::Ok();
}

}  // namespace flow
