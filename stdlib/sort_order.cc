#include "stdlib/sort_order.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "compiler/fields.h"

namespace flow {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

size_t SkipDigits(std::string_view s, size_t i) {
  while (i < s.size() && IsDigit(s[i])) ++i;
  return i;
}

}  // namespace

double NumericKey(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  size_t start = i;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  size_t int_end = SkipDigits(text, i);
  size_t digits = int_end - i;
  i = int_end;
  if (i < text.size() && text[i] == '.') {
    size_t frac_end = SkipDigits(text, i + 1);
    digits += frac_end - (i + 1);
    if (digits > 0) i = frac_end;
  }
  if (digits == 0) return 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    size_t j = i + 1;
    if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
    size_t exp_end = SkipDigits(text, j);
    if (exp_end > j) i = exp_end;
  }
  // strtod wants a terminated string; the prefix is checked already, so it
  // reads all of it and nothing else (and in the "C" locale, which the
  // runner never changes, the point is '.').
  std::string_view number = text.substr(start, i - start);
  char small[64];
  if (number.size() < sizeof small) {
    std::memcpy(small, number.data(), number.size());
    small[number.size()] = '\0';
    return std::strtod(small, nullptr);
  }
  return std::strtod(std::string(number).c_str(), nullptr);
}

SortKey SortOrder::KeyOf(std::string_view record) const {
  SortKey key;
  key.text = key_ == 0 ? record : NthField(record, key_, "");
  if (numeric_) key.number = NumericKey(key.text);
  return key;
}

}  // namespace flow
