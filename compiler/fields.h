// Splitting a record into fields, as `$N`, `NF` and `field(s, i[, sep])`
// read them (docs/language.md, "Records and fields"). Shared by the
// interpreter and the JIT's runtime support.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flow {

// Splits one record lazily: asking for `$2` splits only as far as the second
// field, and only `Count()` (NF) splits the whole record. The fields are
// views into the record, which must outlive them. One splitter serves a
// whole stage: `Reset` starts the next record and keeps the vector's memory.
class FieldSplitter {
 public:
  // `fs`: "" splits as awk's default (runs of spaces and tabs, leading and
  // trailing ones ignored); anything else is an exact separator string,
  // every occurrence of which separates two fields.
  explicit FieldSplitter(std::string_view fs);
  FieldSplitter(std::string_view record, std::string_view fs);

  void Reset(std::string_view record) {
    record_ = record;
    fields_.clear();
    pos_ = 0;
    done_ = false;
  }

  // Field `i` (i >= 0): 0 is the whole record, one past the last is "".
  std::string_view Field(int64_t i);
  // NF: 0 for an empty record whatever the separator.
  int64_t Count();

 private:
  // Finds the next field into `fields_`; false when there is none.
  bool SplitNext();

  std::string fs_;
  std::string_view record_;
  std::vector<std::string_view> fields_;
  size_t pos_ = 0;     // where the next field's search starts
  bool done_ = false;  // every field is in `fields_`
};

// Field `i` (i >= 0) of `s`, split as FieldSplitter does, without keeping
// the fields: `field(s, i[, sep])`.
std::string_view NthField(std::string_view s, int64_t i, std::string_view fs);

}  // namespace flow
