// lines(s): the records of a literal string, split on "\n" as flatmap
// splits ("a\nb\n" is "a", "b"; "" is no record), NR being the position.
#include "stdlib/record_split.h"
#include "stdlib/stages.h"

namespace flow {
namespace {

class LinesStage : public Stage {
 public:
  explicit LinesStage(std::string text) : text_(std::move(text)) {}

  StageStatus Produce(Emitter& out) override {
    int64_t nr = 0;
    ForEachRecord(text_, "\n", [&](std::string_view line) { return out.Emit(line, ++nr); });
    return StageStatus::Ok();
  }

 private:
  std::string text_;
};

}  // namespace

std::unique_ptr<Stage> MakeLinesStage(std::string text) { return std::make_unique<LinesStage>(std::move(text)); }

}  // namespace flow
