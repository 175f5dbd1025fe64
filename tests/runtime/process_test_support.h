// Small helpers shared by the process-layer tests: reading what a worker
// wrote, waiting on a pipe with a bound (a failure bound, never a way to
// "wait for" something), and looking at processes through /proc.
#pragma once

#include <dirent.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace flow::testing {

// A memory file to collect the workers' log lines: unlike a pipe it never
// fills up, so the supervisor never blocks on it while the test waits.
inline int MemoryFile() { return memfd_create("flowrun-test-log", MFD_CLOEXEC); }

inline std::string ReadWhole(int fd) {
  std::string text;
  char buffer[65536];
  off_t offset = 0;
  for (;;) {
    ssize_t n = pread(fd, buffer, sizeof buffer, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return text;
    text.append(buffer, static_cast<size_t>(n));
    offset += n;
  }
}

// Reads from `fd` (blocking or not) until end of file; false when
// `timeout_ms` passes with nothing new to read.
inline bool ReadToEnd(int fd, std::string* text, int timeout_ms = 20000) {
  char buffer[4096];
  for (;;) {
    pollfd p = {fd, POLLIN, 0};
    int ready = poll(&p, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return n == 0;
    text->append(buffer, static_cast<size_t>(n));
  }
}

// Reads exactly `size` bytes; false on end of file or after `timeout_ms`.
inline bool ReadExactly(int fd, void* data, size_t size, int timeout_ms = 20000) {
  char* out = static_cast<char*>(data);
  while (size > 0) {
    pollfd p = {fd, POLLIN, 0};
    int ready = poll(&p, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    ssize_t n = read(fd, out, size);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    out += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

inline void WriteAll(int fd, const void* data, size_t size) {
  const char* in = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = write(fd, in, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    in += n;
    size -= static_cast<size_t>(n);
  }
}

inline void WriteText(int fd, const std::string& text) { WriteAll(fd, text.data(), text.size()); }

// The process's state letter from /proc ('R', 'S', 'Z', ...), or 0 when
// there is no such process any more.
inline char ProcessState(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return 0;
  return line[paren + 2];
}

// A process that is gone or a zombie (dead, waiting for init to reap it).
inline bool IsDead(pid_t pid) {
  char state = ProcessState(pid);
  return state == 0 || state == 'Z' || state == 'X';
}

// Every process whose parent is `parent`, zombies included.
inline std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::ifstream stat(std::string("/proc/") + entry->d_name + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    size_t paren = line.rfind(')');
    if (paren == std::string::npos) continue;
    // After ") ": the state letter, a space, then the parent's pid.
    if (std::stol(line.substr(paren + 4)) == parent) children.push_back(std::stoi(entry->d_name));
  }
  closedir(proc);
  return children;
}

// The pids of every live (not zombie) process in process group `group`.
inline std::vector<pid_t> LiveMembersOf(pid_t group) {
  std::vector<pid_t> members;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return members;
  while (dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::ifstream stat(std::string("/proc/") + entry->d_name + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    size_t paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 >= line.size()) continue;
    char state = line[paren + 2];
    long ppid = 0, pgrp = 0;
    if (sscanf(line.c_str() + paren + 4, "%ld %ld", &ppid, &pgrp) != 2) continue;
    if (pgrp == group && state != 'Z' && state != 'X') members.push_back(std::stoi(entry->d_name));
  }
  closedir(proc);
  return members;
}

// Threads whose real uid is `uid` (what RLIMIT_NPROC counts).
inline int TasksOfUid(uid_t uid) {
  int tasks = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  while (dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::ifstream status(std::string("/proc/") + entry->d_name + "/status");
    std::string line;
    bool ours = false;
    while (std::getline(status, line)) {
      if (line.rfind("Uid:", 0) == 0) {
        ours = std::stol(line.substr(4)) == static_cast<long>(uid);
        if (!ours) break;
      } else if (ours && line.rfind("Threads:", 0) == 0) {
        tasks += std::stoi(line.substr(8));
        break;
      }
    }
  }
  closedir(proc);
  return tasks;
}

}  // namespace flow::testing
