#include "runtime/futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace flow {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
                  alignof(std::atomic<uint32_t>) == alignof(uint32_t),
              "the kernel reads the futex word as a plain uint32_t");

static uint32_t* Raw(std::atomic<uint32_t>* word) { return reinterpret_cast<uint32_t*>(word); }

void FutexWait(std::atomic<uint32_t>* word, uint32_t expected) {
  long rc = syscall(SYS_futex, Raw(word), FUTEX_WAIT, expected, nullptr, nullptr, 0);
  // EAGAIN: the word had already changed; EINTR: a signal. Both mean "look
  // again", which every caller does. Anything else is a programming error
  // (a bad address), and carrying on would spin.
  if (rc == -1 && errno != EAGAIN && errno != EINTR) std::abort();
}

void FutexWakeAll(std::atomic<uint32_t>* word) {
  long rc = syscall(SYS_futex, Raw(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
  if (rc == -1) std::abort();
}

}  // namespace flow
