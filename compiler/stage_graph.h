// The stage graph: what the runtime executes. A plain data structure with no
// runtime code in it: nodes are stage instances, edges are bounded queues.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compiler/ast.h"
#include "compiler/source.h"
#include "compiler/value.h"
#include "stdlib/signatures.h"

namespace flow {

enum class OnError : uint8_t { kFail, kSkip, kDeadLetter };
const char* OnErrorName(OnError on_error);

// The options of section 7 after checking, with their defaults filled in.
struct StageOptionsSet {
  bool ordered = false;
  int64_t retries = 2;
  int64_t timeout_ns = 0;  // 0: none
  OnError on_error = OnError::kFail;
  // `[queue = N]` / `[queue = 16MiB]` on a stage: its input queue's capacity.
  // 0: the run's default (`--queue`).
  int64_t queue_records = 0;
  int64_t queue_bytes = 0;
};

// One stage of the program, run as `replicas` processes.
struct StageNode {
  int id = 0;
  std::string name;   // the builtin: "whois"
  std::string label;  // unique in the graph, for the plan and logs: "whois", "map_2"
                      // (instances are then named "map_2#1", "map_2#2", ...)
  const StageSignature* signature = nullptr;
  SourceLoc loc;      // where the stage is called (inside a defined stage: there)
  // Every parameter of the signature, defaults filled in, by name. A
  // variadic pipeline parameter (merge) is not here: its pipelines are
  // the node's inputs.
  std::map<std::string, Value> args;
  std::shared_ptr<const Block> block;  // typed; null when the stage has none
  int replicas = 1;
  bool replicas_auto = false;  // `* auto`: replicas was set from the online CPUs
  // On a broker, in a worker's part: instances of a `* auto` stage added
  // while the run went on, for a worker that joined it (runtime/placement.h:
  // GrowToPlacement). They are the last `replicas_added` of `replicas`, and
  // nobody waits for their end of stream (docs/distributed.md says why none
  // need to).
  int replicas_added = 0;
  StageOptionsSet options;
  std::vector<int> inputs;   // edge ids, in order (merge: one per pipeline)
  std::vector<int> outputs;  // edge ids (tee: [main, branch]; a sink: none)
};

// A bounded queue from every instance of one stage to every instance of the next.
struct QueueEdge {
  int id = 0;
  int from = 0;  // node id
  int to = 0;    // node id
  int64_t capacity_records = 0;
  int64_t capacity_bytes = 0;
};

struct StageGraph {
  std::vector<StageNode> nodes;  // nodes[i].id == i
  std::vector<QueueEdge> edges;  // edges[i].id == i
};

// Default capacities of a queue when neither `--queue` nor `[queue]` says.
inline constexpr int64_t kDefaultQueueRecords = 8192;
inline constexpr int64_t kDefaultQueueBytes = 4 << 20;

}  // namespace flow
