#include "stdlib/sort_runs.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace flow {
namespace {

// A run's file is a sequence of records, each a header and its bytes.
struct RunHeader {
  uint64_t length;
  int64_t nr;
};

constexpr size_t kWriteBufferBytes = 1 << 20;
constexpr size_t kMinReadBuffer = 64 << 10;
constexpr size_t kMaxReadBuffer = 1 << 20;

std::string ErrnoMessage(const std::string& what, const std::string& dir, int error) {
  return "sort: cannot " + what + " a temporary file in '" + dir + "': " + std::strerror(error);
}

// A file with no name in `dir`, open for reading and writing.
int CreateUnnamedFile(const std::string& dir, std::string* error) {
  int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  // The file system (or kernel) may lack O_TMPFILE: make a named file and
  // remove the name at once, which leaves the same unnamed file.
  std::string name = dir + "/flowrun-sort-XXXXXX";
  fd = mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) {
    *error = ErrnoMessage("create", dir, errno);
    return -1;
  }
  unlink(name.c_str());
  return fd;
}

class RunWriter {
 public:
  RunWriter(int fd, const std::string& dir) : fd_(fd), dir_(dir), buffer_(new char[kWriteBufferBytes]) {}

  bool Add(std::string_view record, int64_t nr) {
    RunHeader header{record.size(), nr};
    return Append(&header, sizeof header) && Append(record.data(), record.size());
  }

  bool Finish() { return Flush(); }
  uint64_t bytes() const { return bytes_; }
  const std::string& error() const { return error_; }

 private:
  bool Append(const void* data, size_t size) {
    bytes_ += size;
    if (used_ + size <= kWriteBufferBytes) {
      std::memcpy(buffer_.get() + used_, data, size);
      used_ += size;
      return true;
    }
    if (!Flush()) return false;
    if (size >= kWriteBufferBytes) return WriteAll(static_cast<const char*>(data), size);
    std::memcpy(buffer_.get(), data, size);
    used_ = size;
    return true;
  }

  bool Flush() {
    bool ok = WriteAll(buffer_.get(), used_);
    used_ = 0;
    return ok;
  }

  bool WriteAll(const char* data, size_t size) {
    while (size > 0) {
      ssize_t n = write(fd_, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error_ = ErrnoMessage("write", dir_, errno);
        return false;
      }
      data += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  }

  int fd_;
  const std::string& dir_;
  std::unique_ptr<char[]> buffer_;
  size_t used_ = 0;
  uint64_t bytes_ = 0;
  std::string error_;
};

// Reads a run back from its start with pread, so the file's offset (the
// writer's) does not matter. The current record is copied out of the read
// buffer, so it stays put while the buffer refills.
class RunReader {
 public:
  RunReader(int fd, uint64_t size, size_t buffer_bytes, const std::string& dir)
      : fd_(fd), size_(size), capacity_(buffer_bytes), buffer_(new char[buffer_bytes]), dir_(dir) {}

  // The next record into record()/nr(); false at the end or on an error.
  bool Next() {
    if (pos_ == end_ && offset_ == size_) return false;
    RunHeader header{};
    if (!ReadExactly(reinterpret_cast<char*>(&header), sizeof header)) return false;
    if (header.length > (size_ - offset_) + (end_ - pos_)) return Truncated();
    record_.resize(header.length);
    if (!ReadExactly(record_.data(), header.length)) return false;
    nr_ = header.nr;
    return true;
  }

  std::string_view record() const { return record_; }
  int64_t nr() const { return nr_; }
  const std::string& error() const { return error_; }

 private:
  bool ReadExactly(char* out, size_t size) {
    while (size > 0) {
      if (pos_ == end_) {
        // A large record goes straight to its place.
        if (size >= capacity_) return ReadFile(out, size);
        size_t refill = static_cast<size_t>(std::min<uint64_t>(capacity_, size_ - offset_));
        if (!ReadFile(buffer_.get(), refill)) return false;
        pos_ = 0;
        end_ = refill;
      }
      size_t n = std::min(size, end_ - pos_);
      std::memcpy(out, buffer_.get() + pos_, n);
      pos_ += n;
      out += n;
      size -= n;
    }
    return true;
  }

  // Reads the next `size` bytes of the file into `out`.
  bool ReadFile(char* out, size_t size) {
    if (size == 0 || size > size_ - offset_) return Truncated();
    size_t done = 0;
    while (done < size) {
      ssize_t n = pread(fd_, out + done, size - done, static_cast<off_t>(offset_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error_ = ErrnoMessage("read", dir_, errno);
        return false;
      }
      if (n == 0) return Truncated();
      done += static_cast<size_t>(n);
      offset_ += static_cast<uint64_t>(n);
    }
    return true;
  }

  bool Truncated() {
    error_ = "sort: a temporary file in '" + dir_ + "' is shorter than was written";
    return false;
  }

  int fd_;
  uint64_t size_;
  uint64_t offset_ = 0;  // of the next byte to read from the file
  size_t capacity_;
  std::unique_ptr<char[]> buffer_;
  size_t pos_ = 0;
  size_t end_ = 0;
  std::string record_;
  int64_t nr_ = 0;
  std::string error_;
  const std::string& dir_;
};

// One input of a merge: a run on disk, or the sorted records in memory.
struct Cursor {
  std::unique_ptr<RunReader> reader;
  const std::vector<SortItem>* items = nullptr;
  size_t next_item = 0;
  std::string_view record;
  int64_t nr = 0;
  SortKey key;

  // Moves to the next record; false at the end (or on a read error).
  bool Advance(const SortOrder& order) {
    if (items != nullptr) {
      if (next_item == items->size()) return false;
      const SortItem& item = (*items)[next_item++];
      record = item.record;
      nr = item.nr;
      key = item.key;
      return true;
    }
    if (!reader->Next()) return false;
    record = reader->record();
    nr = reader->nr();
    key = order.KeyOf(record);
    return true;
  }
};

// The k-way merge: `sink(record, nr)` gets every record of `cursors` in
// order, ties going to the earlier cursor (the older records); it returns
// false to stop. False with `*error` on a read error.
template <class Sink>
bool MergeCursors(std::vector<Cursor>& cursors, const SortOrder& order, Sink&& sink, std::string* error) {
  // A heap of cursor indices whose top is the record that comes first.
  auto after = [&](size_t a, size_t b) {
    int c = order.Compare(cursors[a].key, cursors[b].key);
    return c != 0 ? c > 0 : a > b;
  };
  std::vector<size_t> heap;
  auto check = [&](const Cursor& cursor) {
    if (cursor.reader && !cursor.reader->error().empty()) {
      *error = cursor.reader->error();
      return false;
    }
    return true;
  };
  for (size_t i = 0; i < cursors.size(); ++i) {
    if (cursors[i].Advance(order))
      heap.push_back(i);
    else if (!check(cursors[i]))
      return false;
  }
  std::make_heap(heap.begin(), heap.end(), after);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), after);
    Cursor& cursor = cursors[heap.back()];
    if (!sink(cursor.record, cursor.nr)) return true;
    if (cursor.Advance(order)) {
      std::push_heap(heap.begin(), heap.end(), after);
    } else {
      if (!check(cursor)) return false;
      heap.pop_back();
    }
  }
  return true;
}

}  // namespace

SpilledRuns::SpilledRuns(std::string temp_dir, int64_t memory_bytes)
    : temp_dir_(std::move(temp_dir)), memory_bytes_(memory_bytes) {}

SpilledRuns::~SpilledRuns() {
  for (const Run& run : runs_) close(run.fd);
}

bool SpilledRuns::Spill(const std::vector<SortItem>& items, std::string* error) {
  int fd = CreateUnnamedFile(temp_dir_, error);
  if (fd < 0) return false;
  RunWriter writer(fd, temp_dir_);
  for (const SortItem& item : items) {
    if (!writer.Add(item.record, item.nr)) break;
  }
  if (!writer.error().empty() || !writer.Finish()) {
    *error = writer.error();
    close(fd);
    return false;
  }
  runs_.push_back({fd, writer.bytes()});
  return true;
}

size_t SpilledRuns::ReadBufferBytes(size_t readers) const {
  uint64_t share = static_cast<uint64_t>(std::max<int64_t>(memory_bytes_, 0)) / (readers + 1);
  return static_cast<size_t>(std::clamp<uint64_t>(share, kMinReadBuffer, kMaxReadBuffer));
}

bool SpilledRuns::MergeGroup(const SortOrder& order, size_t first, size_t count, Run* merged, std::string* error) {
  int fd = CreateUnnamedFile(temp_dir_, error);
  if (fd < 0) return false;
  std::vector<Cursor> cursors(count);
  for (size_t i = 0; i < count; ++i) {
    const Run& run = runs_[first + i];
    cursors[i].reader = std::make_unique<RunReader>(run.fd, run.bytes, ReadBufferBytes(count), temp_dir_);
  }
  RunWriter writer(fd, temp_dir_);
  bool ok = MergeCursors(cursors, order, [&](std::string_view record, int64_t nr) { return writer.Add(record, nr); },
                         error);
  if (ok && (!writer.error().empty() || !writer.Finish())) {
    *error = writer.error();
    ok = false;
  }
  if (!ok) {
    close(fd);
    return false;
  }
  *merged = {fd, writer.bytes()};
  return true;
}

StageStatus SpilledRuns::Merge(const SortOrder& order, const std::vector<SortItem>& last, Emitter& out) {
  std::string error;
  // Merge consecutive groups until one merge can take every run (and the
  // records in memory): consecutive, so older records stay in older runs.
  while (runs_.size() + 1 > kMaxMergeWidth) {
    std::vector<Run> merged;
    for (size_t first = 0; first < runs_.size(); first += kMaxMergeWidth) {
      size_t count = std::min(kMaxMergeWidth, runs_.size() - first);
      Run run;
      if (!MergeGroup(order, first, count, &run, &error)) {
        for (const Run& done : merged) close(done.fd);
        return StageStatus::Fatal(error);
      }
      merged.push_back(run);
    }
    for (const Run& old : runs_) close(old.fd);
    runs_ = std::move(merged);
  }
  std::vector<Cursor> cursors(runs_.size() + 1);
  for (size_t i = 0; i < runs_.size(); ++i)
    cursors[i].reader = std::make_unique<RunReader>(runs_[i].fd, runs_[i].bytes, ReadBufferBytes(runs_.size()), temp_dir_);
  cursors.back().items = &last;
  if (!MergeCursors(cursors, order, [&](std::string_view record, int64_t nr) { return out.Emit(record, nr); },
                    &error))
    return StageStatus::Fatal(error);
  return StageStatus::Ok();
}

}  // namespace flow
