// The plan: what running a StageGraph takes (processes, end-of-stream
// markers, queue memory, descriptors), the proof that every stage can finish,
// and the check of all that against the machine before anything is spawned.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compiler/diagnostics.h"
#include "compiler/stage_graph.h"
#include "compiler/system_limits.h"

namespace flow {

// The supervisor's descriptors, estimated as
//   kSupervisorBaseFiles + kFilesPerProcess * (worker and child processes)
//                        + kFilesPerQueue * queues:
// the base covers stdio, signal and wakeup descriptors, the stats and
// dead-letter files; each worker's stdout and stderr come back through a
// log pipe each; each queue keeps its shared-memory segment and a wakeup
// descriptor open for restarts. An estimate errs high: refusing a plan that
// would have run is better than failing halfway with EMFILE.
inline constexpr int64_t kSupervisorBaseFiles = 16;
inline constexpr int64_t kFilesPerProcess = 2;
inline constexpr int64_t kFilesPerQueue = 2;

struct PlannedStage {
  int processes = 0;        // worker processes: the node's replicas
  int child_processes = 0;  // commands its workers keep running (sh, exec): one per replica
  // End-of-stream markers each instance waits for: one from every instance
  // of every stage that feeds it.
  int64_t end_markers = 0;
};

struct Plan {
  std::vector<PlannedStage> stages;  // stages[i] is for graph.nodes[i]
  int64_t worker_processes = 0;
  int64_t child_processes = 0;
  int64_t total_processes = 0;     // workers, children and the supervisor
  int64_t queues = 0;
  int64_t queue_memory_bytes = 0;  // the sum of every queue's capacity_bytes
  int64_t open_files = 0;          // the supervisor's, by the formula above
  // Why the graph cannot finish as drawn: a stage no source reaches, one
  // that reaches no sink, a cycle. Reported by CheckPlanAgainst.
  std::vector<Diagnostic> errors;
};

Plan BuildPlan(const StageGraph& graph);

// Reports to `sink` every reason the plan cannot run here: the plan's own
// errors, the limits on processes and open files, available memory, input
// files that cannot be read and output directories that cannot be written.
// Each message gives the figure that blocks. Returns true when there is none.
bool CheckPlanAgainst(const Plan& plan, const StageGraph& graph, const SystemLimits& limits,
                      PathProbe& probe, DiagnosticSink& sink);

// Why a path cannot be read (PathRole::kInputFile) or written
// (PathRole::kOutputFile), as a diagnostic message; "" when it can. Also for
// paths given on the command line (`--dead-letter`, `--stats`).
std::string InputPathProblem(const std::string& path, PathProbe& probe);
std::string OutputPathProblem(const std::string& path, PathProbe& probe);

// With `--broker`: the edges are streams on the broker (but those between
// two stages that stay here), and the plan says where each stage instance
// runs. The compiler knows no broker: the caller says what it found there.
struct BrokerPlacement {
  std::string broker;        // the broker and what it answered (no credentials): printed as is
  int64_t edge_batches = 0;  // batches one edge holds on the broker before its producers wait
  // By node id: where its instances run ("this machine", "worker a1b2 (host) x2, this machine x1");
  // empty: every instance here.
  std::vector<std::string> runs_on;
  // By edge id: whether it is a stream on the broker (runtime/placement.h,
  // EdgesOnBroker) or a shared-memory queue here; empty: every edge on the broker.
  std::vector<bool> edge_on_broker;
  int instances_elsewhere = 0;  // of all stages, on the workers
  int workers_taking = 0;       // the workers that take some
  // About how many tasks (processes and their threads) the run would take
  // on this machine; 0: not known.
  int64_t tasks_here = 0;
};

struct PlanFormatOptions {
  std::string file_path;     // the program's path, for "file:line:col"
  bool show_limits = true;   // false: leave out the machine's figures (golden tests)
  std::optional<BrokerPlacement> broker;  // set for a run on a broker
};

// The text `flowrun check` prints: every stage and its instances, every
// queue, the process count, the queues' memory bound and the limits. With
// a broker: where each stage runs, the edges as streams on the broker, and
// the broker.
std::string FormatPlan(const Plan& plan, const StageGraph& graph, const SystemLimits& limits,
                       const PlanFormatOptions& options);

}  // namespace flow
