// flatmap { e }: emits each line of the block's text as its own record, all
// with the input record's NR. Lines split as lines(s) splits them: "a\nb\n"
// is "a", "b", and "" emits nothing (a way to drop a record).
#include "stdlib/block_call.h"
#include "stdlib/record_split.h"
#include "stdlib/stages.h"

namespace flow {
namespace {

class FlatmapStage : public Stage {
 public:
  explicit FlatmapStage(BlockFunction block) : block_(block) {}

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    if (!CallBlock(block_, record, &result_)) return BlockRecordError(result_);
    ForEachRecord(BlockText(result_), "\n", [&](std::string_view line) { return out.Emit(line, record.nr); });
    return StageStatus::Ok();
  }

 private:
  BlockFunction block_;
  FlowBlockResult result_{};
};

}  // namespace

std::unique_ptr<Stage> MakeFlatmapStage(BlockFunction block) { return std::make_unique<FlatmapStage>(block); }

}  // namespace flow
