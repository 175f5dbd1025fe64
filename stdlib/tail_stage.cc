// tail(n): the last n records, emitted at the end with their NRs. They are
// held in a ring of n slots whose strings keep their memory, so once the
// ring is full a record costs a copy and no allocation.
#include <vector>

#include "stdlib/stages.h"

namespace flow {
namespace {

class TailStage : public Stage {
 public:
  explicit TailStage(int64_t n) : n_(n < 0 ? 0 : static_cast<uint64_t>(n)) {}

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    (void)out;
    if (n_ == 0) return StageStatus::Ok();
    // The ring grows up to n slots as records come, so a large n with a
    // small input costs only what the input needs.
    if (ring_.size() < n_) {
      ring_.push_back({std::string(record.bytes), record.nr});
      return StageStatus::Ok();
    }
    ring_[oldest_].bytes.assign(record.bytes);
    ring_[oldest_].nr = record.nr;
    oldest_ = (oldest_ + 1) % ring_.size();
    return StageStatus::Ok();
  }

  StageStatus Finish(Emitter& out) override {
    for (size_t i = 0; i < ring_.size(); ++i) {
      const Held& held = ring_[(oldest_ + i) % ring_.size()];
      if (!out.Emit(held.bytes, held.nr)) break;
    }
    return StageStatus::Ok();
  }

 private:
  struct Held {
    std::string bytes;
    int64_t nr;
  };

  uint64_t n_;
  std::vector<Held> ring_;
  size_t oldest_ = 0;  // the slot of the oldest record once the ring is full
};

}  // namespace

std::unique_ptr<Stage> MakeTailStage(int64_t n) { return std::make_unique<TailStage>(n); }

}  // namespace flow
