// The external half of sort: sorted runs spilled to temporary files when
// the records held exceed the memory budget, and their k-way merge.
//
// A run's file has no name from the moment it exists (O_TMPFILE, or
// unlinked right after mkostemp where the file system lacks it), so nothing
// is left in the temporary directory whatever happens to the process.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/stage.h"
#include "stdlib/sort_order.h"

namespace flow {

// A record held in memory with its key (views into memory the sort owns).
struct SortItem {
  std::string_view record;
  SortKey key;
  int64_t nr = 0;
};

class SpilledRuns {
 public:
  // `memory_bytes` bounds the merge's read buffers as it bounds the sort.
  SpilledRuns(std::string temp_dir, int64_t memory_bytes);
  ~SpilledRuns();
  SpilledRuns(const SpilledRuns&) = delete;
  SpilledRuns& operator=(const SpilledRuns&) = delete;

  bool empty() const { return runs_.empty(); }
  size_t size() const { return runs_.size(); }

  // Writes `items`, already sorted, as the newest run. False with `*error`
  // set when the temporary file cannot be made or written.
  bool Spill(const std::vector<SortItem>& items, std::string* error);

  // Emits every record in order: those of the runs and those of `last` (the
  // newest records, sorted, still in memory). Equal keys come out in input
  // order: a run holds older records than every later run, and the merge
  // breaks ties by run. Stops early when Emit returns false.
  StageStatus Merge(const SortOrder& order, const std::vector<SortItem>& last, Emitter& out);

  // At most this many runs are merged at once (each needs a file and a read
  // buffer); more are first merged in groups into fewer, longer runs.
  static constexpr size_t kMaxMergeWidth = 64;

 private:
  struct Run {
    int fd = -1;
    uint64_t bytes = 0;
  };

  // Merges runs_[first, first + count) into one new run at `*merged`.
  bool MergeGroup(const SortOrder& order, size_t first, size_t count, Run* merged, std::string* error);
  size_t ReadBufferBytes(size_t readers) const;

  std::string temp_dir_;
  int64_t memory_bytes_;
  std::vector<Run> runs_;  // oldest first
};

}  // namespace flow
