// map { e }: emits the block's value as text (the block writes ints, floats
// and bools as `str()` does), keeping the record's NR.
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
    for (size_t i = 0; i < run.size(); ++i) {
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

 private:
  BlockFunction block_;
  FlowBlockResult result_{};
};

}  // namespace

std::unique_ptr<Stage> MakeMapStage(BlockFunction block) { return std::make_unique<MapStage>(block); }

}  // namespace flow
