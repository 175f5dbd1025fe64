// sum { e }: one record at the end, the total of the block's values (NR 1).
//
// The block has one static type (the checker widens `c ? 1 : 2.5` to
// float), so every value is an int or every value is a float. An int total
// wraps on overflow (two's complement, as the language's ints do). Should
// a float ever follow ints, the total becomes a float from there on: the int
// total so far as a double, then every value, int or float, added as a
// double, left to right (plain addition, not a compensated sum). A float
// total is written as str() writes a float; an empty input sums to 0.
#include <charconv>

#include "compiler/value.h"
#include "stdlib/block_call.h"
#include "stdlib/stages.h"

namespace flow {
namespace {

class SumStage : public Stage {
 public:
  explicit SumStage(BlockFunction block) : block_(block) {}

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    (void)out;
    if (!CallBlock(block_, record, &result_)) return BlockRecordError(result_);
    if (result_.is_float != 0 && !is_float_) {
      is_float_ = true;
      float_total_ = static_cast<double>(static_cast<int64_t>(int_total_));
    }
    if (is_float_)
      float_total_ += result_.is_float != 0 ? result_.float_value : static_cast<double>(result_.int_value);
    else
      int_total_ += static_cast<uint64_t>(result_.int_value);  // unsigned: wraps without UB
    return StageStatus::Ok();
  }

  StageStatus Finish(Emitter& out) override {
    if (is_float_) {
      out.Emit(FormatFloat(float_total_), 1);
      return StageStatus::Ok();
    }
    char text[24];
    auto [end, ec] = std::to_chars(text, text + sizeof text, static_cast<int64_t>(int_total_));
    (void)ec;
    out.Emit(std::string_view(text, static_cast<size_t>(end - text)), 1);
    return StageStatus::Ok();
  }

 private:
  BlockFunction block_;
  FlowBlockResult result_{};
  bool is_float_ = false;
  uint64_t int_total_ = 0;
  double float_total_ = 0;
};

}  // namespace

std::unique_ptr<Stage> MakeSumStage(BlockFunction block) { return std::make_unique<SumStage>(block); }

}  // namespace flow
