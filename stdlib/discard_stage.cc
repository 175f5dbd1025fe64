// discard: a sink that drops every record.
#include "stdlib/stages.h"

namespace flow {
namespace {

class DiscardStage : public Stage {
 public:
  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    (void)record;
    (void)out;
    return StageStatus::Ok();
  }
};

}  // namespace

std::unique_ptr<Stage> MakeDiscardStage() { return std::make_unique<DiscardStage>(); }

}  // namespace flow
