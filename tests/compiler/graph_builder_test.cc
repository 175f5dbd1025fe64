// The StageGraph built from checked pipelines: node order, edges, labels,
// queue capacities, implicit writes, tee and merge, and the shape rules.
#include <doctest/doctest.h>

#include "tests/compiler/check_test_util.h"

namespace flow {
namespace {

using checktest::At;
using checktest::Check;
using checktest::ErrorAt;

StageGraph Graph(const std::string& text, CheckOptions options = {}) {
  checktest::Checked r = Check(text, std::move(options));
  REQUIRE_MESSAGE(r.graph, r.diagnostics);
  CHECK(r.diagnostics == "");
  return std::move(*r.graph);
}

// "label[inputs>outputs]" per node, edges as "from->to", for one-line checks.
std::string Shape(const StageGraph& g) {
  std::string out;
  for (const StageNode& n : g.nodes) {
    out += n.label + "[";
    for (int e : n.inputs) out += std::to_string(g.edges[static_cast<size_t>(e)].from) + ",";
    out += ">";
    for (int e : n.outputs) out += std::to_string(g.edges[static_cast<size_t>(e)].to) + ",";
    out += "] ";
  }
  return out;
}

std::string Loc(SourceLoc loc) { return std::to_string(loc.line) + ":" + std::to_string(loc.column); }

TEST_SUITE("graph_builder") {
  TEST_CASE("a straight pipeline: nodes, edges, ids, default capacities") {
    StageGraph g = Graph("seq(3) | map { $1 } | write(\"-\")\n");
    CHECK(Shape(g) == "seq[>1,] map[0,>2,] write[1,>] ");
    REQUIRE(g.edges.size() == 2);
    for (size_t i = 0; i < g.nodes.size(); ++i) CHECK(g.nodes[i].id == static_cast<int>(i));
    CHECK(g.edges[0].id == 0);
    CHECK(g.edges[1].id == 1);
    CHECK(g.edges[0].capacity_records == kDefaultQueueRecords);
    CHECK(g.edges[0].capacity_bytes == kDefaultQueueBytes);
    CHECK(g.nodes[1].signature == FindBuiltinStage("map"));
    CHECK(g.nodes[1].block != nullptr);
    CHECK(g.nodes[1].args.at("fs") == Value::Str(""));
  }

  TEST_CASE("a pipeline without a sink gets an implicit write(\"-\") at its last stage") {
    std::string text = "seq(3)\n  | map { $1 }\n";
    StageGraph g = Graph(text);
    CHECK(Shape(g) == "seq[>1,] map[0,>2,] write[1,>] ");
    CHECK(g.nodes[2].args == std::map<std::string, Value>{{"path", Value::Str("-")}, {"sep", Value::Str("\n")}});
    CHECK(Loc(g.nodes[2].loc) == At(text, "map"));
    CHECK(g.nodes[2].signature == FindBuiltinStage("write"));
    CHECK(Shape(Graph("seq(3) | discard\n")) == "seq[>1,] discard[0,>] ");
  }

  TEST_CASE("pipelines in source order; labels number later duplicates") {
    StageGraph g = Graph("seq(1) | map { $1 } | map { $0 }\nseq(2) | map { $1 } | write(\"a\")\n");
    CHECK(Shape(g) == "seq[>1,] map[0,>2,] map_2[1,>3,] write[2,>] seq_2[>5,] map_3[4,>6,] write_2[5,>] ");
    CHECK(g.nodes[0].args.at("to") == Value::Int(1));
    CHECK(g.nodes[4].args.at("to") == Value::Int(2));
  }

  TEST_CASE("tee: branch nodes right after the tee; outputs are [main, branch]") {
    StageGraph g = Graph("seq(3) | tee(map { $1 } | write(\"a\")) | write(\"b\")\n");
    CHECK(Shape(g) == "seq[>1,] tee[0,>4,2,] map[1,>3,] write[2,>] write_2[1,>] ");
    CHECK(g.nodes[3].args.at("path") == Value::Str("a"));
    CHECK(g.nodes[4].args.at("path") == Value::Str("b"));
    CHECK(g.nodes[1].args.empty());
  }

  TEST_CASE("tee: a stage with a count, read by the parser as a multiplication, is a replicated branch") {
    StageGraph g = Graph("let n = 3\nseq(3) | tee(sleep(1ms) * 2) | tee(sleep(2ms) * n) | tee(sleep(3ms) * auto) | discard\n");
    CHECK(g.nodes[2].name == "sleep");
    CHECK(g.nodes[2].replicas == 2);
    CHECK(g.nodes[5].name == "sleep");
    CHECK(g.nodes[5].replicas == 3);
    CHECK(g.nodes[8].name == "sleep");
    CHECK(g.nodes[8].replicas_auto);
  }

  TEST_CASE("tee: a plain call or name is a one-stage branch; a branch without a sink gets a write") {
    CHECK(Shape(Graph("seq(3) | tee(discard)\n")) == "seq[>1,] tee[0,>3,2,] discard[1,>] write[1,>] ");
    CHECK(Shape(Graph("seq(3) | tee(write(\"x\")) | discard\n")) == "seq[>1,] tee[0,>3,2,] write[1,>] discard[1,>] ");
    CHECK(Shape(Graph("seq(3) | tee(map { $1 }) | discard\n")) ==
          "seq[>1,] tee[0,>4,2,] map[1,>3,] write[2,>] discard[1,>] ");
    CHECK(Shape(Graph("stage out = write(\"x\")\nseq(3) | tee(out) | discard\n")) ==
          "seq[>1,] tee[0,>3,2,] write[1,>] discard[1,>] ");
  }

  TEST_CASE("merge: its input pipelines come before it") {
    StageGraph g = Graph("merge(seq(3), read(\"x\") | map { $1 }) | write(\"-\")\n");
    CHECK(Shape(g) == "seq[>3,] read[>2,] map[1,>3,] merge[0,2,>4,] write[3,>] ");
    CHECK(g.nodes[3].args.empty());
    CHECK(Shape(Graph("merge(seq(1), seq(2), seq(3))\n")) ==
          "seq[>3,] seq_2[>3,] seq_3[>3,] merge[0,1,2,>4,] write[3,>] ");
  }

  TEST_CASE("defined stages: each use is its own nodes, located in the definition") {
    std::string text = "stage ips = read(\"a\") | map { $1 }\nips | discard\nips | count\n";
    StageGraph g = Graph(text);
    CHECK(Shape(g) == "read[>1,] map[0,>2,] discard[1,>] read_2[>4,] map_2[3,>5,] count[4,>6,] write[5,>] ");
    CHECK(Loc(g.nodes[0].loc) == At(text, "read"));
    CHECK(Loc(g.nodes[3].loc) == At(text, "read"));
    CHECK(g.nodes[1].block != g.nodes[4].block);
    // The implicit write is placed at the use that ends the pipeline.
    CHECK(Loc(g.nodes[6].loc) == At(text, "count"));
  }

  TEST_CASE("queue capacities: [queue] on a stage sets its input edges; else the run's defaults") {
    CheckOptions options;
    options.queue_records = 50;
    options.queue_bytes = 1 << 10;
    StageGraph g = Graph("seq(3) | map { $1 } [queue = 100] | sha512 [queue = 16MiB] | discard\n", options);
    CHECK(g.edges[0].capacity_records == 100);
    CHECK(g.edges[0].capacity_bytes == 1 << 10);
    CHECK(g.edges[1].capacity_records == 50);
    CHECK(g.edges[1].capacity_bytes == 16 << 20);
    CHECK(g.edges[2].capacity_records == 50);
    CHECK(g.edges[2].capacity_bytes == 1 << 10);
    CHECK(g.nodes[1].options.queue_records == 100);
    CHECK(g.nodes[2].options.queue_bytes == 16 << 20);
  }

  TEST_CASE("a pipeline starts with a source, and only there") {
    std::string text = "map { $1 } | discard\n";
    CHECK(Check(text).diagnostics == ErrorAt(text, "map", "'map' needs an input: a pipeline must start with a source"));
    text = "seq(3) | read(\"x\")\n";
    CHECK(Check(text).diagnostics == ErrorAt(text, "read", "'read' is a source and can only start a pipeline"));
    text = "stage src = read(\"x\") | map { $1 }\nseq(3) | src\n";
    CHECK(Check(text).diagnostics ==
          ErrorAt(text, "src\n", "'read' (in stage 'src') is a source and can only start a pipeline"));
    text = "stage clean = map { $1 }\nclean | discard\n";
    CHECK(Check(text).diagnostics ==
          ErrorAt(text, "clean |", "'map' (in stage 'clean') needs an input: a pipeline must start with a source"));
    CHECK(Check("stage src = read(\"x\") | map { $1 }\nsrc | discard\n").diagnostics == "");
  }

  TEST_CASE("a sink only ends a pipeline") {
    std::string text = "seq(3) | write(\"a\") | map { $1 }\n";
    CHECK(Check(text).diagnostics == ErrorAt(text, "write", "'write' is a sink and can only end a pipeline"));
    text = "stage out = discard\nseq(3) | out | count\n";
    CHECK(Check(text).diagnostics ==
          ErrorAt(text, "out |", "'discard' (in stage 'out') is a sink and can only end a pipeline"));
  }

  TEST_CASE("tee and merge shape errors") {
    std::string text = "seq(3) | tee(read(\"x\") | discard)\n";
    CHECK(Check(text).diagnostics ==
          ErrorAt(text, "read", "'read' is a source and cannot start a tee branch, which takes the tee's records"));
    text = "merge(seq(3), map { $1 })\n";
    CHECK(Check(text).diagnostics ==
          ErrorAt(text, "map", "each input of 'merge' must start with a source; 'map' needs an input"));
    text = "merge(seq(3), seq(4) | discard)\n";
    CHECK(Check(text).diagnostics ==
          ErrorAt(text, "discard", "'discard' is a sink; an input of 'merge' cannot end in one"));
    text = "seq(3) | merge(seq(4))\n";
    CHECK(Check(text).diagnostics == ErrorAt(text, "merge", "'merge' is a source and can only start a pipeline"));
    text = "merge()\n";
    CHECK(Check(text).diagnostics == ErrorAt(text, "merge", "'merge' takes at least 1 argument, 0 given"));
    text = "seq(3) | tee(5)\n";
    CHECK(Check(text).diagnostics == ErrorAt(text, "5", "'tee' expects a pipeline for 'branch', got int"));
  }

  TEST_CASE("a pipeline with an unknown stage reports no shape errors") {
    std::string text = "nope | map { $1 }\n";
    CHECK(Check(text).diagnostics == ErrorAt(text, "nope", "unknown stage 'nope'"));
  }
}

}  // namespace
}  // namespace flow
