// How sort(key, numeric, reverse) orders records: shared by the in-memory
// sort and the merge of spilled runs, so both agree.
#pragma once

#include <cstdint>
#include <string_view>

namespace flow {

// A record's sort key, computed once per record: views into the record
// (which must outlive it), or its number.
struct SortKey {
  std::string_view text;
  double number = 0;
};

// The numeric value of a key, as `sort(numeric = true)` reads it: after
// leading spaces and tabs, the longest prefix of the form
// [+-]digits[.digits][(e|E)[+-]digits] (at least one digit before or after
// the point), converted as strtod converts it ("1e999" is inf); a key with no
// such prefix ("abc", "", "-") is 0. So "12abc" is 12, "3.5e2x" is 350,
// " -7" is -7. Unlike strtod, "inf", "nan" and hex are not numbers (0): the
// order must be total, and NaN has none.
double NumericKey(std::string_view text);

class SortOrder {
 public:
  // `key` 0: the whole record; else field `key`, split as awk does (a
  // field past the last is "").
  SortOrder(int64_t key, bool numeric, bool reverse) : key_(key), numeric_(numeric), reverse_(reverse) {}

  SortKey KeyOf(std::string_view record) const;

  // Negative, 0 or positive as `a` sorts before, with, or after `b`: bytes
  // compared unsigned, or numbers; `reverse` flips it. Equal keys compare 0,
  // and every user of this keeps them in input order (as `sort -s -r`).
  int Compare(const SortKey& a, const SortKey& b) const {
    int c;
    if (numeric_)
      c = a.number < b.number ? -1 : (b.number < a.number ? 1 : 0);
    else
      c = a.text.compare(b.text);
    return reverse_ ? -c : c;
  }

 private:
  int64_t key_;
  bool numeric_;
  bool reverse_;
};

}  // namespace flow
