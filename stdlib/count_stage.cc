// count: one record at the end, how many came in (NR 1). An empty input
// counts 0.
#include <charconv>

#include "stdlib/stages.h"

namespace flow {
namespace {

class CountStage : public Stage {
 public:
  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    (void)record;
    (void)out;
    ++count_;
    return StageStatus::Ok();
  }

  // A run is counted without reading it.
  bool TakesRuns() const override { return true; }
  size_t OnRun(const RecordRun& run, Emitter& out, StageStatus* status) override {
    (void)out;
    (void)status;
    count_ += static_cast<int64_t>(run.size());
    return run.size();
  }

  StageStatus Finish(Emitter& out) override {
    char text[24];
    auto [end, ec] = std::to_chars(text, text + sizeof text, count_);
    (void)ec;
    out.Emit(std::string_view(text, static_cast<size_t>(end - text)), 1);
    return StageStatus::Ok();
  }

 private:
  int64_t count_ = 0;
};

}  // namespace

std::unique_ptr<Stage> MakeCountStage() { return std::make_unique<CountStage>(); }

}  // namespace flow
