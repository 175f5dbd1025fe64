// Multi-process test harness for the shared-memory queue: shared result
// memory, children that end with _exit, waiting for them without sleeping
// (pidfd + poll, with a deadline that fails the test instead of hanging),
// deterministic records, and a crash hook that SIGKILLs at a named point.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "runtime/shm_queue.h"

namespace flow::queue_test {

// An array in anonymous shared memory, visible to children forked after.
template <class T>
class SharedArray {
 public:
  explicit SharedArray(size_t n) : n_(n) {
    void* p = mmap(nullptr, Bytes(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();
    data_ = static_cast<T*>(p);
    for (size_t i = 0; i < n_; ++i) new (&data_[i]) T();
  }
  ~SharedArray() { munmap(data_, Bytes()); }
  SharedArray(const SharedArray&) = delete;
  SharedArray& operator=(const SharedArray&) = delete;
  T& operator[](size_t i) { return data_[i]; }
  size_t size() const { return n_; }

 private:
  size_t Bytes() const { return (n_ * sizeof(T) + 4095) / 4096 * 4096 + 4096; }
  size_t n_;
  T* data_ = nullptr;
};

// --- records ---------------------------------------------------------------

struct RecordSpec {
  uint32_t max_len = 40;       // ordinary records: 0 .. max_len bytes
  uint32_t large_every = 0;    // every Nth record is large (0: none)
  uint32_t large_len = 10000;  // its length
};

inline uint64_t RecordId(int producer, uint64_t k) { return uint64_t(producer) * 1000000007ull + k; }

inline uint32_t RecordLength(const RecordSpec& spec, uint64_t id) {
  if (spec.large_every != 0 && id % spec.large_every == spec.large_every - 1) return spec.large_len;
  return static_cast<uint32_t>((id * 2654435761ull >> 7) % (uint64_t{spec.max_len} + 1));
}

// Bytes that depend on the id and contain NULs and every other byte value.
inline void FillRecord(uint64_t id, char* out, size_t len) {
  uint64_t x = id * 0x9E3779B97F4A7C15ull + 1;
  for (size_t j = 0; j < len; ++j) {
    if (j % 8 == 0) x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    out[j] = static_cast<char>(j % 5 == 0 ? 0 : (x >> (8 * (j % 8))) & 0xFF);
  }
}

inline std::string RecordBytes(const RecordSpec& spec, uint64_t id) {
  std::string s(RecordLength(spec, id), '\0');
  FillRecord(id, s.data(), s.size());
  return s;
}

inline uint64_t Fnv(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}

// A record's id is nr - 1; its content must be what RecordBytes makes.
inline bool RecordIsRight(const RecordSpec& spec, const RecordView& r) {
  if (r.nr < 1) return false;
  uint64_t id = static_cast<uint64_t>(r.nr - 1);
  if (r.bytes.size() != RecordLength(spec, id)) return false;
  std::string expected(r.bytes.size(), '\0');
  FillRecord(id, expected.data(), expected.size());
  return r.bytes == expected;
}

// --- children ----------------------------------------------------------------

// Forked children, each running a body and ending with _exit (code 0 when
// the body returns true, 1 when false, 2 on an exception).
class Children {
 public:
  ~Children() { KillAll(); }

  pid_t Spawn(const std::function<bool()>& body) {
    std::fflush(nullptr);  // nothing buffered gets written twice
    pid_t pid = fork();
    if (pid < 0) std::abort();
    if (pid == 0) {
      int code = 2;
      try {
        code = body() ? 0 : 1;
      } catch (...) {
      }
      _exit(code);
    }
    int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) std::abort();
    live_.push_back({pid, fd});
    return pid;
  }

  // Waits for any child to end, up to `timeout_ms`. False on timeout.
  bool WaitAny(int timeout_ms, pid_t* pid, int* status) {
    if (live_.empty()) return false;
    std::vector<pollfd> fds;
    for (auto& c : live_) fds.push_back({c.fd, POLLIN, 0});
    int rc;
    do rc = poll(fds.data(), fds.size(), timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc <= 0) return false;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      *pid = live_[i].pid;
      if (waitpid(*pid, status, 0) != *pid) std::abort();
      close(live_[i].fd);
      live_.erase(live_.begin() + static_cast<long>(i));
      return true;
    }
    return false;
  }

  // Waits for every child; true when all exited with 0 in time.
  bool WaitAll(int timeout_ms, std::string* why) {
    while (!live_.empty()) {
      pid_t pid;
      int status;
      if (!WaitAny(timeout_ms, &pid, &status)) {
        *why = "timed out with " + std::to_string(live_.size()) + " children running";
        KillAll();
        return false;
      }
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        *why = "child " + std::to_string(pid) + " ended with status " + std::to_string(status);
        KillAll();
        return false;
      }
    }
    return true;
  }

  void KillAll() {
    for (auto& c : live_) {
      kill(c.pid, SIGKILL);
      waitpid(c.pid, nullptr, 0);
      close(c.fd);
    }
    live_.clear();
  }

  size_t running() const { return live_.size(); }

 private:
  struct Child {
    pid_t pid;
    int fd;
  };
  std::vector<Child> live_;
};

// --- crash points ------------------------------------------------------------

// In a child: SIGKILL itself at the `occurrence`th time it passes (op, phase).
inline const char* armed_op = nullptr;
inline const char* armed_phase = nullptr;
inline int armed_left = 0;

inline void CrashHookForTests(const char* op, const char* phase) {
  // "*" as the op: any operation's `phase` counts.
  if (armed_op == nullptr || (std::strcmp(armed_op, "*") != 0 && std::strcmp(op, armed_op) != 0) ||
      std::strcmp(phase, armed_phase) != 0) {
    return;
  }
  if (--armed_left == 0) raise(SIGKILL);
}

inline void ArmCrash(const char* op, const char* phase, int occurrence) {
  armed_op = op;
  armed_phase = phase;
  armed_left = occurrence;
  SetShmQueueCrashHook(&CrashHookForTests);
}

// Test code's own points go through the same hook.
inline void TestPoint(const char* op, const char* phase) {
  if (armed_op != nullptr) CrashHookForTests(op, phase);
}

}  // namespace flow::queue_test
