// The supervisor side of `flowrun run`: from a checked StageGraph to a
// finished run. Before the fork it maps one ShmQueue per edge, the run's
// shared control words and statistics, and opens the dead-letter file; it
// then starts one worker process per stage instance ("label#i", i from 1),
// each running the worker loop (runtime/worker.h) around the Stage the
// caller's StageMaker makes in that process; it watches them with a
// WorkerPool and a StopOnFailurePolicy; and at the end it renames the sinks'
// temporary files onto their targets only if the run succeeded (removing
// them otherwise, interrupted runs included), reports skipped records,
// writes --stats, and returns the exit code (0, 1, 130, 143).
//
// A closed stdout (`flowrun ... | head -1`) ends the run as it ends a shell
// pipeline's writer: the write("-") sink cancels its upstream and the run
// ends quietly with 0 (a shell would have killed the writer with SIGPIPE
// and not said a word; 0 keeps `set -o pipefail` scripts working).
//
// The runtime knows no syntax and no standard library: block functions
// come made (the JIT's or the interpreter's), stages come from a maker.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "compiler/block_function.h"
#include "compiler/stage_graph.h"
#include "runtime/broker_access.h"
#include "runtime/placement.h"
#include "runtime/stage.h"
#include "runtime/worker_policy.h"

namespace flow {

// What a stage maker gets to build one instance's Stage (in the worker).
struct StageInstance {
  const StageNode* node = nullptr;
  int instance = 0;    // 0-based
  BlockFunction block; // empty when the node has no block
  // Sinks that write a file write here; "" for the others and for "-".
  std::string temp_path;
  const std::atomic<bool>* stop_requested = nullptr;
};
using StageMaker = std::function<std::unique_ptr<Stage>(const StageInstance&, std::string* error)>;

// How many times the workers of one stage may be replaced in a run: enough
// for bad luck, few enough that a stage crashing on every record stops.
inline constexpr int kDefaultMaxRestarts = 100;

struct RunOptions {
  std::string program_path;  // names locations in messages ("etl.flow:9:5")
  std::chrono::milliseconds grace = kDefaultGrace;
  std::string dead_letter_path;  // "" when not given
  std::string stats_path;        // "" when not given
  bool progress = false;         // drawn only when `log_fd` is a terminal
  int log_fd = STDERR_FILENO;    // the run's messages and the workers' log lines
  int max_restarts = kDefaultMaxRestarts;  // per stage, before a dying stage stops the run
  // A broker URL (nats://[user:password@]host:port) and how to connect:
  // every edge on that NATS JetStream broker instead of shared memory
  // (runtime/broker_edges.h); an empty URL for a local run.
  BrokerAccess broker;
  // On a broker, for the origin: the run's description (RunDescription::
  // Encode) offered to the `flowrun worker`s alive on the broker, which
  // take the instances that may move; "" keeps every instance here.
  std::string description;
  // Set in a `flowrun worker`'s part of a run: join run `run`, made on the
  // broker by its origin, and run only the instances that `placement` gives
  // to `worker` (no source, no sink, no keeper).
  struct Part {
    std::string run;
    std::string worker;
    Placement placement;
    // Where the part writes, at its end, one "node instance counters" line
    // (CountersLine) per instance it ran: the worker hands them to the
    // origin, whose --stats and reports then count them.
    std::string counters_path;
    // The run was made (its edges and bucket) before it was offered: the
    // instances open its edges without looking (AwaitNatsRunMade).
    bool run_made = false;
    // A memfd of the worker's, where the instances note what they hold
    // (HandBackBook::Adopt); -1: the part makes its own.
    int hand_back_fd = -1;
  };
  std::optional<Part> part;
  // Fills the `blocks` given to RunGraph (the JIT: milliseconds). Called
  // once, before any worker is forked; on a broker's origin, while the
  // keeper makes the run on the broker, so that the two overlap. Unset:
  // the blocks are ready.
  std::function<void()> make_blocks;
};

// Runs `graph` to its end. `blocks[i]` is node i's block function (made in
// this process, before the fork, so the workers inherit it; by
// options.make_blocks when set). Returns the
// exit code; every message has been written to options.log_fd.
int RunGraph(const StageGraph& graph, const std::vector<BlockFunction>& blocks,
             const StageMaker& make_stage, const RunOptions& options);

// Where a sink writing `target` writes until the run succeeds: a hidden
// name in the target's own directory (so the final rename cannot cross
// file systems), unique to this supervisor and node.
std::string SinkTempPath(const std::string& target, int node_id);

}  // namespace flow
