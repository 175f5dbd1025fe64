// tee(p): passes every record on. The copy down `p` is the worker loop's
// doing: a tee's Emitter pushes to both of its output queues.
#include "stdlib/stages.h"

namespace flow {
namespace {

class TeeStage : public Stage {
 public:
  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    out.Emit(record.bytes, record.nr);
    return StageStatus::Ok();
  }
};

}  // namespace

std::unique_ptr<Stage> MakeTeeStage() { return std::make_unique<TeeStage>(); }

}  // namespace flow
