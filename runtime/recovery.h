// The supervisor's half of fault tolerance: when a worker dies (a signal, a
// crash, the OOM killer, its [timeout]), Recovery repairs the queues around
// it and says whether a replacement may start in its slot; RecoveringPolicy
// turns that into the WorkerPool's decision. The worker's half, and how the
// two give exactly-once delivery, is in runtime/recovery_book.h.
//
// Which stages are replaced. A stage whose output depends only on the
// record in hand (map, filter, flatmap, tee, sleep, sha512, exec, whois,
// merge) and the sources that can start again (seq, lines, read of files)
// are. So are the sinks write and discard: write cuts its file back to the
// last point its journal vouches for. A stage that holds state across
// records in the dead process (count, count_by, distinct, sort, sum, head,
// tail, the long-lived command of sh, report) is not: its death ends the
// run with a message that says why. So does a stage restarted more than
// --max-restarts times (it crashes on everything), and read("-"), which
// cannot read stdin again.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "compiler/stage_graph.h"
#include "runtime/recovery_book.h"
#include "runtime/shm_queue.h"
#include "runtime/worker_policy.h"

namespace flow {

// The stages that keep, in the worker's memory, something that the records
// they have seen built up; their death loses it.
bool KeepsState(const StageNode& node);

class Recovery {
 public:
  // `queues[e]` is edge e's queue, null for an edge on a broker (whose
  // ack wait returns a dead worker's batches); `first_slot[n]` the pool slot of node
  // n's first instance (StatsSlots). Everything must outlive this object.
  Recovery(const StageGraph& graph, std::vector<ShmQueue*> queues, std::vector<size_t> first_slot,
           RecoveryBook* book, int max_restarts);

  // The worker of pool slot `event.slot` died. Puts what it held back in
  // its input queues (after writing how to redo it), drops what it was
  // half-way publishing, and returns "" when a replacement may start, or
  // why the run must stop instead.
  std::string Recover(const WorkerExited& event);

  // Replacements started so far, all stages together.
  int restarts() const { return total_restarts_; }

 private:
  // Why `node` cannot be replaced; "" when it can.
  std::string Refusal(const StageNode& node) const;
  // Writes the redo entry for the lease the dead instance was working on.
  std::string NoteLease(const StageNode& node, size_t slot, const WorkerExited& event,
                        const std::vector<ProducerProgress>& books, RedoEntry** entry);

  const StageGraph& graph_;
  std::vector<ShmQueue*> queues_;
  std::vector<size_t> first_slot_;
  RecoveryBook* book_;
  int max_restarts_;
  std::vector<int> restarts_;  // per node
  int total_restarts_ = 0;
};

// A worker that ended cleanly, or reported its own failure (exit 1), is
// handled as StopOnFailurePolicy does; one that died otherwise is recovered
// and replaced, or stops the run when Recovery says it cannot be.
class RecoveringPolicy : public WorkerPolicy {
 public:
  RecoveringPolicy(Recovery* recovery, std::function<void()> stop_sources, std::chrono::milliseconds grace)
      : recovery_(recovery), base_(std::move(stop_sources), grace) {}

  Decision OnWorkerExited(const WorkerExited& event) override;
  Decision OnInterrupted(const Interrupted& event) override;

 private:
  Recovery* recovery_;
  StopOnFailurePolicy base_;
  bool interrupted_ = false;
};

}  // namespace flow
