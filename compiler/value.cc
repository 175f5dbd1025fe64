#include "compiler/value.h"

#include <fmt/format.h>

#include <cmath>

namespace flow {

const char* TypeName(Type type) {
  switch (type) {
    case Type::kUnknown: return "unknown";
    case Type::kInt: return "int";
    case Type::kFloat: return "float";
    case Type::kStr: return "str";
    case Type::kBool: return "bool";
    case Type::kDuration: return "duration";
    case Type::kSize: return "size";
  }
  return "unknown";
}

Type Value::type() const {
  switch (v_.index()) {
    case 0: return Type::kInt;
    case 1: return Type::kFloat;
    case 2: return Type::kStr;
    case 3: return Type::kBool;
    case 4: return Type::kDuration;
    case 5: return Type::kSize;
  }
  return Type::kUnknown;
}

// Every NaN is written "nan": the sign bit of a NaN carries no meaning, and
// which sign an operation leaves differs between the CPU and LLVM's constant
// folding, so the interpreter and the JIT could not otherwise agree.
std::string FormatFloat(double value) {
  if (std::isnan(value)) return "nan";
  return fmt::format("{}", value);
}

std::string FormatDuration(Duration d) {
  static constexpr struct { int64_t ns; const char* unit; } kUnits[] = {
      {3'600'000'000'000, "h"}, {60'000'000'000, "m"}, {1'000'000'000, "s"}, {1'000'000, "ms"}};
  for (const auto& u : kUnits)
    if (d.nanoseconds != 0 && d.nanoseconds % u.ns == 0) return std::to_string(d.nanoseconds / u.ns) + u.unit;
  if (d.nanoseconds % 1'000'000 == 0) return std::to_string(d.nanoseconds / 1'000'000) + "ms";
  return FormatFloat(static_cast<double>(d.nanoseconds) / 1e6) + "ms";
}

std::string FormatSize(Size s) {
  static constexpr struct { int64_t bytes; const char* unit; } kUnits[] = {
      {int64_t{1} << 40, "TiB"}, {int64_t{1} << 30, "GiB"}, {int64_t{1} << 20, "MiB"}, {int64_t{1} << 10, "KiB"}};
  for (const auto& u : kUnits)
    if (s.bytes != 0 && s.bytes % u.bytes == 0) return std::to_string(s.bytes / u.bytes) + u.unit;
  return std::to_string(s.bytes) + "B";
}

std::string Value::ToText() const {
  switch (type()) {
    case Type::kInt: return std::to_string(as_int());
    case Type::kFloat: return FormatFloat(as_float());
    case Type::kStr: return as_str();
    case Type::kBool: return as_bool() ? "true" : "false";
    case Type::kDuration: return FormatDuration(as_duration());
    case Type::kSize: return FormatSize(as_size());
    case Type::kUnknown: break;
  }
  return "";
}

}  // namespace flow
