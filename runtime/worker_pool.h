// The supervisor's event loop over its worker processes: it starts a set of
// named slots, forwards their stderr, notices at once when one ends, when a
// deadline passes or when SIGINT/SIGTERM arrive, and asks a WorkerPolicy what
// to do. It knows nothing of stages or queues: a slot is a name and a body.
//
// Every worker lives in one process group of its own, led by a process that
// does nothing but hold the group's id (StartGroupLeader). Why a group: a
// terminal's Ctrl-C reaches only the supervisor's group, so the supervisor
// alone decides how the workers stop (drain, then kill); one kill(-group)
// reaches every worker and whatever a worker forked; one waitpid(-group)
// reaps them. Why a leader that is not a worker: a group whose members have
// all ended is gone and its id may be reused, so a slot restarted after
// every worker died could not join it, and a group kill could hit a
// stranger. The leader lives from Start() to the end, so neither can happen.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include "runtime/log_forwarder.h"
#include "runtime/process.h"
#include "runtime/worker_policy.h"

namespace flow {

struct WorkerSpec {
  std::string name;  // "map_2#3": the log prefix and the process's name
  // Runs in the child after fork; its result is the child's exit code
  // (0-255). It may be run again in a new process when the slot restarts.
  std::function<int()> body;
  // Not started by Start: a stage instance that runs on another machine
  // unless Wake brings it here.
  bool dormant = false;
};

class WorkerPool {
 public:
  using Clock = std::chrono::steady_clock;

  struct Result {
    int exit_code = 0;
    std::string reason;  // why the run ended early, "" when it succeeded
  };

  // `policy` must outlive the pool. Worker log lines go to `log_fd`.
  explicit WorkerPool(WorkerPolicy* policy, int log_fd = STDERR_FILENO);
  // Kills and reaps every process still running: no exit path leaves one.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts one process per slot. Call once, from a single-threaded process,
  // from the thread that will run the loop and outlive it (the workers die
  // with that thread). On failure every process already started is killed
  // and reaped before this returns.
  bool Start(std::vector<WorkerSpec> slots, std::string* err);
  // Files removed should this process die without its own end (even
  // SIGKILLed): the sinks' temporary files. Before Start.
  void RemoveIfOrphaned(std::vector<std::string> files) { orphan_files_ = std::move(files); }

  // Runs until every slot has ended for good (exit 0 unless the policy said
  // otherwise) or the policy ends the run; every process is then reaped.
  Result Run();

  // Starts a dormant slot that never ran (false with *err when the fork
  // failed); does nothing once the run drains or when it runs already.
  bool Wake(size_t slot, std::string* err);

  // The slot's current process must end by `deadline` or it is killed and
  // reported with WorkerExited::timed_out. A restarted process starts with
  // no deadline. May be called from policy and watch callbacks.
  void SetDeadline(size_t slot, Clock::time_point deadline);
  void ClearDeadline(size_t slot);

  // Also watches `fd` (a queue's eventfd, a progress timerfd): when it is
  // readable, or hung up, `on_readable` runs and its decision is applied as
  // a policy's (kRestart is ignored). The callback must consume what made
  // the fd ready, or Unwatch it.
  void Watch(int fd, std::function<Decision()> on_readable);
  void Unwatch(int fd);

  size_t size() const { return slots_.size(); }
  const std::string& name(size_t slot) const { return slots_[slot].name; }
  pid_t pid(size_t slot) const { return slots_[slot].pid; }  // 0: not running
  int restarts(size_t slot) const { return slots_[slot].restarts; }
  pid_t process_group() const { return group_; }
  const std::string& log_error() const { return logs_.write_error(); }

 private:
  enum class Phase { kIdle, kRunning, kDraining, kDone };

  struct Slot {
    std::string name;
    std::function<int()> body;
    bool dormant = false;
    pid_t pid = 0;
    int log_fd = -1;
    int restarts = 0;
    bool has_deadline = false;
    bool timed_out = false;
    Clock::time_point deadline;
  };

  struct WatchedFd {
    int fd;
    std::function<Decision()> on_readable;
  };

  bool StartSlot(size_t slot, std::string* err);
  // The supervisor's descriptors that no worker may keep.
  std::vector<int> PrivateFds() const;
  void PollOnce();
  void ReapEnded();
  void OnReaped(pid_t pid, const ExitStatus& status);
  void Apply(const Decision& decision, const Slot* ended);
  void CheckDeadlines();
  int PollTimeoutMs() const;
  // Ends the run: SIGKILL to the group, every process reaped.
  void Finish(int exit_code, std::string reason);
  void KillAndReapAll();

  WorkerPolicy* policy_;
  SignalWatch signals_;
  TerminalLoan terminal_;
  LogForwarder logs_;
  std::vector<Slot> slots_;
  std::vector<WatchedFd> watched_;
  pid_t group_ = 0;  // the leader's pid; 0 before Start
  std::vector<std::string> orphan_files_;  // RemoveIfOrphaned
  bool leader_alive_ = false;  // not reaped: while true, group_ cannot be reused
  size_t running_ = 0;
  Phase phase_ = Phase::kIdle;
  Clock::time_point drain_deadline_;
  Result result_;
};

}  // namespace flow
