#include "runtime/worker.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <algorithm>
#include <cstdio>

#include "runtime/worker_input.h"
#include "runtime/worker_output.h"

namespace flow {
namespace {

constexpr size_t kReportedRecordBytes = 200;

void WriteAll(int fd, const std::string& text) {
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nobody to tell: the exit code still says it
    data += n;
    left -= static_cast<size_t>(n);
  }
}

// A message on one line: control bytes (tab, newline, ...) escaped, the
// rest (UTF-8 included) as it is.
std::string OneLine(std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

// True when stdout is a pipe or socket whose reader has gone (`| head -1`).
bool StdoutClosed() {
  pollfd p = {STDOUT_FILENO, POLLOUT, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

// Everything that can go wrong in the loop, reported in one line each.
class Failures {
 public:
  explicit Failures(const WorkerSetup& setup) : setup_(setup) {}

  // The stage cannot go on: "etl.flow:9:5: error: 'map#2': message".
  int Fatal(const std::string& message) {
    WriteAll(setup_.error_fd, setup_.location + ": error: '" + setup_.name + "': " + OneLine(message) + "\n");
    return 1;
  }

  // A record failed: applies [on_error]. False when the worker must exit 1.
  bool OnRecordError(const std::string& message, const RecordView& record) {
    InstanceCounters& c = *setup_.counters;
    switch (setup_.on_error) {
      case OnError::kSkip:
        InstanceCounters::Add(c.skipped, 1);
        return true;
      case OnError::kDeadLetter:
        return DeadLetter(message, record);
      case OnError::kFail:
        break;
    }
    WriteAll(setup_.error_fd, setup_.location + ": error: '" + setup_.name + "' failed on record " +
                                  std::to_string(record.nr) + ": " + OneLine(message) + "; the record: \"" +
                                  EscapeRecord(record.bytes, kReportedRecordBytes) + "\"\n");
    return false;
  }

 private:
  // "reason\trecord\n", both escaped so that the line has exactly one tab
  // and one newline, in one write() on an O_APPEND descriptor: lines from
  // several workers never mix.
  bool DeadLetter(const std::string& message, const RecordView& record) {
    std::string line = OneLine(message) + "\t" +
                       EscapeRecord(record.bytes, std::string::npos) + "\n";
    ssize_t n;
    do {
      n = write(setup_.dead_letter_fd, line.data(), line.size());
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(line.size())) {
      std::string why = n < 0 ? strerror(errno) : "short write";
      Fatal("cannot append to the dead-letter file: " + why);
      return false;
    }
    InstanceCounters::Add(setup_.counters->dead_letters, 1);
    return true;
  }

  const WorkerSetup& setup_;
};

// A sink writing to stdout that failed because stdout is gone ends like a
// shell pipeline's writer: quietly, and takes its upstream down with it.
bool QuietStdoutEnd(const WorkerSetup& setup, WorkerInput* input) {
  if (!setup.writes_stdout || !StdoutClosed()) return false;
  if (input != nullptr) input->CancelAll();
  return true;
}

int RunSource(Stage& stage, const WorkerSetup& setup, WorkerOutput& out, Failures& failures) {
  const uint64_t start = MonotonicNanos();
  StageStatus status = stage.Produce(out);
  if (status.ok() && out.error().empty()) status = stage.Finish(out);
  if (!status.ok()) return failures.Fatal(status.message);
  if (!out.error().empty()) return failures.Fatal(out.error());
  out.Flush();
  out.EndOfStream();
  const uint64_t elapsed = MonotonicNanos() - start;
  InstanceCounters::Add(setup.counters->busy_ns, elapsed - std::min(elapsed, out.push_ns()));
  return 0;
}

int RunConsumer(Stage& stage, const WorkerSetup& setup, WorkerOutput& out, Failures& failures) {
  WorkerInput input(setup);
  InstanceCounters& c = *setup.counters;
  uint64_t waiting_since = MonotonicNanos();
  for (;;) {
    if (stage.Satisfied() || !out.wants_more()) {
      if (!out.wants_more()) out.AbandonOrder();
      input.CancelAll();
      break;
    }
    Lease lease;
    uint64_t position = 0;
    QueueStatus status = input.Next(&lease, &position);
    const uint64_t taken = MonotonicNanos();
    InstanceCounters::Add(c.wait_input_ns, taken - waiting_since);
    if (status == QueueStatus::kEnd || status == QueueStatus::kCancelled) break;
    if (status == QueueStatus::kClosed) return failures.Fatal("the run is shutting down");

    out.BeginLease(position);
    const uint64_t pushed_before = out.push_ns();
    uint64_t flushes = out.flushes();
    uint64_t bytes = 0;
    size_t done = 0;
    while (done < lease.size()) {
      const RecordView record = lease[done];
      bytes += record.bytes.size();
      StageStatus result = stage.OnRecord(record, out);
      ++done;
      if (!result.ok()) {
        if (result.kind == StageStatus::Kind::kFatal) {
          if (QuietStdoutEnd(setup, &input)) return 0;
          return failures.Fatal(result.message);
        }
        if (!failures.OnRecordError(result.message, record)) return 1;
      }
      if (!out.error().empty()) return failures.Fatal(out.error());
      if (stage.Satisfied() || !out.wants_more()) break;
      if (out.flushes() != flushes) {
        // A full batch went out during this record: the ones before are done.
        flushes = out.flushes();
        input.Progress(lease, done - 1);
      }
    }
    InstanceCounters::Add(c.records_in, done);
    InstanceCounters::Add(c.bytes_in, bytes);
    // Push, then acknowledge: a lease's outputs are out before it leaves.
    out.Flush();
    input.Ack(&lease);
    out.EndLease();
    waiting_since = MonotonicNanos();
    const uint64_t elapsed = waiting_since - taken;
    const uint64_t busy = elapsed - std::min(elapsed, out.push_ns() - pushed_before);
    InstanceCounters::Add(c.busy_ns, busy);
    input.ReportCost(done, busy);
  }
  const uint64_t finishing = MonotonicNanos();
  const uint64_t pushed_before = out.push_ns();
  StageStatus result = stage.Finish(out);
  if (!result.ok()) {
    if (QuietStdoutEnd(setup, nullptr)) return 0;
    return failures.Fatal(result.message);
  }
  if (!out.error().empty()) return failures.Fatal(out.error());
  out.Flush();
  out.EndOfStream();
  const uint64_t elapsed = MonotonicNanos() - finishing;
  InstanceCounters::Add(c.busy_ns, elapsed - std::min(elapsed, out.push_ns() - pushed_before));
  return 0;
}

}  // namespace

int RunWorker(Stage& stage, const WorkerSetup& setup) {
  WorkerOutput out(setup);
  Failures failures(setup);
  if (setup.inputs.empty()) return RunSource(stage, setup, out, failures);
  return RunConsumer(stage, setup, out, failures);
}

std::string EscapeRecord(std::string_view bytes, size_t limit) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  const size_t n = std::min(bytes.size(), limit);
  out.reserve(n + 8);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        }
    }
  }
  if (n < bytes.size()) out += "...";
  return out;
}

}  // namespace flow
