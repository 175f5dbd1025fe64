// `--progress`: one live line per stage on a terminal, redrawn about four
// times a second from a timerfd that the supervisor's event loop watches
// (WorkerPool::Watch), and erased at the end. Each line shows the stage's
// record rate, how full its input queue is and how busy its instances are:
//
//   map_2 x4         41,250 rec/s   in     1,204,112   out     1,204,000   queue   37%   busy   92%
//
// While it is on, the workers' log lines do not go to the terminal directly
// (a line written between two redraws would be drawn over): the worker pool
// writes them into a memory file (log_fd()), and each redraw first erases
// the lines, prints the log lines that came in since, then draws again. A
// memory file, not a pipe, because the supervisor itself writes it and
// could not block on a full pipe that only it reads; the part already shown
// is punched out, so it does not grow with the run.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "compiler/stage_graph.h"
#include "runtime/run_stats.h"
#include "runtime/shm_queue.h"

namespace flow {

class ProgressDisplay {
 public:
  // `queues[e]` is edge e's queue. Draws on `fd`.
  ProgressDisplay(const StageGraph& graph, const RunStats& stats,
                  const std::vector<const ShmQueue*>& queues, int fd);
  ~ProgressDisplay();  // closes its descriptors; call Finish first
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // Arms the timer and makes the log file. False with *error when either
  // cannot be had.
  bool Start(std::string* error);
  int timer_fd() const { return timer_fd_; }
  // Where the worker pool should write the workers' log lines.
  int log_fd() const { return log_fd_; }
  // The timer fired: consume it, pass the new log lines on, redraw.
  void OnTick();
  // The end: erases the lines and passes the last log lines on.
  void Finish();
  // Counters to add to `stats`' (by the same slots): what the instances on
  // `flowrun worker`s counted so far, as their parts last said.
  void SetRemote(const RunStats* remote) { remote_ = remote; }
  // An instance added to a running `* auto` stage on a worker that joined
  // the run (it has no slot): its counters so far, a snapshot line
  // (StoreCountersLine). Its stage's line counts it from then on.
  void StoreAdded(size_t node, size_t instance, const std::string& counters);

  // The lines for the counters as they are now (no cursor movement), for
  // tests; `seconds` since the previous call.
  std::vector<std::string> Lines(double seconds);

 private:
  const StageGraph& graph_;
  const RunStats& stats_;
  const RunStats* remote_ = nullptr;
  std::map<std::pair<size_t, size_t>, InstanceCounters> added_;  // by (node, instance)
  std::vector<const ShmQueue*> queues_;
  std::vector<size_t> first_slot_;
  int fd_;
  int timer_fd_ = -1;
  int log_fd_ = -1;
  uint64_t log_shown_ = 0;  // bytes of the log file passed on so far
  size_t drawn_ = 0;  // lines on screen now
  uint64_t last_tick_ns_ = 0;
  std::vector<uint64_t> last_records_;  // per node
  std::vector<uint64_t> last_busy_ns_;  // per node
};

}  // namespace flow
