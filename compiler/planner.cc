#include "compiler/planner.h"

#include <algorithm>
#include <deque>

#include <fmt/format.h>

#include "compiler/stage_text.h"

namespace flow {

namespace {

bool ValidEdge(const StageGraph& graph, int edge) {
  if (edge < 0 || static_cast<size_t>(edge) >= graph.edges.size()) return false;
  const QueueEdge& e = graph.edges[edge];
  auto valid_node = [&](int node) { return node >= 0 && static_cast<size_t>(node) < graph.nodes.size(); };
  return valid_node(e.from) && valid_node(e.to);
}

// Sources start the flow; sinks end it. A node without a signature (only in
// hand-built graphs) is judged by its edges alone.
bool IsSource(const StageNode& node) {
  return node.inputs.empty() && (node.signature == nullptr || node.signature->kind == StageKind::kSource);
}
bool IsSink(const StageNode& node) {
  return node.outputs.empty() && (node.signature == nullptr || node.signature->kind == StageKind::kSink);
}

// The nodes reached from `starts` following queues forward (outputs to
// consumers) or backward (inputs to producers).
std::vector<bool> Reach(const StageGraph& graph, const std::vector<int>& starts, bool forward) {
  std::vector<bool> seen(graph.nodes.size(), false);
  std::deque<int> pending(starts.begin(), starts.end());
  for (int n : starts) seen[n] = true;
  while (!pending.empty()) {
    const StageNode& node = graph.nodes[pending.front()];
    pending.pop_front();
    for (int e : forward ? node.outputs : node.inputs) {
      if (!ValidEdge(graph, e)) continue;
      int next = forward ? graph.edges[e].to : graph.edges[e].from;
      if (!seen[next]) {
        seen[next] = true;
        pending.push_back(next);
      }
    }
  }
  return seen;
}

// A cycle would keep its stages waiting for each other's end of stream
// forever. Kahn's algorithm leaves exactly the nodes on or after a cycle;
// walking inputs back from one of them must run into the cycle itself.
void FindCycle(const StageGraph& graph, std::vector<Diagnostic>& errors) {
  std::vector<int> waiting(graph.nodes.size(), 0);
  for (const StageNode& node : graph.nodes)
    for (int e : node.inputs)
      if (ValidEdge(graph, e)) ++waiting[node.id];
  std::deque<int> ready;
  for (const StageNode& node : graph.nodes)
    if (waiting[node.id] == 0) ready.push_back(node.id);
  while (!ready.empty()) {
    const StageNode& node = graph.nodes[ready.front()];
    ready.pop_front();
    for (int e : node.outputs)
      if (ValidEdge(graph, e) && --waiting[graph.edges[e].to] == 0) ready.push_back(graph.edges[e].to);
  }
  auto left = std::find_if(waiting.begin(), waiting.end(), [](int w) { return w > 0; });
  if (left == waiting.end()) return;
  std::vector<int> path;
  std::vector<int> position(graph.nodes.size(), -1);
  int at = static_cast<int>(left - waiting.begin());
  while (position[at] < 0) {
    position[at] = static_cast<int>(path.size());
    path.push_back(at);
    for (int e : graph.nodes[at].inputs)
      if (ValidEdge(graph, e) && waiting[graph.edges[e].from] > 0) {
        at = graph.edges[e].from;
        break;
      }
  }
  // path[position[at]..] is the cycle, walked against the flow.
  std::vector<int> cycle(path.begin() + position[at], path.end());
  std::reverse(cycle.begin(), cycle.end());
  // Named from its first stage in the file, whichever stage the walk met first.
  std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
  std::string names;
  for (int n : cycle) names += "'" + graph.nodes[n].label + "' → ";
  names += "'" + graph.nodes[cycle.front()].label + "'";
  errors.push_back({Severity::kError, graph.nodes[cycle.front()].loc,
                    "stages " + names + " form a cycle: none of them would ever see the end of its input"});
}

// Stages whose workers keep a command running: `sh` one long-lived child
// per replica, `exec` one command at a time per replica.
bool RunsChildProcess(const StageNode& node) { return node.name == "sh" || node.name == "exec"; }

}  // namespace

Plan BuildPlan(const StageGraph& graph) {
  Plan plan;
  plan.stages.resize(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (graph.nodes[i].id != static_cast<int>(i))
      plan.errors.push_back({Severity::kError, graph.nodes[i].loc,
                             fmt::format("internal error: stage '{}' has id {} at index {}",
                                         graph.nodes[i].label, graph.nodes[i].id, i)});
  }
  for (const QueueEdge& edge : graph.edges)
    if (!ValidEdge(graph, edge.id))
      plan.errors.push_back({Severity::kError, SourceLoc{},
                             fmt::format("internal error: queue {} joins a stage that does not exist", edge.id)});
  if (!plan.errors.empty()) {
    plan.stages.clear();  // marks the plan malformed: no figures to check
    return plan;
  }

  for (const StageNode& node : graph.nodes) {
    PlannedStage& stage = plan.stages[node.id];
    stage.processes = node.replicas;
    stage.child_processes = RunsChildProcess(node) ? node.replicas : 0;
    for (int e : node.inputs) stage.end_markers += graph.nodes[graph.edges[e].from].replicas;
    plan.worker_processes += stage.processes;
    plan.child_processes += stage.child_processes;
  }
  plan.total_processes = plan.worker_processes + plan.child_processes + 1;
  plan.queues = static_cast<int64_t>(graph.edges.size());
  for (const QueueEdge& edge : graph.edges) plan.queue_memory_bytes += edge.capacity_bytes;
  plan.open_files = kSupervisorBaseFiles + kFilesPerProcess * (plan.worker_processes + plan.child_processes) +
                    kFilesPerQueue * plan.queues;

  // The proof that every stage can finish: records reach it from a source,
  // its records reach a sink, and no cycle keeps an end of stream away.
  std::vector<int> sources, sinks;
  for (const StageNode& node : graph.nodes) {
    if (IsSource(node)) sources.push_back(node.id);
    if (IsSink(node)) sinks.push_back(node.id);
  }
  std::vector<bool> from_source = Reach(graph, sources, true);
  std::vector<bool> to_sink = Reach(graph, sinks, false);
  for (const StageNode& node : graph.nodes) {
    if (!from_source[node.id])
      plan.errors.push_back({Severity::kError, node.loc,
                             "stage '" + node.label + "' is not reached from any source"});
    if (!to_sink[node.id])
      plan.errors.push_back({Severity::kError, node.loc,
                             "stage '" + node.label + "' does not lead to any sink"});
  }
  FindCycle(graph, plan.errors);
  return plan;
}

namespace {

// Where to point a refusal about the whole plan: the stage with the most
// replicas, when replication is what made the plan big; else the file.
SourceLoc LargestStageLoc(const StageGraph& graph) {
  const StageNode* largest = nullptr;
  for (const StageNode& node : graph.nodes)
    if (largest == nullptr || node.replicas > largest->replicas) largest = &node;
  return largest != nullptr && largest->replicas > 1 ? largest->loc : SourceLoc{};
}

// The largest queue, pointed at when a `[queue = ...]` option sized it.
SourceLoc LargestQueueLoc(const StageGraph& graph) {
  const QueueEdge* largest = nullptr;
  for (const QueueEdge& edge : graph.edges)
    if (largest == nullptr || edge.capacity_bytes > largest->capacity_bytes) largest = &edge;
  if (largest == nullptr) return SourceLoc{};
  const StageNode& consumer = graph.nodes[largest->to];
  bool sized_here = consumer.options.queue_bytes != 0 || consumer.options.queue_records != 0;
  return sized_here ? consumer.loc : SourceLoc{};
}

void CheckLimits(const Plan& plan, const StageGraph& graph, const SystemLimits& limits, DiagnosticSink& sink) {
  if (limits.max_processes != SystemLimits::kUnlimited &&
      plan.total_processes + limits.current_user_processes > limits.max_processes) {
    sink.Error(LargestStageLoc(graph),
               fmt::format("the plan needs {} processes; the limit for {} is {} ({}, {} already running)",
                           FormatCount(plan.total_processes), ProcessLimitScope(limits.process_limit),
                           FormatCount(limits.max_processes), ProcessLimitName(limits.process_limit),
                           FormatCount(limits.current_user_processes)));
  }
  if (limits.max_open_files != SystemLimits::kUnlimited && plan.open_files > limits.max_open_files) {
    sink.Error(LargestStageLoc(graph),
               fmt::format("the plan needs about {} open files in the supervisor; the limit is {} "
                           "(RLIMIT_NOFILE; raise it with 'ulimit -n')",
                           FormatCount(plan.open_files), FormatCount(limits.max_open_files)));
  }
  if (limits.available_memory_bytes != SystemLimits::kUnlimited &&
      plan.queue_memory_bytes > limits.available_memory_bytes) {
    sink.Error(LargestQueueLoc(graph),
               fmt::format("the queues may hold {}; only {} is available", FormatBytes(plan.queue_memory_bytes),
                           FormatBytes(limits.available_memory_bytes)));
  }
}

bool IsGlobPattern(const std::string& path) { return path.find_first_of("*?[") != std::string::npos; }

}  // namespace

std::string InputPathProblem(const std::string& path, PathProbe& probe) {
  if (path == "-") return "";
  if (!IsGlobPattern(path)) {
    std::string error = probe.ReadableFileError(path);
    return error.empty() ? "" : "cannot read '" + path + "': " + error;
  }
  // read() reads every match in order, so one it cannot read fails the run.
  std::vector<std::string> matches = probe.Glob(path);
  if (matches.empty()) return "no file matches '" + path + "'";
  std::string first_problem;
  int64_t unreadable = 0;
  for (const std::string& match : matches) {
    std::string error = probe.ReadableFileError(match);
    if (error.empty()) continue;
    if (unreadable++ == 0) first_problem = "cannot read '" + match + "' (a match of '" + path + "'): " + error;
  }
  if (unreadable > 1) first_problem += fmt::format(" ({} more matches cannot be read)", FormatCount(unreadable - 1));
  return first_problem;
}

std::string OutputPathProblem(const std::string& path, PathProbe& probe) {
  if (path == "-") return "";
  if (path.empty()) return "cannot write '': the path is empty";
  if (probe.IsDirectory(path)) return "cannot write '" + path + "': it is a directory";
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  std::string error = probe.WritableDirError(dir);
  return error.empty() ? "" : "cannot write '" + path + "': directory '" + dir + "': " + error;
}

bool CheckPlanAgainst(const Plan& plan, const StageGraph& graph, const SystemLimits& limits,
                      PathProbe& probe, DiagnosticSink& sink) {
  int errors_before = sink.error_count();
  for (const Diagnostic& error : plan.errors) sink.Error(error.loc, error.message);
  // A malformed graph has no figures to check.
  if (plan.stages.size() != graph.nodes.size()) return false;
  CheckLimits(plan, graph, limits, sink);
  for (const StageNode& node : graph.nodes) {
    if (node.signature == nullptr) continue;
    for (const ParamSignature& param : node.signature->params) {
      if (param.path_role == PathRole::kNone) continue;
      auto arg = node.args.find(param.name);
      if (arg == node.args.end() || arg->second.type() != Type::kStr) continue;
      std::string problem = param.path_role == PathRole::kInputFile ? InputPathProblem(arg->second.as_str(), probe)
                                                                    : OutputPathProblem(arg->second.as_str(), probe);
      if (!problem.empty()) sink.Error(node.loc, problem);
    }
  }
  return sink.error_count() == errors_before;
}

namespace {

std::string LocationText(const std::string& file_path, SourceLoc loc) {
  if (!loc.known()) return file_path.empty() ? "-" : file_path;
  std::string line_col = fmt::format("{}:{}", loc.line, loc.column);
  return file_path.empty() ? line_col : file_path + ":" + line_col;
}

// Where a stage's instances run on a broker. Sources and sinks own the
// local files and the terminal: they stay where the run was started. The
// others go to the `flowrun worker`s alive on the broker (the caller's
// placement, runtime/placement.h), or run here.
std::string RunsOn(const StageNode& node, const BrokerPlacement& broker) {
  if (node.inputs.empty()) return "this machine (source)";
  if (node.outputs.empty()) return "this machine (sink)";
  if (static_cast<size_t>(node.id) < broker.runs_on.size()) return broker.runs_on[static_cast<size_t>(node.id)];
  return "this machine";
}

std::string StagesSection(const Plan& plan, const StageGraph& graph, const PlanFormatOptions& options) {
  const bool placed = options.broker.has_value();
  std::vector<std::vector<std::string>> rows = {
      {"stage", "replicas", "instances", "source", "waits for", "arguments and options"}};
  if (placed) rows[0].insert(rows[0].begin() + 3, "runs on");
  for (const StageNode& node : graph.nodes) {
    int64_t markers = static_cast<size_t>(node.id) < plan.stages.size() ? plan.stages[node.id].end_markers : 0;
    std::string details = StageArgsText(node, CallDetail::kAllArgs, 40, false);
    std::string node_options = StageOptionsText(node);
    if (!node_options.empty()) details += (details.empty() ? "[" : " [") + node_options + "]";
    rows.push_back({node.label, FormatCount(node.replicas) + (node.replicas_auto ? " (auto)" : ""),
                    InstanceRange(node), LocationText(options.file_path, node.loc),
                    markers == 0 ? "-" : CountOf(markers, "end marker"), details});
    if (placed) rows.back().insert(rows.back().begin() + 3, RunsOn(node, *options.broker));
  }
  return "stages\n" + FormatTable(rows, placed ? "lrlllll" : "lrllll", 2);
}

// On a broker an edge is a JetStream stream bounded in batches (of up to
// 4,096 records or 256 KiB), not a shared-memory queue; but an edge between
// two stages that stay here is.
bool OnBroker(const BrokerPlacement& broker, size_t edge) {
  return edge >= broker.edge_on_broker.size() || broker.edge_on_broker[edge];
}

std::string BrokerQueuesSection(const StageGraph& graph, const BrokerPlacement& broker) {
  if (graph.edges.empty()) return "queues\n  none\n";
  std::vector<std::vector<std::string>> rows = {{"from", "", "to", "travels", "holds"}};
  for (const QueueEdge& edge : graph.edges) {
    const bool remote = OnBroker(broker, static_cast<size_t>(edge.id));
    rows.push_back({graph.nodes[edge.from].label, "→", graph.nodes[edge.to].label,
                    remote ? "on the broker" : "in shared memory here",
                    remote ? FormatCount(broker.edge_batches) + " batches"
                           : FormatCount(edge.capacity_records) + " records, " + FormatBytes(edge.capacity_bytes)});
  }
  return "queues\n" + FormatTable(rows, "llllr", 2);
}

std::string QueuesSection(const StageGraph& graph) {
  if (graph.edges.empty()) return "queues\n  none\n";
  std::vector<std::vector<std::string>> rows = {{"from", "", "to", "records", "bytes"}};
  for (const QueueEdge& edge : graph.edges)
    rows.push_back({graph.nodes[edge.from].label, "→", graph.nodes[edge.to].label,
                    FormatCount(edge.capacity_records), FormatBytes(edge.capacity_bytes)});
  return "queues\n" + FormatTable(rows, "lllrr", 2);
}

std::vector<std::vector<std::string>> LimitRows(const SystemLimits& limits) {
  std::vector<std::string> lines;
  if (limits.max_processes == SystemLimits::kUnlimited) {
    lines.push_back("no limit on processes");
  } else {
    lines.push_back(fmt::format("{} processes for {} ({}, {} running)", FormatCount(limits.max_processes),
                                ProcessLimitScope(limits.process_limit), ProcessLimitName(limits.process_limit),
                                FormatCount(limits.current_user_processes)));
  }
  lines.push_back(limits.max_open_files == SystemLimits::kUnlimited
                      ? "no limit on open files"
                      : FormatCount(limits.max_open_files) + " open files (RLIMIT_NOFILE)");
  lines.push_back(limits.available_memory_bytes == SystemLimits::kUnlimited
                      ? "available memory unknown"
                      : FormatBytes(limits.available_memory_bytes) + " of memory available");
  lines.push_back(CountOf(limits.online_cpus, "online CPU"));
  std::vector<std::vector<std::string>> rows;
  for (const std::string& line : lines) rows.push_back({rows.empty() ? "limits" : "", line});
  return rows;
}

std::string BrokerQueueMemory(const StageGraph& graph, const BrokerPlacement& broker) {
  int64_t streams = 0, local = 0, local_bytes = 0;
  for (const QueueEdge& edge : graph.edges) {
    if (OnBroker(broker, static_cast<size_t>(edge.id))) {
      ++streams;
    } else {
      ++local;
      local_bytes += edge.capacity_bytes;
    }
  }
  const std::string on_broker = CountOf(streams, "stream") + " on the broker";
  if (local == 0) return "none here: " + on_broker;
  return fmt::format("at most {} in {} here; {}", FormatBytes(local_bytes), CountOf(local, "queue"), on_broker);
}

// The summary of where the instances run: here, and on how many workers.
std::string RunsOn(const Plan& plan, const BrokerPlacement& broker) {
  if (broker.instances_elsewhere == 0) {
    return fmt::format("this machine: all {} (no `flowrun worker` takes any elsewhere yet)",
                       CountOf(plan.worker_processes, "stage instance"));
  }
  return fmt::format("{} on this machine, {} on {}", CountOf(plan.worker_processes - broker.instances_elsewhere,
                                                             "stage instance"),
                     FormatCount(broker.instances_elsewhere), CountOf(broker.workers_taking, "worker"));
}

}  // namespace

std::string FormatPlan(const Plan& plan, const StageGraph& graph, const SystemLimits& limits,
                       const PlanFormatOptions& options) {
  std::string processes = CountOf(plan.worker_processes, "stage instance");
  if (plan.child_processes > 0)
    processes += fmt::format(", {} of sh/exec", CountOf(plan.child_processes, "child process"));
  std::vector<std::vector<std::string>> summary;
  if (!options.broker) {
    summary = {
        {"processes", fmt::format("{} ({}, 1 supervisor)", FormatCount(plan.total_processes), processes)},
        {"queue memory", fmt::format("at most {} in {}", FormatBytes(plan.queue_memory_bytes),
                                     CountOf(plan.queues, "queue"))},
    };
  } else {
    // One more process: the keeper, which makes and removes the run's
    // streams on the broker (runtime/broker_edges.h).
    summary = {
        {"processes", fmt::format("{} ({}, 1 supervisor, 1 broker keeper)", FormatCount(plan.total_processes + 1),
                                  processes)},
        {"runs on", RunsOn(plan, *options.broker)},
        {"queue memory", BrokerQueueMemory(graph, *options.broker)},
        {"broker", options.broker->broker},
    };
  }
  summary.push_back({"open files", fmt::format("about {} in the supervisor", FormatCount(plan.open_files))});
  if (options.show_limits)
    for (auto& row : LimitRows(limits)) summary.push_back(std::move(row));
  const std::string queues = options.broker ? BrokerQueuesSection(graph, *options.broker) : QueuesSection(graph);
  return StagesSection(plan, graph, options) + "\n" + queues + "\n" + FormatTable(summary, "ll", 0);
}

}  // namespace flow
