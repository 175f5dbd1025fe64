// merge(p1, p2, ...): a source made of several pipelines. The worker loop
// hands it every input queue's records; it passes each one on, keeping the
// NR its own source gave it.
#include "stdlib/stages.h"

namespace flow {
namespace {

class MergeStage : public Stage {
 public:
  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    out.Emit(record.bytes, record.nr);
    return StageStatus::Ok();
  }
};

}  // namespace

std::unique_ptr<Stage> MakeMergeStage() { return std::make_unique<MergeStage>(); }

}  // namespace flow
