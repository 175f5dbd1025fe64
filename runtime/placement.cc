#include "runtime/placement.h"

#include <algorithm>
#include <sstream>

#include "runtime/recovery.h"

namespace flow {

std::string WhyOnOrigin(const StageNode& node) {
  if (node.inputs.empty()) return "a source";
  if (node.outputs.empty()) return "a sink";
  if (KeepsState(node)) return "keeps state";
  if (node.options.on_error == OnError::kDeadLetter) return "dead letters";
  return "";
}

Placement PlaceInstances(const StageGraph& graph, const std::vector<WorkerOffer>& workers) {
  Placement placement;
  placement.where.resize(graph.nodes.size());
  std::vector<int> free;
  for (const WorkerOffer& w : workers) free.push_back(w.slots);
  size_t next = 0;  // the worker whose turn it is
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const StageNode& node = graph.nodes[n];
    placement.where[n].assign(static_cast<size_t>(node.replicas), "");
    if (!WhyOnOrigin(node).empty()) continue;
    for (int i = 0; i < node.replicas; ++i) {
      // The next worker with a free slot, in turn, so that the instances
      // of one stage spread over the machines.
      for (size_t tried = 0; tried < workers.size(); ++tried) {
        const size_t w = (next + tried) % workers.size();
        if (free[w] <= 0) continue;
        --free[w];
        placement.where[n][static_cast<size_t>(i)] = workers[w].id;
        next = w + 1;
        break;
      }
    }
  }
  return placement;
}

std::vector<bool> EdgesOnBroker(const StageGraph& graph) {
  std::vector<bool> on_broker(graph.edges.size(), true);
  auto stays = [&graph](int n) { return !WhyOnOrigin(graph.nodes[static_cast<size_t>(n)]).empty(); };
  // Local edges only grow in number (an edge local makes its consumer's
  // outputs candidates): looked at again until nothing changes.
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t e = 0; e < graph.edges.size(); ++e) {
      if (!on_broker[e]) continue;
      const QueueEdge& edge = graph.edges[e];
      const StageNode& from = graph.nodes[static_cast<size_t>(edge.from)];
      if (!stays(edge.from) || !stays(edge.to)) continue;
      // A producer that may be replaced after a crash (a source, a sink's
      // feeder with [on_error = dead_letter]) is replaced as in a local run
      // only when all its edges are local: the floors of its redo come from
      // its shared-memory outputs, and a batch that comes back from the
      // broker after the ack wait is matched only with broker outputs.
      if (!KeepsState(from)) {
        bool all_local = std::all_of(from.outputs.begin(), from.outputs.end(), [&](int o) {
          return stays(graph.edges[static_cast<size_t>(o)].to);
        });
        for (int i : from.inputs) all_local = all_local && !on_broker[static_cast<size_t>(i)];
        if (!all_local) continue;
      }
      on_broker[e] = false;
      changed = true;
    }
  }
  return on_broker;
}

void WidenAutoStages(StageGraph* graph, int extra_slots) {
  if (extra_slots <= 0) return;
  for (StageNode& node : graph->nodes) {
    if (node.replicas_auto && WhyOnOrigin(node).empty()) node.replicas += extra_slots;
  }
}

bool MayGrow(const StageNode& node) {
  return node.replicas_auto && WhyOnOrigin(node).empty() && !(node.options.ordered && node.replicas < 2);
}

int GrowForWorker(const StageGraph& graph, const WorkerOffer& worker, Placement* placement) {
  std::vector<size_t> growing;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (MayGrow(graph.nodes[n])) growing.push_back(n);
  }
  int added = 0;
  for (size_t turn = 0; !growing.empty() && added < worker.slots; ++turn) {
    placement->where[growing[turn % growing.size()]].push_back(worker.id);
    ++added;
  }
  return added;
}

void GrowToPlacement(StageGraph* graph, const Placement& placement) {
  for (size_t n = 0; n < graph->nodes.size() && n < placement.where.size(); ++n) {
    StageNode& node = graph->nodes[n];
    const int placed = static_cast<int>(placement.where[n].size());
    if (placed <= node.replicas) continue;
    node.replicas_added = placed - node.replicas;
    node.replicas = placed;
  }
}

int TotalSlots(const std::vector<WorkerOffer>& workers) {
  int total = 0;
  for (const WorkerOffer& w : workers) total += w.slots;
  return total;
}

std::string Placement::Encode() const {
  std::string text;
  for (size_t n = 0; n < where.size(); ++n) {
    for (size_t i = 0; i < where[n].size(); ++i) {
      if (!where[n][i].empty()) text += std::to_string(n) + " " + std::to_string(i) + " " + where[n][i] + "\n";
    }
  }
  return text;
}

bool Placement::Decode(const std::string& text, const StageGraph& graph, Placement* placement) {
  placement->where.assign(graph.nodes.size(), {});
  for (size_t n = 0; n < graph.nodes.size(); ++n) placement->where[n].assign(static_cast<size_t>(graph.nodes[n].replicas), "");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    long long n = -1, i = -1;
    std::string worker;
    if (!(fields >> n >> i >> worker)) return false;
    if (n < 0 || static_cast<size_t>(n) >= graph.nodes.size() || i < 0) return false;
    const StageNode& node = graph.nodes[static_cast<size_t>(n)];
    // Added while the run went on (a worker that joined): numbered after
    // the graph's, and the text lists every instance in order.
    std::vector<std::string>& where = placement->where[static_cast<size_t>(n)];
    if (i >= node.replicas && (!MayGrow(node) || static_cast<size_t>(i) > where.size() || static_cast<size_t>(i) >= kMostInstances))
      return false;
    if (static_cast<size_t>(i) == where.size()) where.emplace_back();
    where[static_cast<size_t>(i)] = worker;
  }
  return true;
}

int64_t OriginTasks(const StageGraph& graph, const Placement& placement, const std::vector<bool>& on_broker,
                    bool movable_only) {
  int64_t tasks = 0;
  for (size_t n = 0; n < graph.nodes.size() && n < placement.where.size(); ++n) {
    const StageNode& node = graph.nodes[n];
    if (movable_only && !WhyOnOrigin(node).empty()) continue;
    bool broker = false;
    for (const std::vector<int>* edges : {&node.inputs, &node.outputs}) {
      for (int e : *edges) broker = broker || (static_cast<size_t>(e) < on_broker.size() && on_broker[e]);
    }
    const auto here = std::count(placement.where[n].begin(), placement.where[n].end(), "");
    tasks += here * (broker ? kTasksPerBrokerInstance : 1);
  }
  return tasks;
}

std::string OriginTasksProblem(int64_t tasks, const SystemLimits& limits) {
  if (limits.max_processes == SystemLimits::kUnlimited ||
      limits.current_user_processes + tasks <= limits.max_processes)
    return "";
  return "the run needs about " + std::to_string(tasks) +
         " more tasks on this machine (an instance with an edge on the broker takes about " +
         std::to_string(kTasksPerBrokerInstance) +
         ": its threads count); the limit for " + ProcessLimitScope(limits.process_limit) + " is " +
         std::to_string(limits.max_processes) + " (" + ProcessLimitName(limits.process_limit) + ", " +
         std::to_string(limits.current_user_processes) +
         (limits.current_user_processes == 1 ? " task" : " tasks") +
         " running): raise it, use fewer replicas, or start `flowrun worker`s to take instances elsewhere";
}

int SlotsWithinLimits(int slots, const SystemLimits& limits, std::string* why) {
  if (limits.max_processes == SystemLimits::kUnlimited) return slots;
  // Less a part's and the worker's own (its main thread and libnats's: as
  // many as an instance's).
  const int64_t room =
      limits.max_processes - limits.current_user_processes - kTasksPerPart - kTasksPerBrokerInstance;
  const int64_t fit = std::max<int64_t>(0, room / kTasksPerBrokerInstance);
  if (slots <= fit) return slots;
  *why = "the limit for " + std::string(ProcessLimitScope(limits.process_limit)) + " (" +
         ProcessLimitName(limits.process_limit) + " = " + std::to_string(limits.max_processes) + ", " +
         std::to_string(limits.current_user_processes) +
         (limits.current_user_processes == 1 ? " task" : " tasks") + " running) leaves room for " + std::to_string(fit) +
         (fit == 1 ? " instance" : " instances") + " of about " + std::to_string(kTasksPerBrokerInstance) +
         " tasks each";
  return static_cast<int>(fit);
}

}  // namespace flow
