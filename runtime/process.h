// Every system call that creates, signals, waits for or configures a process
// lives behind this header and in process.cc, so the whole of it can be
// audited in one sitting (ninja's subprocess-posix.cc is the model). Nothing
// here knows of stages, queues or syntax: a child is a name and a body.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <span>
#include <string>
#include <vector>

namespace flow {

// How a child ended: an exit code, or the signal that killed it.
struct ExitStatus {
  int code = 0;    // meaningful when signal == 0
  int signal = 0;  // 0 when the process exited
  bool Succeeded() const { return signal == 0 && code == 0; }
};

// "SIGABRT"; "signal 77" for a number without a name.
std::string SignalName(int signal);
// "exited with code 3", "was killed by signal SIGABRT (Aborted)".
std::string DescribeExit(const ExitStatus& status);

// The supervisor's view of the signals it must react to: SIGCHLD, SIGINT,
// SIGTERM (and SIGPIPE, swallowed), read from a signalfd inside the event
// loop instead of being handled asynchronously.
//
// Why a blocked mask and a signalfd: a handler would run at any instruction
// and could do nothing but set a flag; with the signals blocked they stay
// pending until the loop reads them, so a SIGCHLD arriving between two
// waitpid() calls or a SIGINT arriving mid-fork is never lost. A signal is
// blocked per thread: open the watch before starting any thread (threads
// inherit the mask) or a thread that does not block SIGINT gets it and dies.
class SignalWatch {
 public:
  SignalWatch() = default;
  ~SignalWatch();  // restores the original mask and SIGCHLD disposition
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

  bool Open(std::string* err);
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Reads every pending signal: SIGCHLD sets *child_exited, SIGINT and
  // SIGTERM are appended to *interrupts in arrival order.
  bool Read(bool* child_exited, std::vector<int>* interrupts, std::string* err);
  // The mask the process had before Open(): children get it back.
  const sigset_t& original_mask() const { return original_mask_; }

 private:
  int fd_ = -1;
  sigset_t original_mask_{};
  bool restore_sigchld_ = false;
  struct sigaction original_sigchld_{};
};

// kKeepGroup: the child stays in its parent's process group (for test
// harnesses); 0: the child leads a new group; > 0: the child joins that group.
inline constexpr pid_t kKeepGroup = -1;

struct ChildOptions {
  std::string name;  // for diagnostics and the process's comm (ps, top)
  std::string comm;  // the comm instead, when it must differ from `name`
  pid_t process_group = kKeepGroup;
  bool capture_stderr = false;  // a pipe whose read end Child::stderr_fd is
  // The signal mask the child runs with; nullptr keeps the parent's.
  const sigset_t* signal_mask = nullptr;
  // Descriptors of the parent's machinery that the child must not keep.
  std::span<const int> close_in_child;
  // A worker: SIGPIPE and SIGXFSZ ignored, so that a write to a closed pipe
  // or past the file size limit fails with EPIPE or EFBIG, which the stage
  // reports, instead of killing it without a word; and the terminal's keys
  // (SIGINT, SIGQUIT, SIGTSTP) ignored, since the supervisor alone decides
  // how a run stops (see TerminalLoan).
  bool worker_signals = false;
};

// While workers run, the terminal on stdin belongs to their process group,
// if the supervisor held it in the foreground: a stage that reads stdin
// from a terminal (read("-")) would otherwise be stopped by SIGTTIN, as any
// background job that reads it. Ctrl-C and Ctrl-\ then signal the
// workers' group, whose leader passes them on to the supervisor (as SIGINT
// and SIGTERM) and whose workers ignore them. Given back by Return or the
// destructor; a shell takes it back anyway when flowrun ends.
class TerminalLoan {
 public:
  TerminalLoan() = default;
  ~TerminalLoan() { Return(); }
  TerminalLoan(const TerminalLoan&) = delete;
  TerminalLoan& operator=(const TerminalLoan&) = delete;

  void Lend(pid_t group);
  void Return();

 private:
  pid_t owner_ = 0;  // the group it goes back to; 0 while not lent
};

struct Child {
  pid_t pid = -1;
  int stderr_fd = -1;  // non-blocking, close-on-exec; -1 unless captured
};

// Forks a child that dies with the calling thread (PR_SET_PDEATHSIG), runs
// `body` and ends with _exit(body()). The caller must be single-threaded.
// Errors name the child: "cannot start worker 'map#3': the process limit
// for this user (RLIMIT_NPROC = 127) is reached".
bool StartChild(const ChildOptions& options, const std::function<int()>& body, Child* child,
                std::string* err);

// Runs `argv` (argv[0] the program's path) in a child that dies with the
// calling thread, with `stdin_fd` as its stdin and its stderr captured
// (Child::stderr_fd), the signal mask emptied and caught signals reset.
// Unlike StartChild it may be called from a threaded process (one that
// uses libnats): between fork and exec the child makes only
// async-signal-safe calls. `fd3`, if not -1, is the child's descriptor 3
// (kept across the exec); every other descriptor of the caller's must be
// close-on-exec.
bool SpawnProgram(const std::vector<std::string>& argv, int stdin_fd, Child* child, std::string* err,
                  int fd3 = -1);

// Forks the leader of a new process group: a process that does nothing but
// keep the group's id alive until it is killed (see WorkerPool for why).
// Should the supervisor die (even SIGKILLed), it removes `orphan_files`
// (the sinks' temporary files) and kills the group.
bool StartGroupLeader(const std::string& first_worker, const sigset_t* signal_mask,
                      std::span<const int> close_in_child, std::span<const std::string> orphan_files, pid_t* pid,
                      std::string* err);

// Orphans. A command a worker started (exec, sh) would outlive the worker
// if the worker died first, and run on until the end of the run. As a
// child subreaper the supervisor inherits such orphans: it can then find
// them (its children in the workers' group that are no worker) and kill
// them when a worker dies. Both are best effort: false when not possible.
bool BecomeSubreaper();
// SIGKILLs every child of this process in `group` whose pid is not in
// `known` (the workers, the group's leader), and returns how many.
int KillStrayChildren(pid_t group, std::span<const pid_t> known);

// Reaps one ended child of process group `group`. Returns its pid, 0 when
// none has ended (or, with `block`, none is left), -1 on error.
pid_t ReapGroupMember(pid_t group, bool block, ExitStatus* status, std::string* err);
// Waits for child `pid` to end and reaps it.
bool WaitForChild(pid_t pid, ExitStatus* status, std::string* err);

// kill(pid, signal) and kill(-group, signal). A process or group that is
// already gone is not an error.
bool SendSignal(pid_t pid, int signal, std::string* err);
// SIGINT and SIGTERM, but for those whoever started us ignores (SIG_IGN: a
// shell's background job starts with SIGINT ignored). Those stay ignored,
// as for any program: blocked to be waited for, an ignored signal would be
// queued all the same, and a Ctrl-C meant for others would stop us.
sigset_t InterruptSignals();
bool SignalGroup(pid_t group, int signal, std::string* err);

}  // namespace flow
