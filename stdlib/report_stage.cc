// report(path, format, header): the sink that writes tab-separated records
// as a tsv, csv, json or markdown table (report_format.h has the formats'
// rules). It writes as write() does: "-" is stdout; a file is written to
// the temporary path the supervisor chose, which it renames onto `path`
// only when the whole run succeeds (and removes otherwise), so a failed run
// leaves the target untouched.
//
// The formatter's text gathers in a buffer that is written out with big
// write(2) calls once it passes 1 MiB; only markdown holds rows back (its
// width is known at the end). Finish flushes and, for a file, fsyncs, so a
// rename after it never exposes a half-written file after a crash. Errors
// are Fatal, name the target, and read as write()'s do ("stdout closed"
// when the reader of stdout has gone; the worker ignores SIGPIPE).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "stdlib/report_format.h"
#include "stdlib/sink_output.h"
#include "stdlib/stages.h"

namespace flow {
namespace {

constexpr size_t kFlushBytes = 1 << 20;

class ReportStage : public Stage {
 public:
  ReportStage(int fd, std::string target, std::unique_ptr<ReportFormatter> formatter)
      : output_(fd, std::move(target)), formatter_(std::move(formatter)) {
    buffer_.reserve(kFlushBytes + 4096);
  }

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    (void)out;
    if (output_.failed()) return output_.Fatal();
    formatter_->AddRecord(record.bytes, buffer_);
    if (buffer_.size() >= kFlushBytes && !Flush()) return output_.Fatal();
    return StageStatus::Ok();
  }

  StageStatus Finish(Emitter& out) override {
    (void)out;
    if (output_.failed()) return output_.Fatal();
    formatter_->Finish(buffer_, [this] { return buffer_.size() < kFlushBytes || Flush(); });
    if (output_.failed() || !Flush()) return output_.Fatal();
    return output_.Close();
  }

 private:
  bool Flush() {
    bool ok = output_.Write(buffer_.data(), buffer_.size());
    buffer_.clear();
    // One huge row (a 64 MiB record) should not pin its memory to the end.
    if (buffer_.capacity() > 4 * kFlushBytes) {
      buffer_.shrink_to_fit();
      buffer_.reserve(kFlushBytes + 4096);
    }
    return ok;
  }

  SinkOutput output_;
  std::unique_ptr<ReportFormatter> formatter_;
  std::string buffer_;  // formatted text not yet written
};

}  // namespace

std::unique_ptr<Stage> MakeReportStage(ReportSpec spec, std::string* error) {
  std::unique_ptr<ReportFormatter> formatter = MakeReportFormatter(spec.format, spec.header);
  if (!formatter) {
    // The checker allows only the four formats; this guards direct callers.
    *error = "unknown report format '" + spec.format + "' (tsv, csv, json or markdown)";
    return nullptr;
  }
  if (spec.target == "-") return std::make_unique<ReportStage>(STDOUT_FILENO, spec.target, std::move(formatter));
  // The temporary name is the supervisor's (it removed any stale file of
  // that name), or the target itself when that is a device or a FIFO
  // written in place; mode 0666 less the umask, as any tool that creates a
  // file.
  int fd = open(spec.temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    *error = "cannot write '" + spec.target + "': cannot create '" + spec.temp_path + "': " + std::strerror(errno);
    return nullptr;
  }
  return std::make_unique<ReportStage>(fd, std::move(spec.target), std::move(formatter));
}

}  // namespace flow
