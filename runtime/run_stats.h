// What each stage instance did: records and bytes in and out, time spent in
// the stage, time blocked on its input and on its output queue. One slot per
// instance in one anonymous shared mapping made before the fork; the worker
// writes its own slot (one writer: relaxed stores, updated per batch, never
// per record), the supervisor reads them all for --progress and --stats.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <time.h>
#include <vector>

#include "compiler/stage_graph.h"

namespace flow {

struct InstanceCounters {
  std::atomic<uint64_t> records_in{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> records_out{0};  // a tee's record counts once
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> busy_ns{0};        // inside the stage's own calls
  std::atomic<uint64_t> wait_input_ns{0};  // blocked taking from the input queue(s)
  std::atomic<uint64_t> wait_output_ns{0}; // blocked pushing (full queue, order gate)
  std::atomic<uint64_t> skipped{0};        // record errors under [on_error = skip]
  std::atomic<uint64_t> dead_letters{0};   // ... under [on_error = dead_letter]

  // Called per batch or lease, not per record, and from two threads of a
  // worker that finishes a lease in the background (lease_finisher.h).
  static void Add(std::atomic<uint64_t>& counter, uint64_t n) { counter.fetch_add(n, std::memory_order_relaxed); }
};

// CLOCK_MONOTONIC in nanoseconds.
inline uint64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

class RunStats {
 public:
  static std::unique_ptr<RunStats> Create(size_t instances, std::string* error);
  ~RunStats();
  RunStats(const RunStats&) = delete;
  RunStats& operator=(const RunStats&) = delete;

  size_t size() const { return instances_; }
  InstanceCounters& at(size_t instance) const { return slots_[instance].counters; }

 private:
  struct alignas(128) Slot {  // two cache lines: no false sharing between workers
    InstanceCounters counters;
  };
  RunStats(Slot* slots, size_t bytes, size_t instances);

  Slot* slots_;
  size_t bytes_;
  size_t instances_;
};

// An instance's counters as one line of numbers, and back (added to what
// `counters` holds): how a worker's part tells the origin what its
// instances did (issue 8). False when the line is not such a line.
std::string CountersLine(const InstanceCounters& counters);
bool AddCountersLine(const std::string& line, InstanceCounters* counters);
// The same, replacing what `counters` holds (a snapshot of counters that
// only grow: the latest one is the truth).
bool StoreCountersLine(const std::string& line, InstanceCounters* counters);

// Slots are numbered node by node, instances of a node consecutive:
// first[node] is the slot of the node's instance #1; first.back() the total.
std::vector<size_t> StatsSlots(const StageGraph& graph);

// The --stats file: per stage label, per instance (1-based), every counter,
// times in seconds. `elapsed_ns` is the run's wall time.
std::string StatsJson(const StageGraph& graph, const RunStats& stats, uint64_t elapsed_ns);

}  // namespace flow
