// The values of literal tokens (docs/language.md, "Lexical").
//
// The grammar only finds where a number or a string ends, generously (a
// number token runs over every letter and digit that follows it); these
// functions decide what the token means, or say in the user's words what is
// wrong with it. Keeping the rules here rather than in the grammar is what
// lets "unknown unit 'sec' in '5sec'" replace a bare "syntax error".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace flow::grammar {

struct LiteralError {
  size_t offset = 0;  // from the first byte of the token (or of the string body)
  std::string message;
};

enum class NumberKind : uint8_t { kInt, kFloat, kDuration, kSize };

struct NumberLiteral {
  NumberKind kind = NumberKind::kInt;
  int64_t int_value = 0;  // kInt; kDuration in nanoseconds; kSize in bytes
  double float_value = 0;
};

// A number token: decimal digits with '_' between digits, an optional
// fraction and exponent (a float), or a unit suffix (ms s m h: a duration;
// B KiB MiB GiB TiB: a size). Every value must fit in 64 bits.
std::variant<NumberLiteral, LiteralError> DecodeNumber(std::string_view token);

// The bytes of a "..." string, given the text between the quotes, with the
// escapes \n \t \r \\ \" \0 \xHH \u{H..} decoded. (The grammar guarantees a
// backslash is never the last byte.)
std::variant<std::string, LiteralError> DecodeString(std::string_view body);

}  // namespace flow::grammar
