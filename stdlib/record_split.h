// Splitting a whole text into records, as `lines(s)` and `flatmap {}` do
// and as `read` does with a file: a separator ends a record, so "a\nb\n"
// and "a\nb" are both "a", "b"; "" is no record; "\n" is one empty record.
// A `\r` before the separator stays in the record.
#pragma once

#include <cstring>
#include <string_view>

namespace flow {

// Where the next `sep` starts in `text` at or after `from`, or npos.
// memchr for the common one-byte separator: it is the hot path of `read`.
inline size_t FindSeparator(std::string_view text, size_t from, std::string_view sep) {
  if (from >= text.size()) return std::string_view::npos;
  const char* begin = text.data() + from;
  size_t left = text.size() - from;
  const void* hit = sep.size() == 1 ? std::memchr(begin, sep[0], left) : memmem(begin, left, sep.data(), sep.size());
  return hit == nullptr ? std::string_view::npos : static_cast<size_t>(static_cast<const char*>(hit) - text.data());
}

// Calls `each(record)` for every record of `text`, in order, until it
// returns false; returns false when it did. `sep` must not be empty.
template <class Each>
bool ForEachRecord(std::string_view text, std::string_view sep, Each&& each) {
  size_t start = 0;
  while (start < text.size()) {
    size_t at = FindSeparator(text, start, sep);
    if (at == std::string_view::npos) return each(text.substr(start));
    if (!each(text.substr(start, at - start))) return false;
    start = at + sep.size();
  }
  return true;
}

}  // namespace flow
