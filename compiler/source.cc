#include "compiler/source.h"

#include <algorithm>

namespace flow {

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(static_cast<uint32_t>(i + 1));
}

SourceLoc SourceFile::LocAt(size_t offset) const {
  offset = std::min(offset, text_.size());
  // The last line start at or before `offset`.
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  size_t line_index = static_cast<size_t>(it - line_starts_.begin()) - 1;
  SourceLoc loc;
  loc.offset = static_cast<uint32_t>(offset);
  loc.line = static_cast<uint32_t>(line_index + 1);
  loc.column = static_cast<uint32_t>(offset - line_starts_[line_index] + 1);
  return loc;
}

std::string_view SourceFile::Line(uint32_t line) const {
  if (line == 0 || line > line_starts_.size()) return {};
  size_t begin = line_starts_[line - 1];
  size_t end = line < line_starts_.size() ? line_starts_[line] - 1 : text_.size();
  std::string_view view(text_.data() + begin, end - begin);
  if (!view.empty() && view.back() == '\r') view.remove_suffix(1);
  return view;
}

}  // namespace flow
