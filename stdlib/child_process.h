// The one place in stdlib that starts and waits for processes: the commands
// of exec() and sh(). (The runtime's own workers are forked in
// runtime/process.cc; these are commands that a worker runs.)
//
// Why posix_spawn and not fork: a worker may map large queues, and
// posix_spawn (clone with CLONE_VM | CLONE_VFORK in glibc) copies no page
// tables, so exec's spawn-per-record cost stays that of the exec itself.
//
// What a command gets, and why:
// - stdout: a pipe to us. stdin: /dev/null, or a pipe for sh(). stderr: the
//   worker's, which is already a pipe to the supervisor, so its lines reach
//   the log prefixed `[exec#2] ` like the worker's own.
// - Every signal back to its default action and an empty signal mask: the
//   worker ignores SIGPIPE and SIGXFSZ (runtime/runner.cc), and ignored
//   signals survive exec, so without this `yes | head -1` would never end and
//   a shell could not wait for its children if SIGCHLD were ignored.
// - No other descriptor of the worker (queues, logs, the other end of its
//   own pipes): a command holding a pipe's write end would keep its reader
//   from ever seeing end of file.
// - The worker's process group: the supervisor ends every run (success,
//   failure, SIGINT/SIGTERM after the grace) by SIGKILL to that group, so a
//   command never outlives the run. It may outlive its own worker: a worker
//   killed alone (timeout, crash) is replaced while its command runs on
//   until it exits or the run ends. (PR_SET_PDEATHSIG would need code
//   between fork and exec, which posix_spawn does not allow, and would not
//   reach a shell's children anyway.) Only a SIGKILLed flowrun, which
//   cannot kill the group, leaves commands to end by themselves.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "runtime/process.h"

namespace flow {

// "command exited with status 3", "command was killed by signal 9 (SIGKILL)".
std::string DescribeCommandExit(const ExitStatus& status);

// The file execvp would run for `name`: the first executable regular file
// `DIR/name` along PATH (unset: /bin:/usr/bin), or `name` itself when it
// holds a '/'; "" when there is none. exec() looks its program up once, as
// a shell hashes it, and saves each spawn the failed execs along PATH.
std::string FindProgram(const std::string& name);

struct SpawnOptions {
  std::string program;       // the file to run; "": argv[0], searched in PATH
  bool pipe_stdin = false;   // false: stdin is /dev/null
  bool nonblocking = false;  // our ends of the pipes are O_NONBLOCK (for poll)
};

class ChildProcess {
 public:
  ChildProcess() = default;
  // A child still running is killed (SIGKILL) and reaped: never a zombie.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts options.program, or else argv[0] (searched in PATH when it has
  // no '/', as execvp does).
  // False and `*error` ("cannot run 'x': No such file or directory") when it
  // could not start; nothing is then left running.
  bool Start(const std::vector<std::string>& argv, const SpawnOptions& options, std::string* error);

  int stdin_fd() const { return stdin_fd_; }    // -1 unless piped and open
  int stdout_fd() const { return stdout_fd_; }  // -1 once closed
  void CloseStdin();
  void CloseStdout();

  // One write(2) to the child's stdin, retried on EINTR. Never raises
  // SIGPIPE, whatever the caller's disposition: a child that has closed its
  // stdin gives -1 with errno EPIPE.
  ssize_t WriteStdin(std::string_view bytes);
  // One read(2) from its stdout, retried on EINTR; 0 at end of file.
  ssize_t ReadStdout(char* buffer, size_t size);
  // Reads stdout (blocking) to end of file, appending to `*out`.
  bool ReadStdoutToEnd(std::string* out, std::string* error);

  // Waits for the child (only this pid) and reaps it.
  bool Wait(ExitStatus* status, std::string* error);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }  // -1 once reaped

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  bool sigpipe_ignored_ = false;  // WriteStdin may then skip masking SIGPIPE
};

}  // namespace flow
