#include "grammar/literals.h"

#include <charconv>
#include <cstdio>
#include <limits>

namespace flow::grammar {

namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

struct Unit {
  std::string_view suffix;
  NumberKind kind;
  int64_t scale;  // nanoseconds or bytes per unit
};

constexpr Unit kUnits[] = {
    {"ms", NumberKind::kDuration, kNanosPerSecond / 1000},
    {"s", NumberKind::kDuration, kNanosPerSecond},
    {"m", NumberKind::kDuration, 60 * kNanosPerSecond},
    {"h", NumberKind::kDuration, 3600 * kNanosPerSecond},
    {"B", NumberKind::kSize, 1},
    {"KiB", NumberKind::kSize, int64_t{1} << 10},
    {"MiB", NumberKind::kSize, int64_t{1} << 20},
    {"GiB", NumberKind::kSize, int64_t{1} << 30},
    {"TiB", NumberKind::kSize, int64_t{1} << 40},
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int HexValue(char c) { return IsDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

// Scans digits and '_' from `i`; notes an '_' that is not between two digits.
size_t ScanDigits(std::string_view s, size_t i, bool& bad_underscore) {
  const size_t begin = i;
  for (; i < s.size() && (IsDigit(s[i]) || s[i] == '_'); ++i) {
    if (s[i] != '_') continue;
    bool between = i > begin && IsDigit(s[i - 1]) && i + 1 < s.size() && IsDigit(s[i + 1]);
    if (!between) bad_underscore = true;
  }
  return i;
}

std::string WithoutUnderscores(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (c != '_') out += c;
  return out;
}

// Decimal digits (no sign, no '_') to a non-negative int64; false on overflow.
bool ParseDecimal(const std::string& digits, int64_t& value) {
  uint64_t v = 0;
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  for (char c : digits) {
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (kMax - d) / 10) return false;
    v = v * 10 + d;
  }
  value = static_cast<int64_t>(v);
  return true;
}

LiteralError Error(std::string message) { return LiteralError{0, std::move(message)}; }

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// How an escape's second character reads in a message: itself when it is
// printable ASCII or the start of a UTF-8 character, else its byte value.
std::string ShowEscape(std::string_view body, size_t i) {
  unsigned char c = static_cast<unsigned char>(body[i]);
  if (c >= 0x20 && c < 0x7F) return "'\\" + std::string(1, static_cast<char>(c)) + "'";
  if (c >= 0xC0) {
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    return "'\\" + std::string(body.substr(i, n)) + "'";
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", c);
  return "'\\' followed by byte " + std::string(hex);
}

}  // namespace

std::variant<NumberLiteral, LiteralError> DecodeNumber(std::string_view token) {
  const std::string text(token);
  bool bad_underscore = false;
  size_t i = ScanDigits(token, 0, bad_underscore);
  const size_t int_end = i;
  bool is_float = false;
  if (i + 1 < token.size() && token[i] == '.' && IsDigit(token[i + 1])) {
    i = ScanDigits(token, i + 1, bad_underscore);
    is_float = true;
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    size_t j = i + 1;
    if (j < token.size() && (token[j] == '+' || token[j] == '-')) ++j;
    if (j < token.size() && IsDigit(token[j])) {
      i = ScanDigits(token, j, bad_underscore);
      is_float = true;
    }
  }
  const std::string_view unit = token.substr(i);
  if (bad_underscore) return Error("'" + text + "': '_' may only separate two digits");

  if (!unit.empty()) {
    for (char c : unit)
      if (!IsLetter(c)) return Error("invalid number '" + text + "'");
    const Unit* found = nullptr;
    for (const Unit& u : kUnits)
      if (u.suffix == unit) found = &u;
    if (found == nullptr) {
      if (unit == "e" || unit == "E") return Error("invalid number '" + text + "': expected digits after the exponent");
      return Error("unknown unit '" + std::string(unit) + "' in '" + text +
                   "': durations take ms, s, m or h, sizes B, KiB, MiB, GiB or TiB");
    }
    const bool duration = found->kind == NumberKind::kDuration;
    if (is_float) {
      return Error("'" + text + (duration ? "': a duration must be a whole number of ms, s, m or h"
                                          : "': a size must be a whole number of B, KiB, MiB, GiB or TiB"));
    }
    int64_t count = 0;
    if (!ParseDecimal(WithoutUnderscores(token.substr(0, int_end)), count) ||
        count > std::numeric_limits<int64_t>::max() / found->scale) {
      return Error(std::string(duration ? "duration " : "size ") + text + " does not fit in 64 bits");
    }
    return NumberLiteral{found->kind, count * found->scale, 0};
  }

  if (is_float) {
    const std::string digits = WithoutUnderscores(token);
    double value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || end != digits.data() + digits.size())
      return Error("float literal " + text + " is out of range");
    return NumberLiteral{NumberKind::kFloat, 0, value};
  }
  int64_t value = 0;
  if (!ParseDecimal(WithoutUnderscores(token), value))
    return Error("integer literal " + text + " does not fit in 64 bits");
  return NumberLiteral{NumberKind::kInt, value, 0};
}

std::variant<std::string, LiteralError> DecodeString(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      out += body[i];
      continue;
    }
    const size_t at = i;
    const char c = body[++i];
    switch (c) {
      case 'n': out += '\n'; continue;
      case 't': out += '\t'; continue;
      case 'r': out += '\r'; continue;
      case '\\': out += '\\'; continue;
      case '"': out += '"'; continue;
      case '0': out += '\0'; continue;
      case 'x': {
        if (i + 2 >= body.size() || !IsHex(body[i + 1]) || !IsHex(body[i + 2]))
          return LiteralError{at, "invalid escape in string: '\\x' takes two hex digits, as in '\\x7f'"};
        out += static_cast<char>(HexValue(body[i + 1]) * 16 + HexValue(body[i + 2]));
        i += 2;
        continue;
      }
      case 'u': {
        size_t j = i + 1;
        uint32_t cp = 0;
        size_t digits = 0;
        if (j < body.size() && body[j] == '{') {
          for (++j; j < body.size() && IsHex(body[j]) && digits < 7; ++j, ++digits) cp = cp * 16 + HexValue(body[j]);
        }
        if (digits == 0 || digits > 6 || j >= body.size() || body[j] != '}')
          return LiteralError{at, "invalid escape in string: '\\u' takes 1 to 6 hex digits in braces, as in '\\u{e9}'"};
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          return LiteralError{at, "'" + std::string(body.substr(at, j + 1 - at)) + "' is not a Unicode scalar value"};
        }
        AppendUtf8(out, cp);
        i = j;
        continue;
      }
      default:
        return LiteralError{at, "unknown escape " + ShowEscape(body, i) + " in string"};
    }
  }
  return out;
}

}  // namespace flow::grammar
