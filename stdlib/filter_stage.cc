// filter { e }: keeps the records for which the block is true.
#include "stdlib/block_call.h"
#include "stdlib/block_stage_run.h"
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
    // A record the block is true for is its own output; a run entry's bool
    // is a non-zero len.
    return BlockStageOnRun(
        block_, &result_, run, out, status,
        [](const FlowRunValue& value, std::string_view record, std::string_view* output) {
          *output = record;
          return value.len != 0;
        },
        [](const FlowBlockResult& result, std::string_view record, std::string_view* output) {
          *output = record;
          return result.bool_value != 0;
        });
  }

 private:
  BlockFunction block_;
  FlowBlockResult result_{};
};

}  // namespace

std::unique_ptr<Stage> MakeFilterStage(BlockFunction block) { return std::make_unique<FilterStage>(block); }

}  // namespace flow
