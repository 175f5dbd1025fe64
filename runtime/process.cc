// The only file of flowrun that calls fork, waitpid, sigaction, prctl, kill
// and setpgid (but for a worker's crash report: runtime/crash_report.cc).
// Every call is checked; the comments say why each signal-mask and
// process-group decision is what it is.
#include "runtime/process.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>

#include "compiler/system_limits.h"
#include "runtime/crash_report.h"
#include "runtime/trace.h"

namespace flow {
namespace {

std::string Errno(const char* call, int error) {
  return std::string(call) + ": " + strerror(error);
}

// The signals the supervisor takes from its signalfd. SIGPIPE is among them
// only to be swallowed: a supervisor whose stderr reader went away learns it
// from write()'s EPIPE and carries on with the run's cleanup, instead of
// dying on the spot and leaving the cleanup undone.
// SIGINT and SIGTERM: those not ignored (InterruptSignals).
sigset_t WatchedSignals() {
  sigset_t set = InterruptSignals();
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGPIPE);
  return set;
}

ExitStatus DecodeWaitStatus(int wait_status) {
  ExitStatus status;
  if (WIFSIGNALED(wait_status)) {
    status.signal = WTERMSIG(wait_status);
  } else {
    status.code = WEXITSTATUS(wait_status);
  }
  return status;
}

// Writes `text` to the child's stderr; used only between fork and the body,
// where stdio may hold locks copied from the parent.
void ChildSay(const std::string& text) {
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(STDERR_FILENO, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nobody to tell: the child exits anyway
    data += n;
    left -= static_cast<size_t>(n);
  }
}

[[noreturn]] void ChildFail(const char* call) {
  ChildSay(std::string("flowrun: cannot set up the worker: ") + Errno(call, errno) + "\n");
  _exit(127);
}

// A worker starts as a process image of its own would after exec: handlers
// the parent installed (doctest's crash reporter, a sanitizer's) go back to
// the default action, so a worker that aborts dies of SIGABRT where the
// supervisor can see it, instead of running the parent's code. Ignored
// signals stay ignored, as exec keeps them.
void ResetCaughtSignals() {
  for (int sig = 1; sig <= SIGRTMAX; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP || (sig > 31 && sig < SIGRTMIN)) continue;
    struct sigaction current {};
    if (sigaction(sig, nullptr, &current) < 0) continue;  // a number the kernel has no slot for
    bool caught = (current.sa_flags & SA_SIGINFO) != 0 ||
                  (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN);
    if (!caught) continue;
    struct sigaction reset {};
    reset.sa_handler = SIG_DFL;
    sigemptyset(&reset.sa_mask);
    if (sigaction(sig, &reset, nullptr) < 0) ChildFail("sigaction");
  }
}

[[noreturn]] void RunChild(const ChildOptions& options, const std::function<int()>& body,
                           const int pipe_fds[2], pid_t parent) {
  if (pipe_fds[1] >= 0) {
    if (pipe_fds[1] == STDERR_FILENO) {
      // The parent had no stderr, so the pipe took fd 2: keep it across exec.
      if (fcntl(STDERR_FILENO, F_SETFD, 0) < 0) ChildFail("fcntl");
    } else {
      if (dup2(pipe_fds[1], STDERR_FILENO) < 0) ChildFail("dup2");
      if (close(pipe_fds[1]) < 0) ChildFail("close");
    }
    if (close(pipe_fds[0]) < 0) ChildFail("close");
  }
  // The parent makes the same call after fork; whichever runs first wins,
  // so the child is in its group before either goes on (a group kill sent
  // right after fork cannot miss it).
  if (options.process_group != kKeepGroup && setpgid(0, options.process_group) < 0) {
    ChildFail("setpgid");
  }
  // SIGKILL when the thread that forked us ends, even by SIGKILL: no worker
  // outlives the supervisor. If the parent died before this prctl, the
  // signal will never come, and getppid() shows it: end now.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) ChildFail("prctl");
  if (getppid() != parent) _exit(127);
  // The name shown by ps and top; cosmetic, so a failure is not fatal.
  std::string comm = (options.comm.empty() ? options.name : options.comm).substr(0, 15);
  if (prctl(PR_SET_NAME, comm.c_str()) < 0) ChildSay("flowrun: cannot name the worker process\n");
  ResetCaughtSignals();
  InstallCrashReport();
  for (int fd : options.close_in_child) {
    if (close(fd) < 0) ChildFail("close");
  }
  // The supervisor blocks the signals it reads from its signalfd; the
  // worker must get them delivered normally, so it gets the mask the
  // supervisor's caller had. Nothing is pending: fork clears that.
  if (options.worker_signals) {
    for (int sig : {SIGPIPE, SIGXFSZ, SIGINT, SIGQUIT, SIGTSTP}) {
      struct sigaction ignore {};
      ignore.sa_handler = SIG_IGN;
      sigemptyset(&ignore.sa_mask);
      if (sigaction(sig, &ignore, nullptr) < 0) ChildFail("sigaction");
    }
  }
  if (options.signal_mask != nullptr) {
    int error = pthread_sigmask(SIG_SETMASK, options.signal_mask, nullptr);
    if (error != 0) {
      errno = error;
      ChildFail("pthread_sigmask");
    }
  }
  int code = 1;
  try {
    code = body();
  } catch (const std::exception& e) {
    ChildSay(std::string("flowrun: worker '") + options.name + "' failed: " + e.what() + "\n");
  } catch (...) {
    ChildSay(std::string("flowrun: worker '") + options.name + "' failed: unknown exception\n");
  }
  // _exit, not exit: the parent's atexit handlers, static destructors and
  // leak checker belong to the parent. What the body wrote through stdio is
  // its own and must reach its file first.
  if (fflush(nullptr) != 0) code = code == 0 ? 1 : code;
  TraceEvent("child " + std::string(options.name) + " exit");
  _exit(code);
}

// Why fork failed with EAGAIN, naming the limit that is reached.
std::string ProcessLimitReached() {
  SystemLimits limits = ReadSystemLimits();
  if (limits.max_processes == SystemLimits::kUnlimited) return Errno("fork", EAGAIN);
  return std::string("the process limit for ") + ProcessLimitScope(limits.process_limit) + " (" +
         ProcessLimitName(limits.process_limit) + " = " + std::to_string(limits.max_processes) +
         ") is reached";
}

void CloseIfOpen(int fd) {
  if (fd >= 0) close(fd);
}

}  // namespace

sigset_t InterruptSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction current {};
    const bool ignored =
        sigaction(sig, nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN;
    if (!ignored) sigaddset(&set, sig);
  }
  return set;
}

std::string SignalName(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  if (abbrev == nullptr) return "signal " + std::to_string(signal);
  return std::string("SIG") + abbrev;
}

std::string DescribeExit(const ExitStatus& status) {
  if (status.signal == 0) return "exited with code " + std::to_string(status.code);
  std::string text = "was killed by signal " + SignalName(status.signal);
  if (const char* what = sigdescr_np(status.signal)) text += std::string(" (") + what + ")";
  return text;
}

// The calls below are not checked: a destructor has no one to report to,
// and each can fail only on arguments that are known good.
SignalWatch::~SignalWatch() {
  if (fd_ < 0) return;
  close(fd_);
  // A SIGPIPE or SIGCHLD still pending would act the moment it is
  // unblocked (SIGPIPE kills); take them first. A pending SIGINT or SIGTERM
  // is left for its default action: the user asked for it.
  sigset_t swallow;
  sigemptyset(&swallow);
  sigaddset(&swallow, SIGPIPE);
  sigaddset(&swallow, SIGCHLD);
  struct timespec now = {0, 0};
  while (sigtimedwait(&swallow, nullptr, &now) > 0) {
  }
  // Unblock only what Open() blocked; signals the caller blocked stay so.
  sigset_t unblock = WatchedSignals();
  for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGPIPE}) {
    if (sigismember(&original_mask_, sig)) sigdelset(&unblock, sig);
  }
  pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
  if (restore_sigchld_) sigaction(SIGCHLD, &original_sigchld_, nullptr);
}

bool SignalWatch::Open(std::string* err) {
  // With SIGCHLD ignored (a disposition inherited across exec) or
  // SA_NOCLDWAIT, the kernel reaps children itself and waitpid() can never
  // report how a worker ended.
  if (sigaction(SIGCHLD, nullptr, &original_sigchld_) < 0) {
    *err = Errno("sigaction", errno);
    return false;
  }
  if (original_sigchld_.sa_handler == SIG_IGN || (original_sigchld_.sa_flags & SA_NOCLDWAIT)) {
    struct sigaction deflt {};
    deflt.sa_handler = SIG_DFL;
    sigemptyset(&deflt.sa_mask);
    if (sigaction(SIGCHLD, &deflt, nullptr) < 0) {
      *err = Errno("sigaction", errno);
      return false;
    }
    restore_sigchld_ = true;
  }
  sigset_t watched = WatchedSignals();
  int error = pthread_sigmask(SIG_BLOCK, &watched, &original_mask_);
  if (error != 0) {
    *err = Errno("pthread_sigmask", error);
    return false;
  }
  fd_ = signalfd(-1, &watched, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd_ < 0) {
    *err = Errno("signalfd", errno);
    pthread_sigmask(SIG_SETMASK, &original_mask_, nullptr);
    if (restore_sigchld_) sigaction(SIGCHLD, &original_sigchld_, nullptr);
    restore_sigchld_ = false;
    return false;
  }
  return true;
}

bool SignalWatch::Read(bool* child_exited, std::vector<int>* interrupts, std::string* err) {
  signalfd_siginfo infos[16];
  for (;;) {
    ssize_t n = read(fd_, infos, sizeof infos);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return true;
      *err = Errno("read signalfd", errno);
      return false;
    }
    for (size_t i = 0; i < static_cast<size_t>(n) / sizeof infos[0]; ++i) {
      int sig = static_cast<int>(infos[i].ssi_signo);
      if (sig == SIGCHLD) *child_exited = true;
      if (sig == SIGINT || sig == SIGTERM) interrupts->push_back(sig);
    }
  }
}

bool StartChild(const ChildOptions& options, const std::function<int()>& body, Child* child,
                std::string* err) {
  std::string what = "cannot start worker '" + options.name + "': ";
  PrepareCrashReport();  // once here, not in each of 64 children
  int pipe_fds[2] = {-1, -1};
  if (options.capture_stderr) {
    if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
      *err = what + "cannot create its log pipe: " + strerror(errno);
      return false;
    }
    // Only the supervisor's end is non-blocking: a worker writing to its
    // stderr expects to wait when the pipe is full.
    int flags = fcntl(pipe_fds[0], F_GETFL);
    if (flags < 0 || fcntl(pipe_fds[0], F_SETFL, flags | O_NONBLOCK) < 0) {
      *err = what + Errno("fcntl", errno);
      CloseIfOpen(pipe_fds[0]);
      CloseIfOpen(pipe_fds[1]);
      return false;
    }
  }
  // fork copies stdio's buffers: flush them, or what the parent wrote but
  // had not flushed would be written again by every child.
  fflush(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int error = errno;
    CloseIfOpen(pipe_fds[0]);
    CloseIfOpen(pipe_fds[1]);
    *err = what + (error == EAGAIN ? ProcessLimitReached() : Errno("fork", error));
    return false;
  }
  if (pid == 0) RunChild(options, body, pipe_fds, parent);

  CloseIfOpen(pipe_fds[1]);
  if (options.process_group != kKeepGroup) {
    // The child makes this call too (see RunChild). If it fails here the
    // child is outside the group, where no group kill or group wait would
    // find it: end it now rather than leave it loose.
    pid_t group = options.process_group == 0 ? pid : options.process_group;
    if (setpgid(pid, group) < 0 && errno != EACCES) {
      *err = what + Errno("setpgid", errno);
      std::string ignored;
      ExitStatus status;
      SendSignal(pid, SIGKILL, &ignored);
      WaitForChild(pid, &status, &ignored);
      CloseIfOpen(pipe_fds[0]);
      return false;
    }
  }
  child->pid = pid;
  child->stderr_fd = pipe_fds[0];
  return true;
}

bool SpawnProgram(const std::vector<std::string>& argv, int stdin_fd, Child* child, std::string* err, int fd3) {
  // Everything the child needs is made before the fork: after it, a
  // threaded parent's child may not allocate (another thread may have held
  // a lock in the allocator at the fork).
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
    *err = "cannot start '" + argv[0] + "': " + Errno("pipe2", errno);
    return false;
  }
  sigset_t empty;
  sigemptyset(&empty);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    *err = "cannot start '" + argv[0] + "': " + Errno("fork", errno);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return false;
  }
  if (pid == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) _exit(127);
    if (dup2(stdin_fd, STDIN_FILENO) < 0 || dup2(pipe_fds[1], STDERR_FILENO) < 0) _exit(127);
    // After the two above, which may have used descriptor 3 as a source.
    // dup2 onto itself would keep its close-on-exec flag.
    if (fd3 == 3 && fcntl(3, F_SETFD, 0) < 0) _exit(127);
    if (fd3 >= 0 && fd3 != 3 && dup2(fd3, 3) < 0) _exit(127);
    // libnats ignores SIGPIPE process-wide, and exec keeps what is ignored.
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
  child->pid = pid;
  child->stderr_fd = pipe_fds[0];
  return true;
}

// The group leader's parent-death signal (see StartGroupLeader).
constexpr int kSupervisorGone = SIGUSR2;

namespace {

// In the group leader: the files it removes when the supervisor is gone
// (set before the signal can come; read in its handler, which neither
// allocates nor locks: unlink and kill are async-signal-safe).
const std::vector<std::string>* orphan_files_of_leader = nullptr;

// The supervisor is gone: nothing it left must outlive it, not even a
// sink's temporary file (whose removal was the supervisor's).
void EndOrphanedGroup() {
  if (orphan_files_of_leader != nullptr) {
    for (const std::string& file : *orphan_files_of_leader) unlink(file.c_str());
  }
  kill(0, SIGKILL);
}

}  // namespace

bool StartGroupLeader(const std::string& first_worker, const sigset_t* signal_mask,
                      std::span<const int> close_in_child, std::span<const std::string> orphan_files, pid_t* pid,
                      std::string* err) {
  ChildOptions options;
  options.name = first_worker;
  // Its own name from its first instruction: it is no worker, and a tool
  // that picks workers by their "label#i" names (the chaos test's killer)
  // must never take it for one.
  options.comm = "flowrun-group";
  options.process_group = 0;
  options.signal_mask = signal_mask;
  options.close_in_child = close_in_child;
  Child child;
  bool started = StartChild(
      options,
      [files = std::vector<std::string>(orphan_files.begin(), orphan_files.end())] {
        // The supervisor gone, even SIGKILLed: every process of the group
        // goes too. The workers die of their own PR_SET_PDEATHSIG, but the
        // commands they started (exec, sh, and their children) have none
        // and would run on to their end, orphans, holding files and ports.
        // So this one's parent-death signal is one that it catches (the
        // supervisor never sends it) and kills the whole group with, once
        // it has removed the sinks' temporary files.
        orphan_files_of_leader = &files;
        const pid_t parent = getppid();
        struct sigaction orphaned {};
        orphaned.sa_handler = [](int) { EndOrphanedGroup(); };
        sigemptyset(&orphaned.sa_mask);
        sigaction(kSupervisorGone, &orphaned, nullptr);
        // Died between the two settings: the first (SIGKILL) would have
        // come, and getppid() shows it.
        if (prctl(PR_SET_PDEATHSIG, kSupervisorGone) < 0 || getppid() != parent) EndOrphanedGroup();
        // It needs no file, and must not keep one: a pipe's write end held
        // here would keep its reader from ever seeing end of file.
        if (close_range(0, ~0U, 0) < 0) return 127;
        // The terminal's keys reach this group while it holds the terminal
        // (TerminalLoan): the supervisor is told, as if they had reached it.
        struct sigaction pass {};
        pass.sa_handler = [](int sig) { kill(getppid(), sig == SIGQUIT ? SIGTERM : SIGINT); };
        sigemptyset(&pass.sa_mask);
        sigaction(SIGINT, &pass, nullptr);
        sigaction(SIGQUIT, &pass, nullptr);
        signal(SIGTSTP, SIG_IGN);
        for (;;) pause();
      },
      &child, err);
  *pid = child.pid;
  return started;
}

// tcsetpgrp from a background process raises SIGTTOU unless it is
// blocked: blocked around each call, so the supervisor (then in the
// background) can take the terminal back.
static void SetForeground(pid_t group) {
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &ttou, &old);
  tcsetpgrp(STDIN_FILENO, group);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void TerminalLoan::Lend(pid_t group) {
  if (owner_ != 0 || group <= 1 || !isatty(STDIN_FILENO)) return;
  // Only a terminal we hold in the foreground is ours to lend.
  const pid_t own = getpgrp();
  if (tcgetpgrp(STDIN_FILENO) != own) return;
  SetForeground(group);
  owner_ = own;
}

void TerminalLoan::Return() {
  if (owner_ == 0) return;
  SetForeground(owner_);
  owner_ = 0;
}

bool BecomeSubreaper() { return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0; }

int KillStrayChildren(pid_t group, std::span<const pid_t> known) {
  // /proc/self/task/*/children would miss orphans adopted by this thread
  // only if the supervisor had other threads; it has none.
  const std::string path = "/proc/self/task/" + std::to_string(getpid()) + "/children";
  FILE* file = fopen(path.c_str(), "re");
  if (file == nullptr) return 0;
  int killed = 0;
  long pid = 0;
  while (fscanf(file, "%ld", &pid) == 1) {
    const auto child = static_cast<pid_t>(pid);
    if (std::find(known.begin(), known.end(), child) != known.end()) continue;
    if (getpgid(child) != group) continue;
    if (kill(child, SIGKILL) == 0) ++killed;
  }
  fclose(file);
  return killed;
}

pid_t ReapGroupMember(pid_t group, bool block, ExitStatus* status, std::string* err) {
  for (;;) {
    int wait_status = 0;
    pid_t pid = waitpid(-group, &wait_status, block ? 0 : WNOHANG);
    if (pid < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) return 0;
      *err = Errno("waitpid", errno);
      return -1;
    }
    if (pid > 0) *status = DecodeWaitStatus(wait_status);
    return pid;
  }
}

bool WaitForChild(pid_t pid, ExitStatus* status, std::string* err) {
  for (;;) {
    int wait_status = 0;
    if (waitpid(pid, &wait_status, 0) < 0) {
      if (errno == EINTR) continue;
      *err = Errno("waitpid", errno);
      return false;
    }
    *status = DecodeWaitStatus(wait_status);
    return true;
  }
}

bool SendSignal(pid_t pid, int signal, std::string* err) {
  // kill(0) and kill(-1) mean "my group" and "everyone": never by accident.
  if (pid <= 0) {
    *err = "refusing to signal pid " + std::to_string(pid);
    return false;
  }
  if (kill(pid, signal) < 0 && errno != ESRCH) {
    *err = Errno("kill", errno);
    return false;
  }
  return true;
}

bool SignalGroup(pid_t group, int signal, std::string* err) {
  if (group <= 1) {
    *err = "refusing to signal process group " + std::to_string(group);
    return false;
  }
  if (kill(-group, signal) < 0 && errno != ESRCH) {
    *err = Errno("kill", errno);
    return false;
  }
  return true;
}

}  // namespace flow
