// StageGraphs built by hand for the planner's and the graph formats' tests,
// with the real stage signatures, independent of the parser and checker.
#pragma once

#include <doctest/doctest.h>

#include <map>
#include <string>

#include "compiler/stage_graph.h"
#include "stdlib/signatures.h"

namespace flow::testing {

class HandGraph {
 public:
  // Adds a call of builtin `name` labeled `label`, its arguments the
  // signature's defaults overridden by `args`, at line `line`, column 5
  // (line 0: the next line number).
  int Add(const std::string& name, const std::string& label, int replicas = 1,
          std::map<std::string, Value> args = {}, uint32_t line = 0) {
    StageNode node;
    node.id = static_cast<int>(graph.nodes.size());
    node.name = name;
    node.label = label;
    node.signature = FindBuiltinStage(name);
    REQUIRE_MESSAGE(node.signature != nullptr, "no builtin '" << name << "'");
    for (const ParamSignature& param : node.signature->params)
      if (param.default_value) node.args[param.name] = *param.default_value;
    for (auto& [key, value] : args) node.args[key] = value;
    node.replicas = replicas;
    node.loc = SourceLoc{0, line != 0 ? line : static_cast<uint32_t>(graph.nodes.size() + 1), 5};
    graph.nodes.push_back(std::move(node));
    return graph.nodes.back().id;
  }

  int Connect(int from, int to, int64_t records = kDefaultQueueRecords, int64_t bytes = kDefaultQueueBytes) {
    QueueEdge edge{static_cast<int>(graph.edges.size()), from, to, records, bytes};
    graph.edges.push_back(edge);
    graph.nodes[from].outputs.push_back(edge.id);
    graph.nodes[to].inputs.push_back(edge.id);
    return edge.id;
  }

  StageNode& node(int id) { return graph.nodes[id]; }

  StageGraph graph;
};

inline Value Str(const char* s) { return Value::Str(s); }

}  // namespace flow::testing
