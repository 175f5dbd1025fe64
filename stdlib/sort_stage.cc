// sort(key, numeric, reverse): a stable sort of every record, emitted at the
// end with their NRs. Records are copied into an arena and sorted in
// memory; when what is held (record bytes and a SortItem each) passes the
// memory budget, the held records are sorted and spilled as a run to a
// temporary file, and Finish merges the runs (stdlib/sort_runs.h) with the
// records still in memory. The order is stdlib/sort_order.h's.
#include <algorithm>
#include <memory>
#include <vector>

#include "stdlib/sort_order.h"
#include "stdlib/sort_runs.h"
#include "stdlib/stages.h"

namespace flow {
namespace {

// Record bytes in big chunks: one allocation per chunk, not per record.
class RecordArena {
 public:
  explicit RecordArena(size_t chunk_bytes) : chunk_bytes_(chunk_bytes) {}

  std::string_view Copy(std::string_view bytes) {
    if (chunks_.empty() || chunks_.back().size - used_ < bytes.size()) {
      // A record larger than a chunk gets a chunk of its own size.
      size_t size = std::max(chunk_bytes_, bytes.size());
      chunks_.push_back({std::unique_ptr<char[]>(new char[size]), size});
      used_ = 0;
    }
    char* at = chunks_.back().data.get() + used_;
    if (!bytes.empty()) std::copy(bytes.begin(), bytes.end(), at);
    used_ += bytes.size();
    return {at, bytes.size()};
  }

  // Forgets every record; the first chunk is kept for the next ones.
  void Clear() {
    if (chunks_.size() > 1) chunks_.resize(1);
    if (!chunks_.empty() && chunks_.front().size != chunk_bytes_) chunks_.clear();
    used_ = 0;
  }

 private:
  struct Chunk {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  size_t chunk_bytes_;
  std::vector<Chunk> chunks_;
  size_t used_ = 0;  // bytes used in the last chunk
};

size_t ArenaChunkBytes(int64_t memory_bytes) {
  return static_cast<size_t>(std::clamp<int64_t>(memory_bytes / 8, 64 << 10, 8 << 20));
}

class SortStage : public Stage {
 public:
  explicit SortStage(const SortSpec& spec)
      : order_(spec.key, spec.numeric, spec.reverse),
        memory_bytes_(spec.memory_bytes),
        arena_(ArenaChunkBytes(spec.memory_bytes)),
        runs_(spec.temp_dir, spec.memory_bytes) {}

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    (void)out;
    std::string_view copy = arena_.Copy(record.bytes);
    items_.push_back({copy, order_.KeyOf(copy), record.nr});
    held_bytes_ += static_cast<int64_t>(record.bytes.size() + sizeof(SortItem));
    if (held_bytes_ <= memory_bytes_) return StageStatus::Ok();
    SortHeld();
    std::string error;
    if (!runs_.Spill(items_, &error)) return StageStatus::Fatal(error);
    items_.clear();
    arena_.Clear();
    held_bytes_ = 0;
    return StageStatus::Ok();
  }

  StageStatus Finish(Emitter& out) override {
    SortHeld();
    if (!runs_.empty()) return runs_.Merge(order_, items_, out);
    for (const SortItem& item : items_)
      if (!out.Emit(item.record, item.nr)) break;
    return StageStatus::Ok();
  }

 private:
  void SortHeld() {
    std::stable_sort(items_.begin(), items_.end(),
                     [this](const SortItem& a, const SortItem& b) { return order_.Compare(a.key, b.key) < 0; });
  }

  SortOrder order_;
  int64_t memory_bytes_;
  RecordArena arena_;
  std::vector<SortItem> items_;  // the records held, in input order until sorted
  int64_t held_bytes_ = 0;
  SpilledRuns runs_;
};

}  // namespace

std::unique_ptr<Stage> MakeSortStage(SortSpec spec) { return std::make_unique<SortStage>(spec); }

}  // namespace flow
