// write(path[, sep]): the sink. Every record is followed by `sep`, as
// `print` ends every line. "-" is stdout; a file is written to the
// temporary path the supervisor chose, which it renames onto `path` only
// when the whole run succeeds (and removes otherwise), so a failed run
// leaves the target untouched.
//
// Records are gathered in a 1 MiB buffer and written with big write(2)
// calls; a record larger than the buffer is written straight from where it
// is. Finish flushes and, for a file, fsyncs, so a rename after it never
// exposes a half-written file after a crash.
//
// Recovery: Sync (after each lease) flushes the buffer and gives the length
// written; a replacement worker opens the same temporary file and Resume
// cuts it back to the last length the worker's journal recorded, so lines
// the dead worker wrote after that point are written once, by the new one.
// stdout cannot be cut back: a replacement carries on after what is there,
// which is exact unless the worker died between a write and its record.
//
// Errors are Fatal and name the target. Writing to a closed stdout reads
// "stdout closed" (the runner ends quietly then, as `cmd | head` does); it
// relies on the worker ignoring SIGPIPE. A file over RLIMIT_FSIZE fails with
// EFBIG ("File too large") because the worker ignores SIGXFSZ too.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "stdlib/sink_output.h"
#include "stdlib/stages.h"

namespace flow {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

class WriteStage : public Stage {
 public:
  WriteStage(int fd, std::string target, std::string sep)
      : output_(fd, std::move(target)), sep_(std::move(sep)), buffer_(new char[kBufferBytes]) {}

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    (void)out;
    if (output_.failed()) return output_.Fatal();
    if (!Append(record.bytes) || !Append(sep_)) return output_.Fatal();
    return StageStatus::Ok();
  }

  bool Sync(uint64_t* token) override {
    if (output_.failed() || !Flush()) return false;
    *token = output_.written();
    return true;
  }

  bool Resume(uint64_t token, int64_t nr) override {
    (void)nr;
    return output_.Resume(token);
  }

  StageStatus Finish(Emitter& out) override {
    (void)out;
    if (output_.failed() || !Flush()) return output_.Fatal();
    return output_.Close();
  }

 private:
  bool Append(std::string_view bytes) {
    if (used_ + bytes.size() <= kBufferBytes) {
      std::memcpy(buffer_.get() + used_, bytes.data(), bytes.size());
      used_ += bytes.size();
      return true;
    }
    if (!Flush()) return false;
    if (bytes.size() >= kBufferBytes) return output_.Write(bytes.data(), bytes.size());
    std::memcpy(buffer_.get(), bytes.data(), bytes.size());
    used_ = bytes.size();
    return true;
  }

  bool Flush() {
    if (used_ == 0) return true;
    bool ok = output_.Write(buffer_.get(), used_);
    used_ = 0;
    return ok;
  }

  SinkOutput output_;  // its written() is the token of Sync
  std::string sep_;
  std::unique_ptr<char[]> buffer_;
  size_t used_ = 0;
};

}  // namespace

std::unique_ptr<Stage> MakeWriteStage(const std::string& target, const std::string& temp_path, std::string sep,
                                      std::string* error) {
  if (target == "-") return std::make_unique<WriteStage>(STDOUT_FILENO, target, std::move(sep));
  // The temporary name is the supervisor's (it removed any stale file of
  // that name before the run); a replacement worker opens the file its
  // predecessor made and Resume cuts it back. Mode 0666 less the umask, as
  // any tool that creates a file.
  int fd = open(temp_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    *error = "cannot write '" + target + "': cannot create '" + temp_path + "': " + std::strerror(errno);
    return nullptr;
  }
  return std::make_unique<WriteStage>(fd, target, std::move(sep));
}

}  // namespace flow
