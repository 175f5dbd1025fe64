// Makes the Stage object that one worker process runs for one stage node.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "compiler/block_function.h"
#include "compiler/stage_graph.h"
#include "runtime/stage.h"

namespace flow {

// Everything a stage may need to know about where it runs.
struct StageContext {
  const StageNode* node = nullptr;  // name, args (defaults filled), options
  int instance = 0;                 // 0-based replica index
  BlockFunction block;              // the node's block; empty when it has none
  // Sinks that write a file write here; the supervisor renames it onto the
  // target only when the whole run succeeds, and removes it otherwise.
  std::string temp_path;
  // Set (by the worker, on SIGINT/SIGTERM) when sources must stop producing.
  const std::atomic<bool>* stop_requested = nullptr;
  // sort: the memory it may use before it spills sorted runs to temp_dir.
  int64_t sort_memory_bytes = 256 << 20;
  std::string temp_dir = "/tmp";
};

// What the block of `node`'s stage must give (map, flatmap, distinct and
// count_by: text; filter: a bool; sum: a number), for making its
// BlockFunction before MakeStage.
FlowBlockWant StageBlockWant(const StageNode& node);

// The stage for `context.node`, or null with `*error` set when it cannot be
// made (a stage whose runtime is not written yet, a file it cannot open).
std::unique_ptr<Stage> MakeStage(const StageContext& context, std::string* error);

}  // namespace flow
