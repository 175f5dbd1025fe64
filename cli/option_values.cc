#include "cli/option_values.h"

#include <charconv>
#include <string_view>

namespace flow {
namespace {

// A positive decimal number followed by a unit from `units`, multiplied by
// the unit's factor. No unit is accepted only when `units` names "".
struct Unit {
  std::string_view suffix;
  int64_t factor;
};

template <size_t N>
std::optional<std::pair<int64_t, size_t>> ParseWithUnit(const std::string& text, const Unit (&units)[N]) {
  int64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end == text.data() || number <= 0) return std::nullopt;
  std::string_view suffix(end, static_cast<size_t>(text.data() + text.size() - end));
  for (size_t i = 0; i < N; ++i) {
    if (suffix != units[i].suffix) continue;
    if (number > INT64_MAX / units[i].factor) return std::nullopt;
    return std::pair{number * units[i].factor, i};
  }
  return std::nullopt;
}

}  // namespace

std::optional<QueueCapacity> ParseQueueCapacity(const std::string& text) {
  static constexpr Unit kUnits[] = {
      {"", 1}, {"B", 1}, {"KiB", int64_t{1} << 10}, {"MiB", int64_t{1} << 20}, {"GiB", int64_t{1} << 30}};
  auto parsed = ParseWithUnit(text, kUnits);
  if (!parsed) return std::nullopt;
  QueueCapacity capacity;
  if (parsed->second == 0) {
    capacity.records = parsed->first;
  } else {
    capacity.bytes = parsed->first;
  }
  return capacity;
}

std::optional<int64_t> ParseDurationNanos(const std::string& text) {
  static constexpr Unit kUnits[] = {
      {"ms", 1'000'000}, {"s", 1'000'000'000}, {"m", 60'000'000'000}, {"h", 3'600'000'000'000}};
  auto parsed = ParseWithUnit(text, kUnits);
  if (!parsed) return std::nullopt;
  return parsed->first;
}

}  // namespace flow
