#include "cli/option_values.h"

#include <variant>

#include "grammar/literals.h"

namespace flow {
namespace {

// A command-line value is read as the same literal would be in a program,
// so `--queue 16MiB` and `[queue = 16MiB]` can never disagree.
std::optional<grammar::NumberLiteral> DecodePositive(const std::string& text) {
  auto decoded = grammar::DecodeNumber(text);
  const auto* number = std::get_if<grammar::NumberLiteral>(&decoded);
  if (!number || number->kind == grammar::NumberKind::kFloat || number->int_value <= 0) return std::nullopt;
  return *number;
}

}  // namespace

std::optional<QueueCapacity> ParseQueueCapacity(const std::string& text) {
  std::optional<grammar::NumberLiteral> number = DecodePositive(text);
  if (!number) return std::nullopt;
  QueueCapacity capacity;
  if (number->kind == grammar::NumberKind::kInt) {
    capacity.records = number->int_value;
  } else if (number->kind == grammar::NumberKind::kSize) {
    capacity.bytes = number->int_value;
  } else {
    return std::nullopt;
  }
  return capacity;
}

std::optional<int64_t> ParseDurationNanos(const std::string& text) {
  std::optional<grammar::NumberLiteral> number = DecodePositive(text);
  if (!number || number->kind != grammar::NumberKind::kDuration) return std::nullopt;
  return number->int_value;
}

}  // namespace flow
