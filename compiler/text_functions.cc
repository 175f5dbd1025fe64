#include "compiler/text_functions.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "compiler/value.h"

namespace flow {
namespace {

constexpr std::string_view kBlanks = " \t\r\n\v\f";
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (AsciiLower(a[i]) != lower[i]) return false;
  return true;
}

// The bytes of `s` from `begin` (1-based, >= 1) up to `end` (exclusive),
// both clipped to the string.
std::string_view Clip(std::string_view s, int64_t begin, int64_t end) {
  const int64_t size = static_cast<int64_t>(s.size());
  if (end > size + 1) end = size + 1;
  if (end <= begin) return {};
  return s.substr(static_cast<size_t>(begin - 1), static_cast<size_t>(end - begin));
}

}  // namespace

std::string_view Substr(std::string_view s, int64_t m) {
  return Clip(s, m < 1 ? 1 : m, kInt64Max);
}

std::string_view Substr(std::string_view s, int64_t m, int64_t n) {
  if (n <= 0) return {};
  // m + n, saturated: only a positive m can overflow with a positive n.
  const int64_t end = (m > 0 && n > kInt64Max - m) ? kInt64Max : m + n;
  return Clip(s, m < 1 ? 1 : m, end);
}

int64_t Find(std::string_view s, std::string_view t) {
  size_t at = s.find(t);
  return at == std::string_view::npos ? 0 : static_cast<int64_t>(at) + 1;
}

std::string Replace(std::string_view s, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(s);
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t at = s.find(from); at != std::string_view::npos; at = s.find(from, pos)) {
    out.append(s.substr(pos, at - pos));
    out.append(to);
    pos = at + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

std::string_view Trim(std::string_view s) {
  size_t first = s.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  size_t last = s.find_last_not_of(kBlanks);
  return s.substr(first, last - first + 1);
}

namespace {

// The bytes in [first, first + 25] of x, 8 or 4 at a time, get bit 5
// flipped (an ASCII letter's case). Per byte, with the high bit set aside
// so that no sum carries into the next byte: h + (0x80 - first) has its
// high bit set when h >= first, h + (0x80 - first - 26) when h > first + 25;
// a byte with its own high bit set (UTF-8) is never a letter.
template <class Word>
Word FlipCase(Word x, unsigned char first) {
  constexpr Word kOnes = static_cast<Word>(~Word{0}) / 0xff;  // 0x0101…
  constexpr Word kHigh = kOnes * 0x80;
  const Word h = x & ~kHigh;
  const Word from_first = h + kOnes * static_cast<Word>(0x80 - first);
  const Word past_last = h + kOnes * static_cast<Word>(0x80 - first - 26);
  const Word letters = from_first & ~past_last & ~x & kHigh;
  return x ^ (letters >> 2);
}

template <class Word>
void FlipCaseAt(const char* in, char* out, unsigned char first) {
  Word w;
  std::memcpy(&w, in, sizeof w);
  w = FlipCase(w, first);
  std::memcpy(out, &w, sizeof w);
}

// Words of 8 bytes (16 with SSE2), the last one overlapping the one before
// it instead of a loop over the tail; 4 to 7 bytes as two overlapping
// 4-byte words, and only 1 to 3 byte by byte. `in` and `out` do not
// overlap, so a byte written twice gets the same value twice.
void MapCase(std::string_view s, char* out, unsigned char first) {
  const char* in = s.data();
  const size_t n = s.size();
  if (n >= 8) {
    size_t i = 0;
#ifdef __SSE2__
    if (n >= 16) {
      // c - first, biased by 0x80, compared signed: below -128 + 26 is in
      // [first, first + 25].
      const __m128i bias = _mm_set1_epi8(static_cast<char>(0x80 - first));
      const __m128i limit = _mm_set1_epi8(static_cast<char>(-128 + 26));
      const __m128i flip = _mm_set1_epi8(0x20);
      auto map16 = [&](size_t at) {
        const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + at));
        const __m128i letter = _mm_cmplt_epi8(_mm_add_epi8(c, bias), limit);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + at), _mm_xor_si128(c, _mm_and_si128(letter, flip)));
      };
      for (; i + 16 <= n; i += 16) map16(i);
      if (i < n) map16(n - 16);
      return;
    }
#endif
    for (; i + 8 <= n; i += 8) FlipCaseAt<uint64_t>(in + i, out + i, first);
    if (i < n) FlipCaseAt<uint64_t>(in + n - 8, out + n - 8, first);
  } else if (n >= 4) {
    FlipCaseAt<uint32_t>(in, out, first);
    FlipCaseAt<uint32_t>(in + n - 4, out + n - 4, first);
  } else {
    for (size_t i = 0; i < n; ++i) {
      const auto c = static_cast<unsigned char>(in[i]);
      out[i] = static_cast<char>(static_cast<unsigned char>(c - first) < 26 ? c ^ 0x20 : c);
    }
  }
}

}  // namespace

void UpperInto(std::string_view s, char* out) { MapCase(s, out, 'a'); }
void LowerInto(std::string_view s, char* out) { MapCase(s, out, 'A'); }

std::string Upper(std::string_view s) {
  std::string out(s.size(), '\0');
  UpperInto(s, out.data());
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s.size(), '\0');
  LowerInto(s, out.data());
  return out;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  s = Trim(s);
  // from_chars takes a '-' but not a '+'; a sign must be followed by a digit.
  const bool plus = !s.empty() && s[0] == '+';
  if (plus) s.remove_prefix(1);
  const size_t digits = !plus && !s.empty() && s[0] == '-' ? 1 : 0;
  if (s.size() <= digits || !IsDigit(s[digits])) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::optional<double> ParseFloat(std::string_view s) {
  s = Trim(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (EqualsIgnoreCase(s, "nan")) return std::numeric_limits<double>::quiet_NaN();
  if (EqualsIgnoreCase(s, "inf") || EqualsIgnoreCase(s, "infinity"))
    return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  // A digit or a point must come first: from_chars alone would also take
  // "nan(...)" and a second sign.
  if (s.empty() || !(IsDigit(s[0]) || s[0] == '.')) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, std::chars_format::general);
  if (end != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves the value alone; strtod gives the IEEE answer (±inf
    // on overflow, 0 or the nearest subnormal on underflow). The text is
    // known to be a valid number, so strtod reads all of it.
    value = std::strtod(std::string(s).c_str(), nullptr);
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  return negative ? -value : value;
}

std::optional<int64_t> FloatToInt(double f) {
  // [-2^63, 2^63) holds exactly the doubles whose truncation fits; NaN fails
  // both comparisons.
  if (!(f >= -0x1p63 && f < 0x1p63)) return std::nullopt;
  return static_cast<int64_t>(f);
}

int64_t WrappingAbs(int64_t i) {
  // Negating in unsigned arithmetic wraps instead of overflowing; the
  // conversion back is modular (C++20).
  return i < 0 ? static_cast<int64_t>(0 - static_cast<uint64_t>(i)) : i;
}

int64_t Hash(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return static_cast<int64_t>(h);
}

namespace {

// Walks a template, calling `literal` for each run of plain text and
// `placeholder` for each `{}`; returns false and sets `*error` on a stray
// brace.
template <class Literal, class Placeholder>
bool WalkTemplate(std::string_view tmpl, Literal literal, Placeholder placeholder, std::string* error) {
  size_t start = 0;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if (c != '{' && c != '}') continue;
    literal(tmpl.substr(start, i - start));
    const char next = i + 1 < tmpl.size() ? tmpl[i + 1] : '\0';
    if (c == '{' && next == '}') {
      placeholder();
    } else if (c == next) {
      literal(tmpl.substr(i, 1));
    } else {
      if (error)
        *error = c == '{' ? "'{' in a format string must be '{}' or '{{'" : "'}' in a format string must be '}}'";
      return false;
    }
    start = i + 2;
    ++i;
  }
  literal(tmpl.substr(start));
  return true;
}

}  // namespace

std::optional<size_t> CountPlaceholders(std::string_view tmpl, std::string* error) {
  size_t count = 0;
  if (!WalkTemplate(tmpl, [](std::string_view) {}, [&] { ++count; }, error)) return std::nullopt;
  return count;
}

std::optional<std::string> FormatTemplate(std::string_view tmpl, std::span<const std::string_view> args) {
  std::string out;
  size_t next = 0;
  bool enough = true;
  auto literal = [&](std::string_view text) { out.append(text); };
  auto placeholder = [&] {
    if (next < args.size())
      out.append(args[next++]);
    else
      enough = false;
  };
  if (!WalkTemplate(tmpl, literal, placeholder, nullptr) || !enough || next != args.size()) return std::nullopt;
  return out;
}

std::string QuoteValue(std::string_view text) {
  constexpr size_t kShown = 40;
  bool cut = false;
  if (text.size() > kShown) {
    size_t end = kShown;
    // Do not split a UTF-8 sequence: back up over continuation bytes.
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    text = text.substr(0, end);
    cut = true;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  out += cut ? "…'" : "'";
  return out;
}

std::string CannotConvertMessage(std::string_view text, const char* type_name) {
  return "cannot convert " + QuoteValue(text) + " to " + type_name;
}

std::string CannotConvertMessage(double value, const char* type_name) {
  return "cannot convert " + FormatFloat(value) + " to " + type_name;
}

std::string NegativeFieldMessage(int64_t index) {
  return "field index " + std::to_string(index) + " is negative";
}

}  // namespace flow
