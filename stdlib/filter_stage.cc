// filter { e }: keeps the records for which the block is true.
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

 private:
  BlockFunction block_;
  FlowBlockResult result_{};
};

}  // namespace

std::unique_ptr<Stage> MakeFilterStage(BlockFunction block) { return std::make_unique<FilterStage>(block); }

}  // namespace flow
