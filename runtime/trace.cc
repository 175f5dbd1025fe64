#include "runtime/trace.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace flow {
namespace {

// Opened at the first milestone of the process tree and inherited across
// fork and exec (O_APPEND: lines from many processes never overwrite).
int TraceFd() {
  static const int fd = [] {
    const char* path = std::getenv("FLOWRUN_TRACE");
    if (path == nullptr || *path == '\0') return -1;
    return open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  }();
  return fd;
}

}  // namespace

bool Tracing() { return TraceFd() >= 0; }

void TraceEvent(std::string_view what) {
  const int fd = TraceFd();
  if (fd < 0) return;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  char head[64];
  const int n = std::snprintf(head, sizeof head, "%lld %d ",
                              static_cast<long long>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000, getpid());
  std::string line(head, static_cast<size_t>(n));
  line.append(what);
  line.push_back('\n');
  // One write: a line is whole in the file whatever other processes write.
  (void)!write(fd, line.data(), line.size());
}

}  // namespace flow
