// map { e }: emits the block's value as text (the block writes ints, floats
// and bools as `str()` does), keeping the record's NR.
#include <algorithm>

#include "stdlib/block_call.h"
#include "stdlib/stages.h"

namespace flow {
namespace {

class MapStage : public Stage {
 public:
  explicit MapStage(BlockFunction block) : block_(block) {}

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    if (!CallBlock(block_, record, &result_)) return BlockRecordError(result_);
    out.Emit(BlockText(result_), record.nr);
    return StageStatus::Ok();
  }

  bool TakesRuns() const override { return true; }
  size_t OnRun(const RecordRun& run, Emitter& out, StageStatus* status) override {
    FlowRunValue values[kBlockRunRecords];
    for (size_t at = 0; at < run.size();) {
      const size_t n = std::min(run.size() - at, kBlockRunRecords);
      const uint64_t done = CallBlockRun(block_, run, at, n, values, &result_);
      if (done == kFlowNoRun) return ByRecord(run, at, out, status);
      uint32_t which[kBlockRunRecords];
      std::string_view texts[kBlockRunRecords];
      for (size_t k = 0; k < done; ++k) {
        which[k] = static_cast<uint32_t>(at + k);
        texts[k] = std::string_view(values[k].text, values[k].len);
      }
      const size_t emitted = out.EmitEachOf(which, texts, run.nrs + at, done);
      if (emitted < done) return at + emitted;
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
      if (!out.EmitOf(i, BlockText(result_), run.nrs[i])) return i + 1;
    }
    return run.size();
  }

  BlockFunction block_;
  FlowBlockResult result_{};
};

}  // namespace

std::unique_ptr<Stage> MakeMapStage(BlockFunction block) { return std::make_unique<MapStage>(block); }

}  // namespace flow
