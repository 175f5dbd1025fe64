// map { e }: emits the block's value as text (the block writes ints, floats
// and bools as `str()` does), keeping the record's NR.
#include <type_traits>

#include "stdlib/block_call.h"
#include "stdlib/block_stage_run.h"
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
    // Every record's output is the block's text.
    return BlockStageOnRun(
        block_, &result_, run, out, status,
        [](const FlowRunValue& value, std::string_view, std::string_view* output) {
          *output = std::string_view(value.text, value.len);
          return std::true_type{};
        },
        [](const FlowBlockResult& result, std::string_view, std::string_view* output) {
          *output = BlockText(result);
          return true;
        });
  }

 private:
  BlockFunction block_;
  FlowBlockResult result_{};
};

}  // namespace

std::unique_ptr<Stage> MakeMapStage(BlockFunction block) { return std::make_unique<MapStage>(block); }

}  // namespace flow
