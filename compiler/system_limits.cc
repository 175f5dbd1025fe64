#include "compiler/system_limits.h"

#include <dirent.h>
#include <glob.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace flow {

const char* ProcessLimitName(ProcessLimit limit) {
  switch (limit) {
    case ProcessLimit::kRlimitNproc: return "RLIMIT_NPROC";
    case ProcessLimit::kCgroupPids: return "pids.max";
    case ProcessLimit::kThreadsMax: return "kernel.threads-max";
  }
  return "";
}

const char* ProcessLimitScope(ProcessLimit limit) {
  switch (limit) {
    case ProcessLimit::kRlimitNproc: return "this user";
    case ProcessLimit::kCgroupPids: return "this cgroup";
    case ProcessLimit::kThreadsMax: return "the system";
  }
  return "";
}

namespace {

// The first line of a small file (a /proc or /sys value), "" if unreadable.
std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// A decimal count, or -1 ("max", empty, garbage).
int64_t ParseCount(const std::string& text) {
  if (text.empty()) return -1;
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || value < 0) return -1;
  return value;
}

int64_t SoftLimit(int resource) {
  rlimit limit{};
  if (getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return SystemLimits::kUnlimited;
  return static_cast<int64_t>(limit.rlim_cur);
}

// RLIMIT_NPROC is checked at fork() against the threads of the real uid, so
// count threads ("Threads:" in each /proc/PID/status), not processes.
int64_t CountThreadsOfUid(uid_t uid) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  int64_t threads = 0;
  while (dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    // A process may exit while we read: a missing file counts as nothing.
    std::ifstream status(std::string("/proc/") + entry->d_name + "/status");
    std::string line;
    bool ours = false;
    while (std::getline(status, line)) {
      if (line.rfind("Uid:", 0) == 0) {
        std::istringstream fields(line.substr(4));
        int64_t real_uid = -1;
        fields >> real_uid;
        ours = real_uid == static_cast<int64_t>(uid);
        if (!ours) break;
      } else if (ours && line.rfind("Threads:", 0) == 0) {
        threads += std::max<int64_t>(0, ParseCount(line.substr(8)));
        break;
      }
    }
  }
  closedir(proc);
  return threads;
}

// The cgroup v2 directory of this process, "" when there is none (v1 or hybrid).
std::string CgroupV2Dir() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) != 0) continue;
    std::string dir = "/sys/fs/cgroup" + line.substr(3);
    if (access((dir + "/cgroup.controllers").c_str(), F_OK) == 0) return dir;
  }
  return "";
}

struct ProcessCandidate {
  ProcessLimit limit;
  int64_t max;
  int64_t in_use;
};

// The total thread count of the system: /proc/loadavg's "running/total".
int64_t CountSystemThreads() {
  std::string loadavg = ReadFirstLine("/proc/loadavg");
  size_t slash = loadavg.find('/');
  return slash == std::string::npos ? 0 : std::max<int64_t>(0, ParseCount(loadavg.substr(slash + 1)));
}

void ReadProcessLimit(const std::string& cgroup_dir, SystemLimits& limits) {
  std::vector<ProcessCandidate> candidates;
  // The kernel exempts root from RLIMIT_NPROC.
  int64_t nproc = SoftLimit(RLIMIT_NPROC);
  if (nproc != SystemLimits::kUnlimited && getuid() != 0)
    candidates.push_back({ProcessLimit::kRlimitNproc, nproc, CountThreadsOfUid(getuid())});
  if (!cgroup_dir.empty()) {
    int64_t pids_max = ParseCount(ReadFirstLine(cgroup_dir + "/pids.max"));
    if (pids_max >= 0)
      candidates.push_back({ProcessLimit::kCgroupPids, pids_max,
                            std::max<int64_t>(0, ParseCount(ReadFirstLine(cgroup_dir + "/pids.current")))});
  }
  int64_t threads_max = ParseCount(ReadFirstLine("/proc/sys/kernel/threads-max"));
  if (threads_max >= 0) candidates.push_back({ProcessLimit::kThreadsMax, threads_max, CountSystemThreads()});

  const ProcessCandidate* tightest = nullptr;
  for (const ProcessCandidate& c : candidates)
    if (tightest == nullptr || c.max - c.in_use < tightest->max - tightest->in_use) tightest = &c;
  if (tightest == nullptr) return;
  limits.max_processes = tightest->max;
  limits.process_limit = tightest->limit;
  limits.current_user_processes = tightest->in_use;
}

int64_t ReadAvailableMemory(const std::string& cgroup_dir) {
  int64_t available = SystemLimits::kUnlimited;
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    int64_t kib = -1;
    if (fields >> kib && kib >= 0) available = kib * 1024;
    break;
  }
  // In a container MemAvailable is the host's; the cgroup's limit is what
  // the OOM killer enforces.
  if (!cgroup_dir.empty()) {
    int64_t max = ParseCount(ReadFirstLine(cgroup_dir + "/memory.max"));
    int64_t current = ParseCount(ReadFirstLine(cgroup_dir + "/memory.current"));
    if (max >= 0 && current >= 0) {
      int64_t left = std::max<int64_t>(0, max - current);
      if (available == SystemLimits::kUnlimited || left < available) available = left;
    }
  }
  return available;
}

std::string ErrnoText(int error) { return std::strerror(error); }

}  // namespace

SystemLimits ReadSystemLimits() {
  SystemLimits limits;
  std::string cgroup_dir = CgroupV2Dir();
  ReadProcessLimit(cgroup_dir, limits);
  limits.max_open_files = SoftLimit(RLIMIT_NOFILE);
  limits.available_memory_bytes = ReadAvailableMemory(cgroup_dir);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  limits.online_cpus = cpus > 0 ? static_cast<int>(cpus) : 1;
  return limits;
}

std::string RealPathProbe::ReadableFileError(const std::string& path) {
  // stat() and access() rather than open(): opening a FIFO would block.
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return ErrnoText(errno);
  if (S_ISDIR(info.st_mode)) return ErrnoText(EISDIR);
  if (access(path.c_str(), R_OK) != 0) return ErrnoText(errno);
  return "";
}

std::string RealPathProbe::WritableDirError(const std::string& dir) {
  struct stat info {};
  if (stat(dir.c_str(), &info) != 0) return ErrnoText(errno);
  if (!S_ISDIR(info.st_mode)) return ErrnoText(ENOTDIR);
  // Creating the temporary file needs write and search permission.
  if (access(dir.c_str(), W_OK | X_OK) != 0) return ErrnoText(errno);
  return "";
}

bool RealPathProbe::IsDirectory(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::vector<std::string> RealPathProbe::Glob(const std::string& pattern) {
  glob_t matches{};
  std::vector<std::string> paths;
  if (glob(pattern.c_str(), 0, nullptr, &matches) == 0)
    paths.assign(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
  globfree(&matches);
  return paths;
}

}  // namespace flow
