// Turns checked pipelines into the StageGraph: one StageNode per builtin
// stage, one QueueEdge per queue, and the rules about a pipeline's shape
// (contract section 3, docs/language.md "Stages"):
//   - a pipeline starts with a source, and only there; a tee branch starts
//     with a transform or a sink; each input of merge starts with a source;
//   - a sink only ends a pipeline; a pipeline that does not end in one (a tee
//     branch included) gets an implicit write("-"), whose loc is the
//     pipeline's last stage; an input of merge cannot end in a sink.
//
// Node order in StageGraph::nodes (and so node ids): pipelines in source
// order; within one, stages left to right; a tee's branch nodes right after
// the tee node (then the rest of the pipeline); a merge's input pipelines,
// in argument order, before the merge node; an implicit write last in its
// pipeline. Edges are numbered as they are made: the edge into a node is
// made with the node, except the edge out of a tee down its main line,
// made after the branch. A tee's `outputs` are still [main, branch].
//
// Labels: the stage's name, then name_2, name_3, ... for later nodes of the
// same name, in node order.
//
// Queue capacities: an edge into a stage with `[queue = N]` holds N records,
// with `[queue = 16MiB]` that many bytes; the measure it does not set, and
// every edge into a stage without `[queue]`, takes CheckOptions' defaults.
#pragma once

#include "compiler/check_context.h"
#include "compiler/checked_pipeline.h"
#include "compiler/stage_graph.h"

namespace flow {

class GraphBuilder {
 public:
  explicit GraphBuilder(CheckContext& ctx) : ctx_(ctx) {}

  // Adds one pipeline statement (and what it holds) to the graph.
  void AddStatement(const CheckedPipeline& pipeline);
  // The graph with its labels; call once, after the last AddStatement.
  StageGraph Finish();

 private:
  enum class Role { kStatement, kTeeBranch, kMergeInput };

  // Adds `pipeline`, fed by node `input` (-1: none). Returns the node its
  // records leave from, or -1 when it ends in a sink (or has no node).
  int AddPipeline(const CheckedPipeline& pipeline, Role role, int input);
  void CheckShape(const CheckedPipeline& pipeline, Role role);
  int AddNode(const CheckedStage& stage);
  int AddImplicitWrite(SourceLoc loc);
  // An edge from node `from` to node `to`, recorded in both nodes.
  int Connect(int from, int to);

  CheckContext& ctx_;
  StageGraph graph_;
};

}  // namespace flow
