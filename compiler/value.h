// The types and values of the expression language (section 5 of the contract).
#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace flow {

// kDuration and kSize exist only at compile time: they are the types of
// literals like `250ms` and `4MiB`, which stage arguments and options take.
// Inside a block they are a type error.
enum class Type : uint8_t { kUnknown, kInt, kFloat, kStr, kBool, kDuration, kSize };

// The name a user reads in a diagnostic: "int", "float", "str", "bool", ...
const char* TypeName(Type type);

struct Duration {
  int64_t nanoseconds = 0;
  bool operator==(const Duration&) const = default;
};
struct Size {
  int64_t bytes = 0;
  bool operator==(const Size&) const = default;
};

// A constant: a folded `let`, a `-p` argument, a stage argument.
class Value {
 public:
  Value() : v_(int64_t{0}) {}
  static Value Int(int64_t i) { return Value(i); }
  static Value Float(double f) { return Value(f); }
  static Value Str(std::string s) { return Value(std::move(s)); }
  static Value Bool(bool b) { return Value(b); }
  static Value Dur(Duration d) { return Value(d); }
  static Value Bytes(Size s) { return Value(s); }

  Type type() const;
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  const std::string& as_str() const { return std::get<std::string>(v_); }
  bool as_bool() const { return std::get<bool>(v_); }
  Duration as_duration() const { return std::get<Duration>(v_); }
  Size as_size() const { return std::get<Size>(v_); }

  // The text `str()` makes of the value, and that `map` writes: ints in
  // decimal, floats in the shortest form that reads back (fmt's "{}"),
  // bools as true/false, strings as they are; durations and sizes as
  // written in source ("250ms", "4MiB").
  std::string ToText() const;

  bool operator==(const Value&) const = default;

 private:
  using Storage = std::variant<int64_t, double, std::string, bool, Duration, Size>;
  template <class T>
  explicit Value(T v) : v_(std::move(v)) {}
  Storage v_;
};

// Float text as `str()`, `fmt` and `map` write it (shared by the
// interpreter and the JIT's runtime support so the two agree byte for byte).
std::string FormatFloat(double value);
std::string FormatDuration(Duration d);
std::string FormatSize(Size s);

}  // namespace flow
