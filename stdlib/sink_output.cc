#include "stdlib/sink_output.h"

#include <poll.h>
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

}  // namespace flow
