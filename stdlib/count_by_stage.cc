// count_by { key }: at the end, `key\tcount` per key, in order of the key's
// first appearance, NR being the output's position (1, 2, ...).
#include <vector>

#include "stdlib/block_call.h"
#include "stdlib/stages.h"
#include "stdlib/string_keys.h"

namespace flow {
namespace {

class CountByStage : public Stage {
 public:
  explicit CountByStage(BlockFunction block) : block_(block) {}

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    (void)out;
    if (!CallBlock(block_, record, &result_)) return BlockRecordError(result_);
    std::string_view key = BlockText(result_);
    auto found = index_.find(key);
    if (found != index_.end()) {
      ++counts_[found->second].count;
      return StageStatus::Ok();
    }
    index_.emplace(key, counts_.size());
    counts_.push_back({std::string(key), 1});
    return StageStatus::Ok();
  }

  StageStatus Finish(Emitter& out) override {
    std::string line;
    int64_t nr = 0;
    for (const KeyCount& entry : counts_) {
      line.assign(entry.key);
      line += '\t';
      line += std::to_string(entry.count);
      if (!out.Emit(line, ++nr)) break;
    }
    return StageStatus::Ok();
  }

 private:
  struct KeyCount {
    std::string key;
    int64_t count;
  };

  BlockFunction block_;
  FlowBlockResult result_{};
  StringKeyMap<size_t> index_;  // key -> its slot in counts_
  std::vector<KeyCount> counts_;  // in order of first appearance
};

}  // namespace

std::unique_ptr<Stage> MakeCountByStage(BlockFunction block) { return std::make_unique<CountByStage>(block); }

}  // namespace flow
