#include "stdlib/child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>

extern char** environ;

namespace flow {
namespace {

constexpr size_t kReadChunk = 64 * 1024;

std::string Errno(const std::string& what, int error) { return what + strerror(error); }

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

// A close-on-exec pipe whose ends are both above stderr. A worker whose
// stdin or stdout was closed would otherwise get fd 0 or 1 here, and the
// child's dup2 onto 0 and 1 could then overwrite one end with the other.
bool MakePipe(int fds[2], std::string* error) {
  if (pipe2(fds, O_CLOEXEC) < 0) {
    *error = Errno("cannot create a pipe: ", errno);
    return false;
  }
  for (int i = 0; i < 2; ++i) {
    if (fds[i] > STDERR_FILENO) continue;
    int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    if (moved < 0) {
      *error = Errno("cannot create a pipe: ", errno);
      CloseFd(&fds[0]);
      CloseFd(&fds[1]);
      return false;
    }
    close(fds[i]);
    fds[i] = moved;
  }
  return true;
}

bool SetNonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) >= 0;
}

// The standard signals: the child gets each back to SIG_DFL (see the
// header for why). Real-time signals are left alone: the worker sets none.
sigset_t SignalsToReset() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig = 1; sig < 32; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaddset(&set, sig);
  }
  return set;
}

// posix_spawn's two attribute objects, destroyed on every path.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  // 0 or the error number of the first call that failed.
  int Prepare(int stdin_fd, int stdout_fd) {
    static const sigset_t kReset = SignalsToReset();
    sigset_t empty;
    sigemptyset(&empty);
    int rc = stdin_fd >= 0 ? posix_spawn_file_actions_adddup2(&actions_, stdin_fd, STDIN_FILENO)
                           : posix_spawn_file_actions_addopen(&actions_, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions_, stdout_fd, STDOUT_FILENO);
    // Everything above stderr goes, close-on-exec or not (see the header).
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions_, STDERR_FILENO + 1);
    if (rc == 0) rc = posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr_, &empty);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr_, &kReset);
    return rc;
  }

  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

}  // namespace

std::string FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/bin:/usr/bin";
  for (;;) {
    const size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    std::string file = (dir.empty() ? std::string(".") : std::string(dir)) + "/" + name;
    struct stat info {};
    if (stat(file.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(file.c_str(), X_OK) == 0) return file;
    if (colon == std::string_view::npos) return "";
    dirs.remove_prefix(colon + 1);
  }
}

std::string DescribeCommandExit(const ExitStatus& status) {
  if (status.signal == 0) return "command exited with status " + std::to_string(status.code);
  return "command was killed by signal " + std::to_string(status.signal) + " (" + SignalName(status.signal) + ")";
}

ChildProcess::~ChildProcess() {
  // Our pipe ends first: a child blocked on them gets EOF or EPIPE.
  CloseStdin();
  CloseStdout();
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int ignored = 0;
  while (waitpid(pid_, &ignored, 0) < 0 && errno == EINTR) {
  }
}

bool ChildProcess::Start(const std::vector<std::string>& argv, const SpawnOptions& options, std::string* error) {
  const std::string what = "cannot run '" + (argv.empty() ? std::string() : argv[0]) + "': ";
  if (pid_ > 0 || argv.empty()) {
    *error = what + "internal error: a command is already running or has no name";
    return false;
  }
  int out_pipe[2] = {-1, -1};
  int in_pipe[2] = {-1, -1};
  if (!MakePipe(out_pipe, error) || (options.pipe_stdin && !MakePipe(in_pipe, error))) {
    CloseFd(&out_pipe[0]);
    CloseFd(&out_pipe[1]);
    *error = what + *error;
    return false;
  }
  auto close_all = [&] {
    for (int* fd : {&out_pipe[0], &out_pipe[1], &in_pipe[0], &in_pipe[1]}) CloseFd(fd);
  };

  SpawnSetup setup;
  int rc = setup.Prepare(in_pipe[0], out_pipe[1]);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (rc == 0) {
    // glibc reports a failed exec here (and reaps that child itself).
    const std::string& file = options.program.empty() ? argv[0] : options.program;
    rc = file.find('/') != std::string::npos
             ? posix_spawn(&pid, file.c_str(), setup.actions(), setup.attr(), args.data(), environ)
             : posix_spawnp(&pid, file.c_str(), setup.actions(), setup.attr(), args.data(), environ);
  }
  if (rc != 0) {
    close_all();
    *error = Errno(what, rc);
    return false;
  }
  pid_ = pid;
  // The child's ends are its own now; keeping them would hide its EOF.
  CloseFd(&out_pipe[1]);
  CloseFd(&in_pipe[0]);
  stdout_fd_ = out_pipe[0];
  stdin_fd_ = in_pipe[1];
  if (options.nonblocking && (!SetNonblocking(stdout_fd_) || (stdin_fd_ >= 0 && !SetNonblocking(stdin_fd_)))) {
    *error = Errno(what + "fcntl: ", errno);
    CloseStdin();
    CloseStdout();
    kill(pid_, SIGKILL);
    ExitStatus ignored;
    std::string also_ignored;
    Wait(&ignored, &also_ignored);
    return false;
  }
  struct sigaction pipe_action {};
  sigpipe_ignored_ = sigaction(SIGPIPE, nullptr, &pipe_action) == 0 && pipe_action.sa_handler == SIG_IGN;
  return true;
}

void ChildProcess::CloseStdin() { CloseFd(&stdin_fd_); }
void ChildProcess::CloseStdout() { CloseFd(&stdout_fd_); }

ssize_t ChildProcess::WriteStdin(std::string_view bytes) {
  auto write_once = [&] {
    ssize_t n;
    do {
      n = write(stdin_fd_, bytes.data(), bytes.size());
    } while (n < 0 && errno == EINTR);
    return n;
  };
  // The worker ignores SIGPIPE; anyone else (a test) may not. Then SIGPIPE
  // is blocked in this thread around the write, and the one an EPIPE
  // raised is taken off before unblocking, unless one was pending already.
  if (sigpipe_ignored_) return write_once();
  sigset_t pipe_only, old_mask, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  ssize_t n = write_once();
  const int saved = errno;
  if (n < 0 && saved == EPIPE && !was_pending) {
    timespec zero{};
    while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = saved;
  return n;
}

ssize_t ChildProcess::ReadStdout(char* buffer, size_t size) {
  ssize_t n;
  do {
    n = read(stdout_fd_, buffer, size);
  } while (n < 0 && errno == EINTR);
  return n;
}

bool ChildProcess::ReadStdoutToEnd(std::string* out, std::string* error) {
  for (;;) {
    const size_t had = out->size();
    out->resize(had + kReadChunk);
    ssize_t n = ReadStdout(out->data() + had, kReadChunk);
    out->resize(had + static_cast<size_t>(n > 0 ? n : 0));
    if (n > 0) continue;
    if (n == 0) return true;
    if (errno == EAGAIN) {
      pollfd p = {stdout_fd_, POLLIN, 0};
      if (poll(&p, 1, -1) >= 0 || errno == EINTR) continue;
    }
    *error = Errno("cannot read the command's output: ", errno);
    return false;
  }
}

bool ChildProcess::Wait(ExitStatus* status, std::string* error) {
  if (pid_ <= 0) {
    *error = "internal error: no command to wait for";
    return false;
  }
  // This pid only: the worker's other children, if any, are not ours.
  int wait_status = 0;
  pid_t got;
  do {
    got = waitpid(pid_, &wait_status, 0);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    // ECHILD: someone reaped it (SIGCHLD ignored with SA_NOCLDWAIT). Its
    // pid may be reused already, so it is forgotten, never signalled.
    *error = Errno("cannot wait for the command: ", errno);
    pid_ = -1;
    return false;
  }
  pid_ = -1;
  *status = ExitStatus{};
  if (WIFSIGNALED(wait_status)) {
    status->signal = WTERMSIG(wait_status);
  } else {
    status->code = WEXITSTATUS(wait_status);
  }
  return true;
}

}  // namespace flow
