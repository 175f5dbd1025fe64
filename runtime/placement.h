// Where each stage instance of a run on a broker runs (issue 8): on the
// origin (the machine where `flowrun run` was started) or on one of the
// `flowrun worker` processes that were alive on the broker when the run
// started.
//
// Sources and sinks always stay on the origin: they own its files and its
// terminal. So does a stage that cannot move yet:
//   - one that keeps state across records (count, sort, sh, ...): if its
//     machine died, what it had built up would be lost;
//   - [on_error = dead_letter]: the dead-letter file is the origin's.
// The instances of the other stages (map, filter, exec, whois, sha512, ...)
// fill the workers' slots, worker after worker in turn, one instance at a
// time; whatever finds no free slot runs on the origin. `* N` is the total
// across machines.
#pragma once

#include <string>
#include <vector>

#include "compiler/stage_graph.h"
#include "compiler/system_limits.h"

namespace flow {

struct WorkerOffer {
  std::string id;  // the worker's id on the broker
  std::string host;
  int slots = 0;   // instances it takes at most: its slots less those other runs took
};

struct Placement {
  // where[node][instance]: the worker's id, "" for the origin. A node that
  // grew while the run went on (GrowForWorker) has more entries than its
  // graph's replicas: the instances added, each on a worker.
  std::vector<std::vector<std::string>> where;

  bool remote(size_t node, int instance) const { return !where[node][static_cast<size_t>(instance)].empty(); }
  // Text for the run's bucket: one "node instance worker" line per remote
  // instance.
  std::string Encode() const;
  // The inverse over `graph`; false when the text does not fit it (an
  // instance beyond a node's replicas only for a node that MayGrow).
  static bool Decode(const std::string& text, const StageGraph& graph, Placement* placement);
};

// Why `node` stays on the origin; "" when its instances may run anywhere.
std::string WhyOnOrigin(const StageNode& node);

Placement PlaceInstances(const StageGraph& graph, const std::vector<WorkerOffer>& workers);

// By edge: whether it travels on the broker. An edge between two stages
// that stay on the origin is a shared-memory queue, as in a local run: a
// stream on the broker would only cost round trips (at its making, at
// every batch, at each end of stream, at its removal) and connections. A
// stage that stays there and may be replaced after a crash has either all
// its edges local or all on the broker (runtime/recovery.h).
std::vector<bool> EdgesOnBroker(const StageGraph& graph);

// `* auto` on a broker: the stages that may move get `extra_slots` more
// instances (the slots of the workers alive when the run starts) on top of
// the origin's CPUs; those that stay on the origin keep its CPU count. The
// origin and every worker apply it alike, so their graphs stay the same.
void WidenAutoStages(StageGraph* graph, int extra_slots);
int TotalSlots(const std::vector<WorkerOffer>& workers);

// More instances than a stage ever has: a placement or a counters line
// that names one is not one of ours.
inline constexpr size_t kMostInstances = 1 << 20;

// `* auto` also grows with the workers that join a run after it started:
// a stage that may move gets instances on them. Not an [ordered] stage
// that started with one replica: that one takes no turns. (The instances
// added on a worker are not replaced if it is lost: an [ordered] one's
// positions come back after the ack wait to a sibling that waited that
// long for its turn and takes one more, runtime/worker.cc.)
bool MayGrow(const StageNode& node);
// A worker that joined the running run with `slots` free: instances added
// to the stages that MayGrow, one at a time to each in turn, numbered
// after those `placement` has (the graph's and earlier additions), and
// put in `placement`. Returns how many.
int GrowForWorker(const StageGraph& graph, const WorkerOffer& worker, Placement* placement);
// In a worker's part: the graph made as large as the placement it was
// given (StageNode::replicas_added), so that its instances have their
// numbers, counters and queue ends.
void GrowToPlacement(StageGraph* graph, const Placement& placement);

// The tasks (processes and threads, as the process limits count them) that
// one instance on a broker takes: its main thread, libnats's (3 for the
// library, 2 for its connection) and the queues' and the order gate's own
// (10 measured for an [ordered] sleep replica, 2026-12-06), and the one
// that waits for its worker's word to leave (HandBackBook::WaitForLeave);
// and what each run's part adds (the part, its group's leader, the part
// started ahead).
inline constexpr int kTasksPerBrokerInstance = 11;
inline constexpr int kTasksPerPart = 3;
// The origin's broker keeper: its main thread, libnats's, and those it
// makes the run with (6 measured, 2026-12-06).
inline constexpr int kTasksPerKeeper = 6;
// The tasks that the instances `placement` leaves on the origin take there:
// kTasksPerBrokerInstance for one with an edge on the broker (`on_broker`,
// by edge: EdgesOnBroker), 1 for one whose edges are all in shared memory.
// `movable_only`: only the stages that may move (those that stay there
// whatever the placement started before it was known).
int64_t OriginTasks(const StageGraph& graph, const Placement& placement, const std::vector<bool>& on_broker,
                    bool movable_only);
// "" when `tasks` more fit under `limits` beside the tasks running already;
// else the error of a run on a broker that would not: which limit, what
// the instances here need, and what to do. Without it, the instances past
// the limit failed to start (pthread_create, fork: EAGAIN) with errors
// that blamed the broker, while `check` found nothing wrong: it counted
// processes, one per instance.
std::string OriginTasksProblem(int64_t tasks, const SystemLimits& limits);
// How many of `slots` a `flowrun worker` may offer under `limits` (the
// tightest of RLIMIT_NPROC, the cgroup's pids.max and kernel.threads-max,
// less the tasks running already): all of them when they fit; else fewer,
// with `*why` saying which limit and what it leaves (0: not even one).
// A worker that offered more would see its instances fail to start
// (pthread_create or fork: EAGAIN) and fail every run placed on it.
int SlotsWithinLimits(int slots, const SystemLimits& limits, std::string* why);

}  // namespace flow
