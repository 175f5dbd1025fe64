// read(path[, sep]): the records of a file, of stdin ("-"), or of every
// match of a glob in byte order, split on `sep` as stdlib/record_split.h
// says. NR counts from 1 across all the files of a glob.
//
// The hot path of `read(f) | write("-")`: the file is read with read(2) in
// blocks of 1-2 MiB into one buffer that is reused, records are found with
// memchr (memmem for a longer separator) and emitted as views into that
// buffer, so a record costs no allocation and no copy here.
//
// Each record's resume token is where the next one starts: the index of
// its file in the glob's matches (top 16 bits) and the byte offset in it.
// A replacement worker seeks there (Resume) instead of reading again.
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "stdlib/record_split.h"
#include "stdlib/stages.h"

namespace flow {
namespace {

constexpr size_t kInitialBuffer = 2 << 20;
constexpr int kFileShift = 48;
// Never ask read(2) for less than this: a big record grows the buffer
// rather than shrinking the reads.
constexpr size_t kMinRead = 1 << 20;

// How long a wait on a pipe may go before the stop flag is looked at again.
constexpr int kStopPollMs = 100;

bool IsGlobPattern(const std::string& path) { return path.find_first_of("*?[") != std::string::npos; }

// The matches of `pattern` in byte order (glob's own order follows the
// locale's collation).
std::vector<std::string> GlobMatches(const std::string& pattern) {
  glob_t matches{};
  std::vector<std::string> paths;
  if (glob(pattern.c_str(), GLOB_NOSORT, nullptr, &matches) == 0)
    paths.assign(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
  globfree(&matches);
  std::sort(paths.begin(), paths.end());
  return paths;
}

class ReadStage : public Stage {
 public:
  ReadStage(std::string path, std::string sep, const std::atomic<bool>* stop_requested)
      : path_(std::move(path)), sep_(std::move(sep)), stop_requested_(stop_requested) {}

  StageStatus Produce(Emitter& out) override {
    std::vector<std::string> files;
    if (path_ != "-" && IsGlobPattern(path_)) {
      files = GlobMatches(path_);
      if (files.empty()) return StageStatus::Fatal("no file matches '" + path_ + "'");
    } else {
      files.push_back(path_);
    }
    for (file_index_ = 0; file_index_ < files.size(); ++file_index_) {
      if (file_index_ < resume_file_) continue;
      StageStatus status = ReadOne(files[file_index_], out);
      if (!status.ok() || stopped_) return status;
    }
    return StageStatus::Ok();
  }

  bool Resume(uint64_t token, int64_t nr) override {
    if (path_ == "-") return token == 0;
    resume_file_ = token >> kFileShift;
    resume_offset_ = token & ((uint64_t{1} << kFileShift) - 1);
    nr_ = nr;
    return true;
  }

 private:
  StageStatus ReadOne(const std::string& file, Emitter& out) {
    int fd = STDIN_FILENO;
    if (file != "-") {
      fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return StageStatus::Fatal("cannot read '" + file + "': " + std::strerror(errno));
      posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    uint64_t start = 0;
    if (file_index_ == resume_file_ && resume_offset_ > 0) {
      start = resume_offset_;
      if (lseek(fd, static_cast<off_t>(start), SEEK_SET) < 0) {
        const int error = errno;
        if (fd != STDIN_FILENO) close(fd);
        return StageStatus::Fatal("cannot resume '" + file + "' at byte " + std::to_string(start) + ": " +
                                  std::strerror(error));
      }
    }
    StageStatus status = Split(fd, file == "-" ? "stdin" : file, start, out);
    if (fd != STDIN_FILENO) close(fd);
    return status;
  }

  // Reads `fd` to its end, emitting every record. Invariant between reads:
  // buffer_[0, end) holds the start of a record not yet complete, and no
  // separator starts before `scan` in it.
  StageStatus Split(int fd, const std::string& name, uint64_t base, Emitter& out) {
    // `base`: the file offset of buffer_[0].
    size_t end = 0;
    size_t scan = 0;
    struct stat info {};
    bool may_block = fstat(fd, &info) != 0 || !S_ISREG(info.st_mode);
    for (;;) {
      if (Stopping()) return StageStatus::Ok();
      if (capacity_ - end < kMinRead) Grow(end);
      // A pipe or a terminal may have nothing to read for a long time: wait
      // for it in slices, so a stop request is seen even if no signal
      // interrupts the wait. (A regular file never blocks.)
      if (may_block && !Readable(fd, 0)) {
        // Nothing to read now: what was read so far goes on before the wait.
        out.Flush();
        if (!Readable(fd, kStopPollMs)) continue;
      }
      ssize_t n = read(fd, buffer_.get() + end, capacity_ - end);
      if (n < 0) {
        // Interrupted, or a non-blocking stdin with nothing yet: back to
        // the top, where a stop request is seen and the wait starts again.
        if (errno == EINTR || errno == EAGAIN) continue;
        return StageStatus::Fatal("cannot read '" + name + "': " + std::strerror(errno));
      }
      if (n == 0) {
        // A last record without a separator is still a record.
        if (end > 0 && !Emit(out, std::string_view(buffer_.get(), end), base + end)) stopped_ = true;
        return StageStatus::Ok();
      }
      end += static_cast<size_t>(n);
      std::string_view data(buffer_.get(), end);
      size_t begin = 0;
      for (;;) {
        size_t at = FindSeparator(data, scan, sep_);
        if (at == std::string_view::npos) break;
        if (!Emit(out, data.substr(begin, at - begin), base + at + sep_.size())) {
          stopped_ = true;
          return StageStatus::Ok();
        }
        begin = scan = at + sep_.size();
      }
      // A separator may straddle the end of what has been read so far.
      scan = std::max(begin, end >= sep_.size() ? end - (sep_.size() - 1) : 0);
      if (begin > 0) {
        std::memmove(buffer_.get(), buffer_.get() + begin, end - begin);
        base += begin;
        end -= begin;
        scan -= begin;
      }
    }
  }

  // Waits up to `timeout_ms` for `fd` to have data (or end of file).
  static bool Readable(int fd, int timeout_ms) {
    pollfd ready = {fd, POLLIN, 0};
    return poll(&ready, 1, timeout_ms) > 0;
  }

  bool Emit(Emitter& out, std::string_view record, uint64_t next_offset) {
    return out.EmitAt(record, ++nr_, (static_cast<uint64_t>(file_index_) << kFileShift) | next_offset);
  }

  bool Stopping() {
    if (stop_requested_ != nullptr && stop_requested_->load(std::memory_order_relaxed)) stopped_ = true;
    return stopped_;
  }

  // Makes room for at least kMinRead more bytes after the `used` ones.
  void Grow(size_t used) {
    size_t capacity = std::max(kInitialBuffer, capacity_);
    while (capacity - used < kMinRead) capacity *= 2;
    if (capacity == capacity_) return;
    std::unique_ptr<char[]> bigger(new char[capacity]);
    if (used > 0) std::memcpy(bigger.get(), buffer_.get(), used);
    buffer_ = std::move(bigger);
    capacity_ = capacity;
  }

  std::string path_;
  std::string sep_;
  const std::atomic<bool>* stop_requested_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  int64_t nr_ = 0;
  bool stopped_ = false;  // Emit returned false or a stop was requested
  size_t file_index_ = 0;     // in the glob's matches
  size_t resume_file_ = 0;    // after a restart: where to start again
  uint64_t resume_offset_ = 0;
};

}  // namespace

std::unique_ptr<Stage> MakeReadStage(std::string path, std::string sep, const std::atomic<bool>* stop_requested) {
  return std::make_unique<ReadStage>(std::move(path), std::move(sep), stop_requested);
}

}  // namespace flow
