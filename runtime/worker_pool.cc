#include "runtime/worker_pool.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <algorithm>
#include <climits>

namespace flow {

WorkerPool::WorkerPool(WorkerPolicy* policy, int log_fd) : policy_(policy), logs_(log_fd) {}

WorkerPool::~WorkerPool() { KillAndReapAll(); }

bool WorkerPool::Start(std::vector<WorkerSpec> slots, std::string* err) {
  if (phase_ != Phase::kIdle) {
    *err = "the worker pool was already started";
    return false;
  }
  phase_ = Phase::kRunning;
  for (WorkerSpec& spec : slots) {
    Slot& slot = slots_.emplace_back();
    slot.name = std::move(spec.name);
    slot.body = std::move(spec.body);
    slot.dormant = spec.dormant;
  }
  if (slots_.empty()) return true;
  // Before the first fork: a SIGINT or SIGCHLD from now on waits in the
  // signalfd for the loop instead of being lost or killing us mid-start.
  if (!signals_.Open(err)) {
    *err = "cannot start worker '" + slots_[0].name + "': " + *err;
    Finish(1, *err);
    return false;
  }
  BecomeSubreaper();
  std::vector<int> private_fds = PrivateFds();
  if (!StartGroupLeader(slots_[0].name, &signals_.original_mask(), private_fds, orphan_files_, &group_, err)) {
    group_ = 0;
    Finish(1, *err);
    return false;
  }
  leader_alive_ = true;
  terminal_.Lend(group_);
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].dormant) continue;
    if (!StartSlot(i, err)) {
      Finish(1, *err);
      return false;
    }
  }
  return true;
}

bool WorkerPool::StartSlot(size_t slot, std::string* err) {
  Slot& s = slots_[slot];
  std::vector<int> private_fds = PrivateFds();
  ChildOptions options;
  options.name = s.name;
  options.process_group = group_;
  options.capture_stderr = true;
  options.signal_mask = &signals_.original_mask();
  options.close_in_child = private_fds;
  options.worker_signals = true;
  Child child;
  if (!StartChild(options, s.body, &child, err)) return false;
  s.pid = child.pid;
  s.log_fd = child.stderr_fd;
  s.has_deadline = false;
  s.timed_out = false;
  logs_.Add(s.log_fd, s.name);
  ++running_;
  return true;
}

bool WorkerPool::Wake(size_t slot, std::string* err) {
  if (phase_ != Phase::kRunning || !slots_[slot].dormant) return true;
  slots_[slot].dormant = false;
  return StartSlot(slot, err);
}

std::vector<int> WorkerPool::PrivateFds() const {
  std::vector<int> fds;
  if (signals_.is_open()) fds.push_back(signals_.fd());
  for (const Slot& s : slots_) {
    if (s.log_fd >= 0) fds.push_back(s.log_fd);
  }
  return fds;
}

WorkerPool::Result WorkerPool::Run() {
  while (phase_ == Phase::kRunning || phase_ == Phase::kDraining) {
    if (running_ == 0) {
      Finish(result_.exit_code, result_.reason);
      break;
    }
    PollOnce();
  }
  return result_;
}

void WorkerPool::PollOnce() {
  // One poll over everything that can change the run: the signalfd (child
  // ended, interrupt), every log pipe, the caller's fds; its timeout is the
  // nearest deadline. Nothing here sleeps or spins.
  std::vector<pollfd> fds;
  fds.push_back({signals_.fd(), POLLIN, 0});
  for (const Slot& s : slots_) {
    if (s.log_fd >= 0) fds.push_back({s.log_fd, POLLIN, 0});
  }
  size_t first_watched = fds.size();
  for (const WatchedFd& w : watched_) fds.push_back({w.fd, POLLIN, 0});

  if (poll(fds.data(), fds.size(), PollTimeoutMs()) < 0) {
    if (errno == EINTR) return;
    Finish(1, std::string("poll: ") + strerror(errno));
    return;
  }
  // Logs first, so a worker's last lines come out before its end is acted on.
  for (size_t i = 1; i < first_watched; ++i) {
    if (fds[i].revents == 0) continue;
    for (Slot& s : slots_) {
      if (s.log_fd == fds[i].fd && !logs_.Forward(s.log_fd)) s.log_fd = -1;
    }
  }
  if (fds[0].revents != 0) {
    bool child_exited = false;
    std::vector<int> interrupts;
    std::string err;
    if (!signals_.Read(&child_exited, &interrupts, &err)) {
      Finish(1, err);
      return;
    }
    if (child_exited) ReapEnded();
    for (int sig : interrupts) {
      if (phase_ == Phase::kDone) return;
      Apply(policy_->OnInterrupted(Interrupted{sig}), nullptr);
    }
  }
  for (size_t i = first_watched; i < fds.size() && phase_ != Phase::kDone; ++i) {
    if (fds[i].revents == 0) continue;
    // Looked up again: an earlier callback may have unwatched this fd.
    auto it = std::find_if(watched_.begin(), watched_.end(),
                           [fd = fds[i].fd](const WatchedFd& w) { return w.fd == fd; });
    if (it == watched_.end()) continue;
    std::function<Decision()> callback = it->on_readable;
    Apply(callback(), nullptr);
  }
  if (phase_ != Phase::kDone) CheckDeadlines();
}

void WorkerPool::ReapEnded() {
  // SIGCHLDs merge while pending: one may stand for many ended children.
  while (phase_ != Phase::kDone) {
    ExitStatus status;
    std::string err;
    pid_t pid = ReapGroupMember(group_, false, &status, &err);
    if (pid < 0) {
      Finish(1, err);
      return;
    }
    if (pid == 0) return;
    OnReaped(pid, status);
  }
}

void WorkerPool::OnReaped(pid_t pid, const ExitStatus& status) {
  if (pid == group_) {
    // Killed from outside. The group lives on while a worker does; if all
    // end, a restart cannot join it and reports that.
    leader_alive_ = false;
    return;
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.pid != pid) continue;
    if (s.log_fd >= 0) logs_.Close(s.log_fd);
    s.log_fd = -1;
    s.pid = 0;
    s.has_deadline = false;
    --running_;
    // A worker that died may leave a command it started running: adopted
    // by us (BecomeSubreaper), it is found and ended now, not at the end
    // of the run. Workers that ended of themselves waited for theirs.
    if (status.signal != 0) {
      std::vector<pid_t> known{group_};
      for (const Slot& other : slots_) {
        if (other.pid != 0) known.push_back(other.pid);
      }
      KillStrayChildren(group_, known);
    }
    WorkerExited event{i, s.name, status, s.timed_out, s.restarts};
    s.timed_out = false;
    Apply(policy_->OnWorkerExited(event), &s);
    return;
  }
}

void WorkerPool::Apply(const Decision& decision, const Slot* ended) {
  switch (decision.kind) {
    case Decision::Kind::kCarryOn:
      return;
    case Decision::Kind::kRestart: {
      // No new work once the run is draining or over.
      if (ended == nullptr || phase_ != Phase::kRunning || ended->pid != 0) return;
      size_t slot = static_cast<size_t>(ended - slots_.data());
      ++slots_[slot].restarts;
      std::string err;
      if (!StartSlot(slot, &err)) Finish(1, err);
      return;
    }
    case Decision::Kind::kStop:
      Finish(decision.exit_code, decision.reason);
      return;
    case Decision::Kind::kDrain: {
      Clock::time_point deadline = Clock::now() + decision.grace;
      if (phase_ == Phase::kDraining) {
        drain_deadline_ = std::min(drain_deadline_, deadline);
        return;
      }
      if (phase_ != Phase::kRunning) return;
      phase_ = Phase::kDraining;
      drain_deadline_ = deadline;
      result_ = Result{decision.exit_code, decision.reason};
      return;
    }
  }
}

void WorkerPool::CheckDeadlines() {
  Clock::time_point now = Clock::now();
  if (phase_ == Phase::kDraining && now >= drain_deadline_) {
    Finish(result_.exit_code, result_.reason);
    return;
  }
  for (Slot& s : slots_) {
    if (!s.has_deadline || s.pid == 0 || now < s.deadline) continue;
    std::string err;
    if (!SendSignal(s.pid, SIGKILL, &err)) {
      Finish(1, "cannot stop worker '" + s.name + "': " + err);
      return;
    }
    // Reported as timed out when its SIGCHLD is read.
    s.has_deadline = false;
    s.timed_out = true;
  }
}

int WorkerPool::PollTimeoutMs() const {
  bool any = false;
  Clock::time_point nearest = Clock::time_point::max();
  if (phase_ == Phase::kDraining) {
    nearest = drain_deadline_;
    any = true;
  }
  for (const Slot& s : slots_) {
    if (s.has_deadline && s.pid != 0) {
      nearest = std::min(nearest, s.deadline);
      any = true;
    }
  }
  if (!any) return -1;
  // Rounded up: waking a little early would only poll again.
  auto left = std::chrono::ceil<std::chrono::milliseconds>(nearest - Clock::now()).count();
  return static_cast<int>(std::clamp<decltype(left)>(left, 0, INT_MAX));
}

void WorkerPool::SetDeadline(size_t slot, Clock::time_point deadline) {
  slots_[slot].has_deadline = slots_[slot].pid != 0;
  slots_[slot].deadline = deadline;
}

void WorkerPool::ClearDeadline(size_t slot) { slots_[slot].has_deadline = false; }

void WorkerPool::Watch(int fd, std::function<Decision()> on_readable) {
  Unwatch(fd);
  watched_.push_back(WatchedFd{fd, std::move(on_readable)});
}

void WorkerPool::Unwatch(int fd) {
  std::erase_if(watched_, [fd](const WatchedFd& w) { return w.fd == fd; });
}

void WorkerPool::Finish(int exit_code, std::string reason) {
  KillAndReapAll();
  result_ = Result{exit_code, std::move(reason)};
  phase_ = Phase::kDone;
}

void WorkerPool::KillAndReapAll() {
  terminal_.Return();
  if (group_ == 0) return;
  // Only while a member is unreaped is the group's id surely still ours.
  if (leader_alive_ || running_ > 0) {
    std::string err;
    if (!SignalGroup(group_, SIGKILL, &err)) {
      // Cannot happen to our own children; still, never leave one behind.
      for (const Slot& s : slots_) {
        if (s.pid != 0) SendSignal(s.pid, SIGKILL, &err);
      }
      if (leader_alive_) SendSignal(group_, SIGKILL, &err);
    }
  }
  for (;;) {
    ExitStatus status;
    std::string err;
    pid_t pid = ReapGroupMember(group_, true, &status, &err);
    if (pid <= 0) break;  // 0: none left in the group
    if (pid == group_) {
      leader_alive_ = false;
      continue;
    }
    for (Slot& s : slots_) {
      if (s.pid != pid) continue;
      if (s.log_fd >= 0) logs_.Close(s.log_fd);
      s.log_fd = -1;
      s.pid = 0;
      s.has_deadline = false;
      --running_;
    }
  }
  group_ = 0;
}

}  // namespace flow
