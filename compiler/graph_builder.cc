#include "compiler/graph_builder.h"

#include <map>

namespace flow {
namespace {

// "'read'", or "'read' (in stage 'ips')" when it came from a defined stage:
// the error is reported where that stage is used.
std::string Describe(const CheckedStage& stage) {
  std::string name = "'" + stage.signature->name + "'";
  if (!stage.via.empty()) name += " (in stage '" + stage.via + "')";
  return name;
}

}  // namespace

void GraphBuilder::AddStatement(const CheckedPipeline& pipeline) { AddPipeline(pipeline, Role::kStatement, -1); }

StageGraph GraphBuilder::Finish() {
  std::map<std::string, int> seen;
  for (StageNode& node : graph_.nodes) {
    int n = ++seen[node.name];
    node.label = n == 1 ? node.name : node.name + "_" + std::to_string(n);
  }
  return std::move(graph_);
}

int GraphBuilder::AddPipeline(const CheckedPipeline& pipeline, Role role, int input) {
  if (pipeline.complete) CheckShape(pipeline, role);
  int previous = input;
  bool previous_is_tee = false;
  for (const CheckedStage& stage : pipeline.stages) {
    int node = -1;
    if (stage.signature->variadic) {
      // merge: its inputs come first, then the node they feed.
      std::vector<int> inputs;
      for (const CheckedPipeline& p : stage.pipelines) inputs.push_back(AddPipeline(p, Role::kMergeInput, -1));
      node = AddNode(stage);
      for (int from : inputs)
        if (from >= 0) Connect(from, node);
    } else {
      node = AddNode(stage);
      if (previous >= 0) {
        int edge = Connect(previous, node);
        if (previous_is_tee) {
          // The main line is a tee's first output, though made after the branch.
          std::vector<int>& outputs = graph_.nodes[static_cast<size_t>(previous)].outputs;
          outputs.pop_back();
          outputs.insert(outputs.begin(), edge);
        }
      }
      for (const CheckedPipeline& branch : stage.pipelines) AddPipeline(branch, Role::kTeeBranch, node);
    }
    previous_is_tee = !stage.pipelines.empty() && !stage.signature->variadic;
    previous = stage.signature->kind == StageKind::kSink ? -1 : node;
  }
  if (previous < 0 || role == Role::kMergeInput || pipeline.stages.empty()) return previous;
  int write = AddImplicitWrite(pipeline.stages.back().use_loc);
  int edge = Connect(previous, write);
  if (previous_is_tee) {
    std::vector<int>& outputs = graph_.nodes[static_cast<size_t>(previous)].outputs;
    outputs.pop_back();
    outputs.insert(outputs.begin(), edge);
  }
  return -1;
}

void GraphBuilder::CheckShape(const CheckedPipeline& pipeline, Role role) {
  const std::vector<CheckedStage>& stages = pipeline.stages;
  if (stages.empty()) return;
  const CheckedStage& first = stages.front();
  bool first_is_source = first.signature->kind == StageKind::kSource;
  if (role == Role::kStatement && !first_is_source) {
    ctx_.Error(first.use_loc, Describe(first) + " needs an input: a pipeline must start with a source");
  } else if (role == Role::kMergeInput && !first_is_source) {
    ctx_.Error(first.use_loc,
               "each input of 'merge' must start with a source; " + Describe(first) + " needs an input");
  } else if (role == Role::kTeeBranch && first_is_source) {
    ctx_.Error(first.use_loc, Describe(first) + " is a source and cannot start a tee branch, which takes the "
                                                "tee's records");
  }
  for (size_t i = 1; i < stages.size(); ++i)
    if (stages[i].signature->kind == StageKind::kSource)
      ctx_.Error(stages[i].use_loc, Describe(stages[i]) + " is a source and can only start a pipeline");
  for (size_t i = 0; i + 1 < stages.size(); ++i)
    if (stages[i].signature->kind == StageKind::kSink)
      ctx_.Error(stages[i].use_loc, Describe(stages[i]) + " is a sink and can only end a pipeline");
  const CheckedStage& last = stages.back();
  if (role == Role::kMergeInput && last.signature->kind == StageKind::kSink)
    ctx_.Error(last.use_loc, Describe(last) + " is a sink; an input of 'merge' cannot end in one");
}

int GraphBuilder::AddNode(const CheckedStage& stage) {
  StageNode node;
  node.id = static_cast<int>(graph_.nodes.size());
  node.name = stage.signature->name;
  node.signature = stage.signature;
  node.loc = stage.loc;
  node.args = stage.args;
  node.block = stage.block;
  node.replicas = stage.replicas;
  node.replicas_auto = stage.replicas_auto;
  node.options = stage.options;
  graph_.nodes.push_back(std::move(node));
  return graph_.nodes.back().id;
}

int GraphBuilder::AddImplicitWrite(SourceLoc loc) {
  const StageSignature* write = FindBuiltinStage("write");
  StageNode node;
  node.id = static_cast<int>(graph_.nodes.size());
  node.name = write->name;
  node.signature = write;
  node.loc = loc;
  for (const ParamSignature& param : write->params)
    if (param.default_value) node.args[param.name] = *param.default_value;
  node.args["path"] = Value::Str("-");
  graph_.nodes.push_back(std::move(node));
  return graph_.nodes.back().id;
}

int GraphBuilder::Connect(int from, int to) {
  StageNode& target = graph_.nodes[static_cast<size_t>(to)];
  QueueEdge edge;
  edge.id = static_cast<int>(graph_.edges.size());
  edge.from = from;
  edge.to = to;
  edge.capacity_records =
      target.options.queue_records > 0 ? target.options.queue_records : ctx_.options().queue_records;
  edge.capacity_bytes = target.options.queue_bytes > 0 ? target.options.queue_bytes : ctx_.options().queue_bytes;
  target.inputs.push_back(edge.id);
  graph_.nodes[static_cast<size_t>(from)].outputs.push_back(edge.id);
  graph_.edges.push_back(edge);
  return edge.id;
}

}  // namespace flow
