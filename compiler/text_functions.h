// The pure functions of section 5 (docs/language.md, "Functions") on plain
// C++ types. The interpreter calls them, and so does the JIT's runtime
// support, so the two agree byte for byte. None throws: a function that can
// fail returns nullopt and its caller raises the record error, with the
// message made by one of the *Message functions below.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace flow {

// substr(s, m) and substr(s, m, n), as POSIX awk: the bytes at positions
// m … m+n-1 (from 1) that lie in 1 … len(s); n <= 0 gives "".
std::string_view Substr(std::string_view s, int64_t m);
std::string_view Substr(std::string_view s, int64_t m, int64_t n);

// The 1-based position of the first `t` in `s`, 0 when absent, 1 for "".
int64_t Find(std::string_view s, std::string_view t);

// Every non-overlapping `from`, left to right, replaced by `to`; an empty
// `from` leaves `s` as it is.
std::string Replace(std::string_view s, std::string_view from, std::string_view to);

// Strips spaces, tabs, \r, \n, \v and \f at both ends.
std::string_view Trim(std::string_view s);

// ASCII letters only; every other byte (UTF-8 included) is unchanged.
std::string Upper(std::string_view s);
std::string Lower(std::string_view s);
// The same into out[0, s.size()), which must not overlap `s`: the JIT's
// upper/lower write straight into its arena.
void UpperInto(std::string_view s, char* out);
void LowerInto(std::string_view s, char* out);

// int(s): blanks (as Trim strips), an optional sign, decimal digits, blanks.
// nullopt for anything else, "" included, and outside the 64-bit range.
std::optional<int64_t> ParseInt(std::string_view s);

// float(s): blanks, then a decimal or exponent number (`1.5`, `.5`, `2e-3`)
// or `nan`, `inf`, `infinity` in any case, with an optional sign, then
// blanks. Correctly rounded; a number beyond the double range is ±inf, one
// below it 0, as strtod says. nullopt for anything else.
std::optional<double> ParseFloat(std::string_view s);

// int(f): truncation toward zero; nullopt for NaN, ±inf and values outside
// the 64-bit range.
std::optional<int64_t> FloatToInt(double f);

// abs(i), wrapping: the smallest int is its own absolute value.
int64_t WrappingAbs(int64_t i);

// hash(s): 64-bit FNV-1a of the bytes, its bits read as a signed int.
int64_t Hash(std::string_view s);

// fmt's template: `{}` takes the next argument, `{{` and `}}` are literal
// braces, and any other brace is an error. CountPlaceholders returns the
// number of `{}` or, for a malformed template, nullopt and `*error` (for
// the checker). FormatTemplate returns nullopt for a malformed template or
// an argument count that differs from it (which a checked block never has).
std::optional<size_t> CountPlaceholders(std::string_view tmpl, std::string* error);
std::optional<std::string> FormatTemplate(std::string_view tmpl, std::span<const std::string_view> args);

// A value inside a record error's message: in single quotes, control bytes
// escaped (\n, \t, \xHH) so the message stays on one line, and cut after
// 40 bytes with "…" so a huge record does not flood the diagnostic.
std::string QuoteValue(std::string_view text);

// The messages of the record errors, shared by the interpreter and the JIT.
// "cannot convert '4x' to int"; for a float: "cannot convert nan to int".
std::string CannotConvertMessage(std::string_view text, const char* type_name);
std::string CannotConvertMessage(double value, const char* type_name);
// "field index -3 is negative"
std::string NegativeFieldMessage(int64_t index);
inline constexpr const char* kDivisionByZeroMessage = "division by zero";
inline constexpr const char* kEmptySeparatorMessage = "field separator must not be empty";

}  // namespace flow
