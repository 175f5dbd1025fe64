// The supervisor of a run (RunGraph, runtime/runner.h), in two files:
// runtime/runner.cc prepares the queues, forks and watches the workers and
// concludes the run; runtime/runner_broker.cc is the origin's side of a run
// on a broker (its keeper's news, the instances placed here, the batches
// the broker gave up on, what the workers' parts counted). Not for use
// elsewhere.
#pragma once

#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/broker_edges.h"
#include "runtime/hand_back_book.h"
#include "runtime/placement.h"
#include "runtime/progress_display.h"
#include "runtime/recovery_book.h"
#include "runtime/run_control.h"
#include "runtime/run_stats.h"
#include "runtime/runner.h"
#include "runtime/shm_queue.h"
#include "runtime/worker.h"
#include "runtime/worker_pool.h"

namespace flow::runner_internal {

// How much of a failed record a message shows (escaped), as a worker's do.
constexpr size_t kShownRecordChars = 200;
// How often a part writes its instances' counters for its worker to pass
// on (with each beat of the part, runtime/broker_board.h: kPartBeatMs).
constexpr int64_t kPartCountersEveryMs = 250;

// A line to `fd` (the supervisor's log, or the display's).
void Say(int fd, const std::string& line);

class Runner {
 public:
  Runner(const StageGraph& graph, const std::vector<BlockFunction>& blocks,
         const StageMaker& make_stage, const RunOptions& options)
      : graph_(graph), blocks_(blocks), make_stage_(make_stage), options_(options) {}
  ~Runner() {
    if (dead_letter_fd_ >= 0) close(dead_letter_fd_);
  }

  int Run();

 private:
  bool Prepare();
  std::vector<WorkerSpec> Specs();
  int WorkerMain(size_t node, int instance);
  // On the origin of a run on a broker, once the pool started the stages
  // that stay here and need no block: makes the blocks and starts those
  // that need them, waits for the keeper to make and offer the run, lets
  // them all go on, and starts the other instances placed here.
  bool AwaitKeeper(WorkerPool& pool, std::string* error);
  WorkerSetup SetupFor(size_t node, int instance) const;
  std::string Location(const StageNode& node) const;
  int Conclude(int exit_code);
  void ReportSkips();
  // True when instance `i` of node `n` runs in another process tree: on a
  // worker (for the origin), or not on this worker (for a part).
  bool RunsElsewhere(size_t n, int i) const;
  // In a worker process: true when it is the first of its slot in this
  // run, neither restarted by the pool nor taking over an instance of a
  // worker machine that was lost. Nothing was published under its number.
  bool FirstOfSlot(size_t slot) const;
  // Whether slot `slot` runs a worker's instance here since that worker was
  // lost, or left having handed back what it held (its batches are back
  // already): as it was at this process's fork.
  enum class TakenOver : uint8_t { kNo, kFromLost, kFromLeft };
  TakenOver TakenOverAs(size_t slot) const;
  // On the origin of a run on a broker: true for the stages that stay there
  // (WhyOnOrigin) and have no block, forked while the keeper still makes
  // the run and the JIT compiles; the others wait for their blocks and to
  // be placed (AwaitKeeper). Elsewhere: true.
  bool StartsEarly(size_t n) const;
  // The keeper's news of the workers' parts, in the pool's loop.
  Decision OnKeeperEvents(WorkerPool& pool);
  // A record of a batch the broker gave up on ("node deliveries nr record",
  // runtime/poison_watch.h): the stage's [on_error], here. Stop for fail.
  Decision OnPoison(const std::string& line);
  // The counters of instances that ran on workers ("node instance ..."
  // lines from the keeper), added to this run's; and, in a part, ours for
  // the worker to pass on.
  void AddRemoteCounters(const std::vector<std::string>& lines);
  void WriteOurCounters();
  // A worker that joined the run: the instances the keeper added for it
  // ("place" lines before its "joined" line).
  void OnWorkerJoined(const std::string& worker, const std::string& host);
  // How many instances of node `n` were added on `worker` when it joined.
  int AddedOn(size_t n, const std::string& worker) const;
  // The --stats file's text, the instances added on workers included.
  std::string StatsText(uint64_t elapsed_ns) const;

  const StageGraph& graph_;
  const std::vector<BlockFunction>& blocks_;
  const StageMaker& make_stage_;
  const RunOptions& options_;
  std::vector<std::unique_ptr<ShmQueue>> queues_;  // by edge id; null for an edge on the broker
  // By edge id: what the workers use. The ShmQueues; with a broker, null in
  // the supervisor and, in a worker, its own NatsQueues for its edges.
  std::vector<Queue*> edge_queues_;
  std::unique_ptr<BrokerKeeper> keeper_;  // with a broker, on the origin: the run on it
  bool on_broker_ = false;  // a run on a broker (the origin's, or a worker's part)
  std::vector<bool> edge_on_broker_;  // by edge, on a broker (EdgesOnBroker); the others are queues_
  std::string run_id_;      // on a broker: the run's id
  Placement placement_;     // on a broker: where each instance runs
  // The batch size of broker edges into stages slow per record: never
  // reported to, so it stays at one record.
  mutable BatchHint one_record_;
  std::unique_ptr<RunControl> control_;
  std::unique_ptr<RunStats> stats_;
  // On the origin, with workers: what their instances counted so far, for
  // --progress (their final counters are added to stats_ at the end).
  std::unique_ptr<RunStats> remote_stats_;
  ProgressDisplay* display_ = nullptr;  // --progress, while it is on
  // On the origin: what the instances added to `* auto` stages on workers
  // that joined the run counted, by (node, instance): they have no slot in
  // stats_, whose size was fixed before the fork.
  std::map<std::pair<size_t, size_t>, InstanceCounters> added_counters_;
  int events_log_fd_ = -1;  // where the keeper's news is told: the display's log while it is on
  // What a worker process reads, as it was at its fork, to tell whether it
  // is the first of its slot in this run (FirstOfSlot).
  const WorkerPool* pool_ = nullptr;  // while the pool runs
  std::vector<TakenOver> taken_over_;  // by slot (TakenOverAs)
  std::unique_ptr<RecoveryBook> book_;
  // With a broker: what each instance fetched and has not answered, for
  // its replacement (or this part's worker) to hand back at once.
  std::unique_ptr<HandBackBook> hand_back_;
  std::vector<size_t> first_slot_;
  std::vector<std::string> targets_;     // by node: a sink's file, "" otherwise
  std::vector<std::string> temp_paths_;  // by node: where it writes until the end
  int dead_letter_fd_ = -1;
  int prepare_exit_ = 1;  // Prepare's failure: 2 when the command line is at fault
};

}  // namespace flow::runner_internal
