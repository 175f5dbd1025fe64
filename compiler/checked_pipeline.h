// A pipeline after checking and before the graph: every defined stage
// replaced by its (checked) body, every builtin call with its arguments
// folded, its block typed and its options read. The graph builder turns
// these into StageNodes and QueueEdges.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compiler/ast.h"
#include "compiler/stage_graph.h"
#include "stdlib/signatures.h"

namespace flow {

struct CheckedStage;

struct CheckedPipeline {
  SourceLoc loc;
  std::vector<CheckedStage> stages;
  // False when a stage could not be resolved (an unknown stage, a recursive
  // defined stage): its error is reported, and the rules about the shape of
  // the pipeline are not checked, since the missing stage could be anything.
  bool complete = true;
};

struct CheckedStage {
  const StageSignature* signature = nullptr;
  SourceLoc loc;  // the builtin's call (inside a defined stage: there)
  // Where this stage appears in the pipeline it belongs to: the call itself,
  // or the use of the defined stage it came from, which `via` names.
  SourceLoc use_loc;
  std::string via;
  std::map<std::string, Value> args;  // every non-pipeline parameter, defaults filled
  std::shared_ptr<const Block> block;
  int replicas = 1;
  bool replicas_auto = false;
  StageOptionsSet options;
  std::vector<CheckedPipeline> pipelines;  // tee: its branch; merge: its inputs
};

}  // namespace flow
