// distinct [{ key }]: the first record of each key (the whole record when
// there is no block), in input order, with its NR. Every key seen is kept
// for the whole run: memory grows with the number of distinct keys.
#include "stdlib/block_call.h"
#include "stdlib/stages.h"
#include "stdlib/string_keys.h"

namespace flow {
namespace {

class DistinctStage : public Stage {
 public:
  explicit DistinctStage(BlockFunction block) : block_(block) {}

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    std::string_view key = record.bytes;
    if (block_) {
      if (!CallBlock(block_, record, &result_)) return BlockRecordError(result_);
      key = BlockText(result_);
    }
    if (seen_.find(key) != seen_.end()) return StageStatus::Ok();
    seen_.emplace(key);
    out.Emit(record.bytes, record.nr);
    return StageStatus::Ok();
  }

 private:
  BlockFunction block_;
  FlowBlockResult result_{};
  StringKeySet seen_;
};

}  // namespace

std::unique_ptr<Stage> MakeDistinctStage(BlockFunction block) { return std::make_unique<DistinctStage>(block); }

}  // namespace flow
