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

 private:
  BlockFunction block_;
  FlowBlockResult result_{};
};

}  // namespace

std::unique_ptr<Stage> MakeMapStage(BlockFunction block) { return std::make_unique<MapStage>(block); }

}  // namespace flow
