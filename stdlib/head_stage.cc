// head(n): the first n records; then it needs no more input, and the
// worker cancels its upstream (so `seq() | head(5)` ends).
#include "stdlib/stages.h"

namespace flow {
namespace {

class HeadStage : public Stage {
 public:
  explicit HeadStage(int64_t n) : n_(n) {}

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    // Records may still arrive after Satisfied() (those already taken from
    // the queue): they are dropped.
    if (passed_ >= n_) return StageStatus::Ok();
    ++passed_;
    out.Emit(record.bytes, record.nr);
    return StageStatus::Ok();
  }

  bool Satisfied() const override { return passed_ >= n_; }

 private:
  int64_t n_;
  int64_t passed_ = 0;
};

}  // namespace

std::unique_ptr<Stage> MakeHeadStage(int64_t n) { return std::make_unique<HeadStage>(n); }

}  // namespace flow
