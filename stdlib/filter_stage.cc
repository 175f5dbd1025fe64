// filter { e }: keeps the records for which the block is true.
#include <algorithm>

#include "stdlib/block_call.h"
#include "stdlib/stages.h"

namespace flow {
namespace {

class FilterStage : public Stage {
 public:
  explicit FilterStage(BlockFunction block) : block_(block) {}

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    if (!CallBlock(block_, record, &result_)) return BlockRecordError(result_);
    if (result_.bool_value != 0) out.Emit(record.bytes, record.nr);
    return StageStatus::Ok();
  }

  bool TakesRuns() const override { return true; }
  size_t OnRun(const RecordRun& run, Emitter& out, StageStatus* status) override {
    FlowRunValue values[kBlockRunRecords];
    for (size_t at = 0; at < run.size();) {
      const size_t n = std::min(run.size() - at, kBlockRunRecords);
      const uint64_t done = CallBlockRun(block_, run, at, n, values, &result_);
      if (done == kFlowNoRun) return ByRecord(run, at, out, status);
      // The kept records, emitted in one call.
      uint32_t which[kBlockRunRecords];
      std::string_view kept[kBlockRunRecords];
      int64_t nrs[kBlockRunRecords];
      size_t count = 0;
      for (size_t k = 0; k < done; ++k) {
        which[count] = static_cast<uint32_t>(at + k);
        kept[count] = run.bytes(at + k);
        nrs[count] = run.nrs[at + k];
        count += values[k].len != 0;
      }
      const size_t emitted = out.EmitEachOf(which, kept, nrs, count);
      if (emitted < count) return which[emitted - 1] + size_t{1};
      if (done < n) {
        *status = BlockRecordError(result_);
        return at + done;
      }
      at += n;
    }
    return run.size();
  }

 private:
  // A block without a run entry (the interpreter's): a call per record.
  size_t ByRecord(const RecordRun& run, size_t from, Emitter& out, StageStatus* status) {
    for (size_t i = from; i < run.size(); ++i) {
      const std::string_view bytes = run.bytes(i);
      block_(bytes.data(), bytes.size(), run.nrs[i], &result_);
      if (result_.ok == 0) [[unlikely]] {
        *status = BlockRecordError(result_);
        return i;
      }
      if (result_.bool_value != 0 && !out.EmitOf(i, bytes, run.nrs[i])) return i + 1;
    }
    return run.size();
  }

  BlockFunction block_;
  FlowBlockResult result_{};
};

}  // namespace

std::unique_ptr<Stage> MakeFilterStage(BlockFunction block) { return std::make_unique<FilterStage>(block); }

}  // namespace flow
