// What the machine allows a run: the figures `flowrun check` compares a plan
// against, and a probe of the files the program names. Both are read through
// plain values or an interface so the planner's tests can fake them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flow {

// Which limit `SystemLimits::max_processes` is: the tightest of those that
// apply, since any of them makes fork() fail with EAGAIN.
enum class ProcessLimit : uint8_t {
  kRlimitNproc,   // RLIMIT_NPROC soft: threads of the real uid (not enforced for root)
  kCgroupPids,    // cgroup v2 pids.max: tasks in our cgroup
  kThreadsMax,    // kernel.threads-max: every thread of the system
};
// "RLIMIT_NPROC", "pids.max", "kernel.threads-max".
const char* ProcessLimitName(ProcessLimit limit);
// Whose limit it is, for a sentence: "this user", "this cgroup", "the system".
const char* ProcessLimitScope(ProcessLimit limit);

struct SystemLimits {
  static constexpr int64_t kUnlimited = -1;

  int64_t max_processes = kUnlimited;
  ProcessLimit process_limit = ProcessLimit::kRlimitNproc;
  // The processes and threads already counted against `max_processes`
  // (RLIMIT_NPROC counts every thread of the real uid, not processes).
  int64_t current_user_processes = 0;
  int64_t max_open_files = kUnlimited;   // RLIMIT_NOFILE soft
  // MemAvailable, lowered to what a cgroup v2 memory.max leaves; kUnlimited
  // when neither can be read.
  int64_t available_memory_bytes = kUnlimited;
  int online_cpus = 1;
};

// The limits of this process as the kernel sees them now.
SystemLimits ReadSystemLimits();

// The file system as `check` needs to see it. Errors are strerror() text
// ("No such file or directory"), "" meaning none.
class PathProbe {
 public:
  virtual ~PathProbe() = default;
  // "" when `path` is a file (not a directory) this process may read.
  virtual std::string ReadableFileError(const std::string& path) = 0;
  // "" when this process may create a file in directory `dir`.
  virtual std::string WritableDirError(const std::string& dir) = 0;
  // True when `path` exists and is a directory.
  virtual bool IsDirectory(const std::string& path) = 0;
  // The paths matching a shell glob, sorted as read() reads them.
  virtual std::vector<std::string> Glob(const std::string& pattern) = 0;
};

// The real file system, through stat(), access() and glob().
class RealPathProbe : public PathProbe {
 public:
  std::string ReadableFileError(const std::string& path) override;
  std::string WritableDirError(const std::string& dir) override;
  bool IsDirectory(const std::string& path) override;
  std::vector<std::string> Glob(const std::string& pattern) override;
};

}  // namespace flow
