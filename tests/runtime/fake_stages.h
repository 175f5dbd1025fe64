// Small Stage implementations for the worker loop's and the runner's tests,
// independent of the standard library's.
#pragma once

#include <time.h>

#include <cctype>
#include <functional>
#include <string>
#include <vector>

#include "runtime/stage.h"

namespace flow::testing {

// Emits `records` (nr from 1); stops when Emit says so.
class VectorSource : public Stage {
 public:
  explicit VectorSource(std::vector<std::string> records) : records_(std::move(records)) {}
  StageStatus Produce(Emitter& out) override {
    for (size_t i = 0; i < records_.size(); ++i) {
      if (!out.Emit(records_[i], static_cast<int64_t>(i + 1))) break;
    }
    return StageStatus::Ok();
  }

 private:
  std::vector<std::string> records_;
};

// 1, 2, 3, ... until Emit returns false.
class CountingSource : public Stage {
 public:
  StageStatus Produce(Emitter& out) override {
    for (int64_t i = 1;; ++i) {
      if (!out.Emit(std::to_string(i), i)) return StageStatus::Ok();
    }
  }
};

// Upper-cases each record. A record equal to `fail_on` is a record error
// ("cannot convert 'x' to int"); one equal to `fatal_on` a fatal error.
// `delay_ns(record)` spins that long first (to shuffle replicas).
class UpperStage : public Stage {
 public:
  std::string fail_on = "\x01never";
  std::string fatal_on = "\x01never";
  std::function<long(const RecordView&)> delay_ns;

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    if (delay_ns) {
      long ns = delay_ns(record);
      if (ns > 0) {
        timespec ts{0, ns};
        nanosleep(&ts, nullptr);
      }
    }
    if (record.bytes == fail_on) {
      return StageStatus::RecordError("t.flow:1:9: cannot convert '" + std::string(record.bytes) + "' to int");
    }
    if (record.bytes == fatal_on) return StageStatus::Fatal("cannot write 'out.txt': No space left on device");
    std::string up(record.bytes);
    for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out.Emit(up, record.nr);
    return StageStatus::Ok();
  }
};

// Upper-cases each record as map does, in runs (Stage::OnRun) where the
// worker allows them. A record equal to `fail_on` fails `fails` times (in a
// run or alone), then passes. Counts its calls.
class RunUpperStage : public Stage {
 public:
  std::string fail_on = "\x01never";
  int fails = 1 << 30;
  int runs = 0, alone = 0;

  bool TakesRuns() const override { return true; }
  size_t OnRun(const RecordRun& run, Emitter& out, StageStatus* status) override {
    ++runs;
    for (size_t i = 0; i < run.size(); ++i) {
      if (Fails(run.bytes(i))) {
        *status = Error(run.bytes(i));
        return i;
      }
      if (!out.EmitOf(i, Upper(run.bytes(i)), run.nrs[i])) return i + 1;
    }
    return run.size();
  }
  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    ++alone;
    if (Fails(record.bytes)) return Error(record.bytes);
    out.Emit(Upper(record.bytes), record.nr);
    return StageStatus::Ok();
  }

 private:
  bool Fails(std::string_view bytes) {
    if (bytes != fail_on || fails == 0) return false;
    --fails;
    return true;
  }
  static StageStatus Error(std::string_view bytes) {
    return StageStatus::RecordError("t.flow:1:9: cannot convert '" + std::string(bytes) + "' to int");
  }
  static std::string Upper(std::string_view bytes) {
    std::string up(bytes);
    for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return up;
  }
};

// Passes records on (tee, merge).
class PassStage : public Stage {
 public:
  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    out.Emit(record.bytes, record.nr);
    return StageStatus::Ok();
  }
};

// Each record twice (to fill batches mid-lease).
class DoubleStage : public Stage {
 public:
  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    out.Emit(record.bytes, record.nr);
    out.Emit(record.bytes, record.nr);
    return StageStatus::Ok();
  }
};

// head(n).
class HeadStage : public Stage {
 public:
  explicit HeadStage(int64_t n) : n_(n) {}
  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    if (seen_ < n_) {
      ++seen_;
      out.Emit(record.bytes, record.nr);
    }
    return StageStatus::Ok();
  }
  bool Satisfied() const override { return seen_ >= n_; }

 private:
  int64_t n_;
  int64_t seen_ = 0;
};

// count: emits the number of records at the end.
class CountStage : public Stage {
 public:
  StageStatus OnRecord(const RecordView&, Emitter&) override {
    ++n_;
    return StageStatus::Ok();
  }
  StageStatus Finish(Emitter& out) override {
    out.Emit(std::to_string(n_), 1);
    return StageStatus::Ok();
  }

 private:
  int64_t n_ = 0;
};

// A sink that keeps what it gets (in this process).
class CollectSink : public Stage {
 public:
  explicit CollectSink(std::vector<std::string>* into) : into_(into) {}
  StageStatus OnRecord(const RecordView& record, Emitter&) override {
    into_->emplace_back(record.bytes);
    return StageStatus::Ok();
  }

 private:
  std::vector<std::string>* into_;
};

}  // namespace flow::testing
