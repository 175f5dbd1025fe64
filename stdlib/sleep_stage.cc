// sleep(duration): passes each record on after waiting `duration`, a
// stand-in for slow I/O. The wait is clock_nanosleep on an absolute
// deadline: no busy wait, and a signal handler that interrupts it (the
// worker's SIGINT handler) does not stretch or cut the delay.
#include <time.h>

#include <cerrno>

#include "stdlib/stages.h"

namespace flow {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

class SleepStage : public Stage {
 public:
  explicit SleepStage(int64_t nanoseconds) : nanoseconds_(nanoseconds < 0 ? 0 : nanoseconds) {}

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    if (nanoseconds_ > 0) Wait();
    out.Emit(record.bytes, record.nr);
    return StageStatus::Ok();
  }

 private:
  void Wait() const {
    timespec deadline{};
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    int64_t nanos = deadline.tv_nsec + nanoseconds_ % kNanosPerSecond;
    deadline.tv_sec += static_cast<time_t>(nanoseconds_ / kNanosPerSecond + nanos / kNanosPerSecond);
    deadline.tv_nsec = static_cast<long>(nanos % kNanosPerSecond);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
    }
  }

  int64_t nanoseconds_;
};

}  // namespace

std::unique_ptr<Stage> MakeSleepStage(int64_t nanoseconds) { return std::make_unique<SleepStage>(nanoseconds); }

}  // namespace flow
