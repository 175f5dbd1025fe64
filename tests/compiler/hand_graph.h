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

// The example of the contract's section 1.
inline HandGraph WhoisExample() {
  HandGraph g;
  int read = g.Add("read", "read", 1, {{"path", Str("examples/data/access.log")}}, 4);
  int map = g.Add("map", "map", 1, {}, 4);
  int distinct = g.Add("distinct", "distinct", 1, {}, 4);
  int whois = g.Add("whois", "whois", 12, {{"server", Str("127.0.0.1:4343")}, {"fields", Str("netname,country")}}, 8);
  g.node(whois).options.ordered = true;
  g.node(whois).options.timeout_ns = 5'000'000'000;
  int count_by = g.Add("count_by", "count_by", 1, {{"fs", Str("\t")}}, 9);
  int sort = g.Add("sort", "sort", 1, {{"numeric", Value::Bool(true)}, {"reverse", Value::Bool(true)},
                                       {"key", Value::Int(2)}}, 10);
  int write = g.Add("write", "write", 1, {{"path", Str("-")}}, 11);
  g.Connect(read, map);
  g.Connect(map, distinct);
  g.Connect(distinct, whois);
  g.Connect(whois, count_by, 1024, 16 << 20);
  g.Connect(count_by, sort);
  g.Connect(sort, write);
  return g;
}

}  // namespace flow::testing

