#include "runtime/progress_display.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace flow {
namespace {

constexpr long kRedrawNanos = 250 * 1000 * 1000;

std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

uint64_t Get(const std::atomic<uint64_t>& counter) { return counter.load(std::memory_order_relaxed); }

void WriteAll(int fd, const std::string& text) {
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a terminal that went away: nothing to draw on
    data += n;
    left -= static_cast<size_t>(n);
  }
}

size_t TerminalWidth(int fd) {
  winsize size{};
  if (ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace

ProgressDisplay::ProgressDisplay(const StageGraph& graph, const RunStats& stats,
                                 const std::vector<const ShmQueue*>& queues, int fd)
    : graph_(graph),
      stats_(stats),
      queues_(queues),
      first_slot_(StatsSlots(graph)),
      fd_(fd),
      last_records_(graph.nodes.size(), 0),
      last_busy_ns_(graph.nodes.size(), 0) {}

ProgressDisplay::~ProgressDisplay() {
  if (timer_fd_ >= 0) close(timer_fd_);
  if (log_fd_ >= 0) close(log_fd_);
}

bool ProgressDisplay::Start(std::string* error) {
  log_fd_ = memfd_create("flowrun-log", MFD_CLOEXEC);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  itimerspec every{{0, kRedrawNanos}, {0, kRedrawNanos}};
  if (log_fd_ < 0 || timer_fd_ < 0 || timerfd_settime(timer_fd_, 0, &every, nullptr) != 0) {
    *error = std::string("cannot show progress: ") + std::strerror(errno);
    return false;
  }
  last_tick_ns_ = MonotonicNanos();
  return true;
}

std::vector<std::string> ProgressDisplay::Lines(double seconds) {
  std::vector<std::string> lines;
  size_t label_width = 0;
  for (const StageNode& node : graph_.nodes) label_width = std::max(label_width, node.label.size());
  seconds = std::max(seconds, 1e-3);
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    const StageNode& node = graph_.nodes[n];
    uint64_t in = 0, out = 0, busy = 0;
    const auto count = [&](const InstanceCounters& c) {
      in += Get(c.records_in);
      out += Get(c.records_out);
      busy += Get(c.busy_ns);
    };
    for (size_t slot = first_slot_[n]; slot < first_slot_[n + 1]; ++slot) {
      for (const RunStats* stats : {&stats_, remote_}) {
        if (stats != nullptr) count(stats->at(slot));
      }
    }
    int replicas = node.replicas;
    for (auto it = added_.lower_bound({n, 0}); it != added_.end() && it->first.first == n; ++it) {
      count(it->second);
      ++replicas;
    }
    // A source's rate is what it makes; every other stage's, what it takes.
    const uint64_t records = node.inputs.empty() ? out : in;
    const double rate = static_cast<double>(records - std::min(records, last_records_[n])) / seconds;
    const double busy_share = static_cast<double>(busy - std::min(busy, last_busy_ns_[n])) /
                              (seconds * 1e9 * replicas);
    last_records_[n] = records;
    last_busy_ns_[n] = busy;
    double fill = -1;
    for (int e : node.inputs) {
      const ShmQueue* q = queues_[static_cast<size_t>(e)];
      if (q == nullptr) continue;  // an edge on a broker: its fill is not known here
      ShmQueueStats s = q->Stats();
      fill = std::max({fill, static_cast<double>(s.records) / static_cast<double>(q->capacity_records()),
                       static_cast<double>(s.bytes) / static_cast<double>(q->capacity_bytes())});
    }
    char queue[16] = "    -";
    if (fill >= 0) std::snprintf(queue, sizeof queue, "%4.0f%%", std::min(fill, 1.0) * 100);
    char text[256];
    std::snprintf(text, sizeof text, "%-*s x%-3d %12s rec/s   in %13s   out %13s   queue %s   busy %4.0f%%",
                  static_cast<int>(label_width), node.label.c_str(), replicas,
                  Grouped(static_cast<uint64_t>(rate)).c_str(), Grouped(in).c_str(),
                  Grouped(out).c_str(), queue, std::min(busy_share, 1.0) * 100);
    lines.push_back(text);
  }
  return lines;
}

void ProgressDisplay::StoreAdded(size_t node, size_t instance, const std::string& counters) {
  StoreCountersLine(counters, &added_[{node, instance}]);
}

void ProgressDisplay::OnTick() {
  uint64_t expirations = 0;
  if (read(timer_fd_, &expirations, sizeof expirations) < 0 && errno != EAGAIN) return;
  const uint64_t now = MonotonicNanos();
  std::vector<std::string> lines = Lines(static_cast<double>(now - last_tick_ns_) / 1e9);
  last_tick_ns_ = now;
  Finish();
  const size_t width = TerminalWidth(fd_);
  std::string text;
  for (std::string& line : lines) {
    // A line wider than the terminal would wrap and the count of lines to
    // go back up over would be wrong.
    if (line.size() >= width) line.resize(width - 1);
    text += line + "\n";
  }
  drawn_ = lines.size();
  WriteAll(fd_, text);
}

void ProgressDisplay::Finish() {
  std::string text;
  // Back to the first line drawn, and erase from there to the end.
  if (drawn_ > 0) text = "\x1b[" + std::to_string(drawn_) + "F\x1b[J";
  drawn_ = 0;
  if (log_fd_ >= 0) {
    char buffer[65536];
    for (;;) {
      ssize_t n = pread(log_fd_, buffer, sizeof buffer, static_cast<off_t>(log_shown_));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      text.append(buffer, static_cast<size_t>(n));
      log_shown_ += static_cast<uint64_t>(n);
    }
    // Give back the memory of what has been shown (whole pages only).
    const uint64_t shown_pages = log_shown_ / 4096 * 4096;
    if (shown_pages > 0) {
      fallocate(log_fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(shown_pages));
    }
  }
  WriteAll(fd_, text);
}

}  // namespace flow
