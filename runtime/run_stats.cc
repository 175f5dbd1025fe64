#include "runtime/run_stats.h"

#include <sys/mman.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace flow {

std::unique_ptr<RunStats> RunStats::Create(size_t instances, std::string* error) {
  const size_t bytes = std::max<size_t>(1, instances) * sizeof(Slot);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    *error = std::string("cannot map the run's statistics: ") + std::strerror(errno);
    return nullptr;
  }
  auto* slots = static_cast<Slot*>(p);
  for (size_t i = 0; i < instances; ++i) new (&slots[i]) Slot();
  return std::unique_ptr<RunStats>(new RunStats(slots, bytes, instances));
}

RunStats::RunStats(Slot* slots, size_t bytes, size_t instances)
    : slots_(slots), bytes_(bytes), instances_(instances) {}

RunStats::~RunStats() { munmap(slots_, bytes_); }

std::vector<size_t> StatsSlots(const StageGraph& graph) {
  std::vector<size_t> first;
  size_t next = 0;
  for (const StageNode& node : graph.nodes) {
    first.push_back(next);
    next += static_cast<size_t>(node.replicas);
  }
  first.push_back(next);
  return first;
}

namespace {

// Labels and stage names are identifiers; quoted anyway, in case.
std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string Seconds(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(ns) / 1e9);
  return buf;
}

uint64_t Get(const std::atomic<uint64_t>& counter) { return counter.load(std::memory_order_relaxed); }

void AppendInstance(std::string& out, int instance, const InstanceCounters& c) {
  out += "        {\"instance\": " + std::to_string(instance);
  out += ", \"records_in\": " + std::to_string(Get(c.records_in));
  out += ", \"bytes_in\": " + std::to_string(Get(c.bytes_in));
  out += ", \"records_out\": " + std::to_string(Get(c.records_out));
  out += ", \"bytes_out\": " + std::to_string(Get(c.bytes_out));
  out += ", \"busy_seconds\": " + Seconds(Get(c.busy_ns));
  out += ", \"blocked_on_input_seconds\": " + Seconds(Get(c.wait_input_ns));
  out += ", \"blocked_on_output_seconds\": " + Seconds(Get(c.wait_output_ns));
  out += ", \"skipped\": " + std::to_string(Get(c.skipped));
  out += ", \"dead_letters\": " + std::to_string(Get(c.dead_letters));
  out += "}";
}

}  // namespace

namespace {
// The counters in CountersLine's order.
std::array<std::atomic<uint64_t>*, 9> CounterFields(InstanceCounters& c) {
  return {&c.records_in, &c.bytes_in, &c.records_out, &c.bytes_out, &c.busy_ns,
          &c.wait_input_ns, &c.wait_output_ns, &c.skipped, &c.dead_letters};
}
}  // namespace

std::string CountersLine(const InstanceCounters& counters) {
  std::string line;
  for (auto* f : CounterFields(const_cast<InstanceCounters&>(counters)))
    line += (line.empty() ? "" : " ") + std::to_string(f->load(std::memory_order_relaxed));
  return line;
}

namespace {
bool ParseCountersLine(const std::string& line, std::array<uint64_t, 9>* values) {
  const char* at = line.c_str();
  for (uint64_t& v : *values) {
    char* end = nullptr;
    v = std::strtoull(at, &end, 10);
    if (end == at) return false;
    at = end;
  }
  return true;
}
}  // namespace

bool AddCountersLine(const std::string& line, InstanceCounters* counters) {
  const auto fields = CounterFields(*counters);
  std::array<uint64_t, 9> values{};
  if (!ParseCountersLine(line, &values)) return false;
  for (size_t i = 0; i < fields.size(); ++i) InstanceCounters::Add(*fields[i], values[i]);
  return true;
}

bool StoreCountersLine(const std::string& line, InstanceCounters* counters) {
  const auto fields = CounterFields(*counters);
  std::array<uint64_t, 9> values{};
  if (!ParseCountersLine(line, &values)) return false;
  for (size_t i = 0; i < fields.size(); ++i) fields[i]->store(values[i], std::memory_order_relaxed);
  return true;
}

std::string StatsJson(const StageGraph& graph, const RunStats& stats, uint64_t elapsed_ns) {
  std::vector<size_t> first = StatsSlots(graph);
  std::string out = "{\n  \"elapsed_seconds\": " + Seconds(elapsed_ns) + ",\n  \"stages\": [\n";
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const StageNode& node = graph.nodes[n];
    out += "    {\"label\": " + JsonString(node.label) + ", \"stage\": " + JsonString(node.name) +
           ", \"replicas\": " + std::to_string(node.replicas) + ", \"instances\": [\n";
    for (int i = 0; i < node.replicas; ++i) {
      size_t slot = first[n] + static_cast<size_t>(i);
      if (slot < stats.size()) AppendInstance(out, i + 1, stats.at(slot));
      out += i + 1 < node.replicas ? ",\n" : "\n";
    }
    out += n + 1 < graph.nodes.size() ? "    ]},\n" : "    ]}\n";
  }
  return out + "  ]\n}\n";
}

}  // namespace flow
