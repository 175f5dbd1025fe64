// The native ceiling of issue 4's log benchmarks: a hand-written,
// single-process C++ program doing the four jobs of bench/log_bench.py.
// bench/log_bench.py builds it with g++ -O2; it is not part of the CMake
// build. It follows the anchors' ../shared/anchors/logscan.cpp, so that its
// rates can be checked against the anchors' figures.
//
// usage: logscan_ceiling MODE FILE     (FILE "-" = stdin)
//   count404   read(log) | filter { $9 == "404" } | count
//   sumbytes   read(log) | sum { int($10, 0) }      ("-" counts as 0)
//   distinct1  read(log) | map { $1 } | distinct | count
//   countby9   read(log) | count_by { $9 }           (key\tcount, in order of
//                                                     first appearance)
//
// read(2) into a 1 MiB buffer (a partial last line is moved to the front);
// fields split as awk's default FS does (runs of blanks separate, leading
// blanks skipped), each line scanned only up to the field it needs.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace {

constexpr size_t kBufferBytes = 1 << 20;

inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Field `want` (1-based) of [p, end); "" past the last field.
inline std::string_view Field(const char* p, const char* end, int want) {
  int k = 0;
  while (p < end) {
    while (p < end && IsBlank(*p)) ++p;
    if (p == end) break;
    const char* start = p;
    while (p < end && !IsBlank(*p)) ++p;
    if (++k == want) return {start, size_t(p - start)};
  }
  return {};
}

template <class F>
bool ForEachLine(int fd, F&& f) {
  std::vector<char> buf(kBufferBytes);
  size_t have = 0;
  for (;;) {
    ssize_t got = ::read(fd, buf.data() + have, buf.size() - have);
    if (got < 0) return false;
    if (got == 0) break;
    have += size_t(got);
    const char* p = buf.data();
    const char* end = p + have;
    while (const char* nl = static_cast<const char*>(std::memchr(p, '\n', size_t(end - p)))) {
      f(p, nl);
      p = nl + 1;
    }
    have = size_t(end - p);
    // A line longer than the buffer: grow it rather than split the line.
    if (have == buf.size()) buf.resize(buf.size() * 2);
    std::memmove(buf.data(), p, have);
  }
  if (have) f(buf.data(), buf.data() + have);
  return true;
}

// int(s, 0): an optional sign and digits, else 0. On the generated log the
// field is digits or "-", where this and flowrun's int() agree.
inline int64_t IntOrZero(std::string_view s) {
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  if (i == s.size()) return 0;
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (s[i] - '0');
  }
  return negative ? -v : v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s count404|sumbytes|distinct1|countby9 FILE\n", argv[0]);
    return 2;
  }
  std::string_view mode = argv[1];
  int fd = std::strcmp(argv[2], "-") == 0 ? 0 : ::open(argv[2], O_RDONLY);
  if (fd < 0) {
    std::perror(argv[2]);
    return 1;
  }
  bool ok = true;
  if (mode == "count404") {
    uint64_t n = 0;
    ok = ForEachLine(fd, [&](const char* p, const char* e) { n += Field(p, e, 9) == "404"; });
    std::printf("%llu\n", static_cast<unsigned long long>(n));
  } else if (mode == "sumbytes") {
    int64_t sum = 0;
    ok = ForEachLine(fd, [&](const char* p, const char* e) { sum += IntOrZero(Field(p, e, 10)); });
    std::printf("%lld\n", static_cast<long long>(sum));
  } else if (mode == "distinct1") {
    std::unordered_set<std::string> seen;
    seen.reserve(1 << 20);
    ok = ForEachLine(fd, [&](const char* p, const char* e) { seen.emplace(Field(p, e, 1)); });
    std::printf("%zu\n", seen.size());
  } else if (mode == "countby9") {
    std::unordered_map<std::string, size_t> slot;  // key -> index in counts
    std::vector<std::pair<std::string, uint64_t>> counts;
    ok = ForEachLine(fd, [&](const char* p, const char* e) {
      std::string_view key = Field(p, e, 9);
      auto [it, added] = slot.try_emplace(std::string(key), counts.size());
      if (added) counts.emplace_back(it->first, 0);
      ++counts[it->second].second;
    });
    for (const auto& [key, n] : counts) std::printf("%s\t%llu\n", key.c_str(), static_cast<unsigned long long>(n));
  } else {
    std::fprintf(stderr, "unknown mode '%.*s'\n", int(mode.size()), mode.data());
    return 2;
  }
  if (!ok) {
    std::perror("read");
    return 1;
  }
  return 0;
}
