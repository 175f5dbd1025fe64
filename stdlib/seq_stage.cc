// seq([from,] to): the integers from..to inclusive, in decimal, NR being
// the position (1, 2, ...). `to` = the largest int is `seq()`: it never
// ends on its own, only when downstream stops wanting records or a stop is
// requested.
#include <charconv>
#include <cstring>
#include <limits>

#include "stdlib/stages.h"

namespace flow {
namespace {

// How many records between two looks at the stop flag: a relaxed load is
// cheap, but a record here is only a few nanoseconds.
constexpr uint64_t kStopCheckEvery = 256;

// The decimal text of a non-negative number that counts up by one: an
// increment touches only the digits that change, so the hot loop of
// `seq(1, 20000000)` does no division at all.
class DecimalCounter {
 public:
  explicit DecimalCounter(int64_t value) {
    char text[24];
    auto [end, ec] = std::to_chars(text, text + sizeof text, value);
    (void)ec;
    size_t length = static_cast<size_t>(end - text);
    start_ = kEnd - length;
    std::memcpy(digits_ + start_, text, length);
  }

  std::string_view text() const { return {digits_ + start_, kEnd - start_}; }

  // Only called below the largest int, so at most 19 digits are needed.
  void Increment() {
    size_t i = kEnd;
    while (i > start_ && digits_[i - 1] == '9') digits_[--i] = '0';
    if (i == start_)
      digits_[--start_] = '1';
    else
      ++digits_[i - 1];
  }

 private:
  static constexpr size_t kEnd = 24;
  char digits_[kEnd];
  size_t start_ = kEnd;
};

class SeqStage : public Stage {
 public:
  SeqStage(int64_t from, int64_t to, const std::atomic<bool>* stop_requested)
      : from_(from), to_(to), stop_requested_(stop_requested) {}

  // After a restart: the numbers up to the nr-th were published.
  bool Resume(uint64_t token, int64_t nr) override {
    (void)token;
    if (nr <= 0) return true;
    done_ = true;
    // from + nr would pass `to` (or overflow): nothing is left.
    if (from_ > to_ || nr > to_ - from_) return true;
    done_ = false;
    from_ += nr;
    first_nr_ = static_cast<uint64_t>(nr);
    return true;
  }

  StageStatus Produce(Emitter& out) override {
    if (done_ || from_ > to_) return StageStatus::Ok();
    uint64_t nr = first_nr_;
    int64_t i = from_;
    // Negative numbers (rare) the plain way, then the counter from 0 up.
    for (; i < 0; ++i) {
      if (nr % kStopCheckEvery == 0 && StopRequested()) return StageStatus::Ok();
      char text[24];
      auto [end, ec] = std::to_chars(text, text + sizeof text, i);
      (void)ec;
      if (!out.Emit(std::string_view(text, static_cast<size_t>(end - text)), static_cast<int64_t>(++nr)))
        return StageStatus::Ok();
      if (i == to_) return StageStatus::Ok();
    }
    DecimalCounter counter(i);
    for (;;) {
      if (nr % kStopCheckEvery == 0 && StopRequested()) return StageStatus::Ok();
      if (!out.Emit(counter.text(), static_cast<int64_t>(++nr))) return StageStatus::Ok();
      // Checked before the increment: `to` may be the largest int.
      if (i == to_) return StageStatus::Ok();
      ++i;
      counter.Increment();
    }
  }

 private:
  bool StopRequested() const {
    return stop_requested_ != nullptr && stop_requested_->load(std::memory_order_relaxed);
  }

  int64_t from_;
  int64_t to_;
  const std::atomic<bool>* stop_requested_;
  uint64_t first_nr_ = 0;  // records published before a restart
  bool done_ = false;      // ... and they were all of them
};

}  // namespace

std::unique_ptr<Stage> MakeSeqStage(int64_t from, int64_t to, const std::atomic<bool>* stop_requested) {
  return std::make_unique<SeqStage>(from, to, stop_requested);
}

}  // namespace flow
