#include "compiler/fields.h"

namespace flow {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// One step of splitting, shared by FieldSplitter and NthField: finds the
// field that starts the search at `*pos`, and moves `*pos` past it. Returns
// false when the record has no more fields. `*done` tells a separator-split
// record that the field just found was its last (awk's default needs no such
// flag: it runs out of non-blank bytes instead).
bool NextField(std::string_view record, std::string_view fs, size_t* pos, bool* done, std::string_view* field) {
  if (*done) return false;
  if (fs.empty()) {
    size_t begin = *pos;
    while (begin < record.size() && IsBlank(record[begin])) ++begin;
    if (begin == record.size()) {
      *done = true;
      return false;
    }
    size_t end = begin;
    while (end < record.size() && !IsBlank(record[end])) ++end;
    *field = record.substr(begin, end - begin);
    *pos = end;
    return true;
  }
  // With a separator, `a,` is two fields ("a" and ""), but an empty record
  // has none.
  if (record.empty()) {
    *done = true;
    return false;
  }
  size_t at = record.find(fs, *pos);
  if (at == std::string_view::npos) {
    *field = record.substr(*pos);
    *done = true;
  } else {
    *field = record.substr(*pos, at - *pos);
    *pos = at + fs.size();
  }
  return true;
}

}  // namespace

FieldSplitter::FieldSplitter(std::string_view fs) : fs_(fs) {}

FieldSplitter::FieldSplitter(std::string_view record, std::string_view fs) : fs_(fs) { Reset(record); }

bool FieldSplitter::SplitNext() {
  std::string_view field;
  if (!NextField(record_, fs_, &pos_, &done_, &field)) return false;
  fields_.push_back(field);
  return true;
}

std::string_view FieldSplitter::Field(int64_t i) {
  if (i == 0) return record_;
  if (i < 0) return {};
  const auto wanted = static_cast<uint64_t>(i);
  while (fields_.size() < wanted)
    if (!SplitNext()) return {};
  return fields_[wanted - 1];
}

int64_t FieldSplitter::Count() {
  while (SplitNext()) {
  }
  return static_cast<int64_t>(fields_.size());
}

std::string_view NthField(std::string_view s, int64_t i, std::string_view fs) {
  if (i == 0) return s;
  size_t pos = 0;
  bool done = false;
  std::string_view field;
  for (int64_t n = 0; n < i; ++n)
    if (!NextField(s, fs, &pos, &done, &field)) return {};
  return field;
}

}  // namespace flow
