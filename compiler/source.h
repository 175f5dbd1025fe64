// A .flow program's text and the positions in it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flow {

// A position in a source file. Lines and columns count from 1; the column
// counts bytes, as compilers do, so a caret lines up under ASCII text.
struct SourceLoc {
  uint32_t offset = 0;
  uint32_t line = 0;  // 0: no location (a diagnostic about the whole file)
  uint32_t column = 0;

  bool known() const { return line != 0; }
};

// The text of one program, with the line starts needed to print a line.
class SourceFile {
 public:
  SourceFile(std::string path, std::string text);

  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }

  // The location of a byte offset (clamped to the end of the text).
  SourceLoc LocAt(size_t offset) const;
  // The text of line `line` (1-based) without its newline; "" if out of range.
  std::string_view Line(uint32_t line) const;

 private:
  std::string path_;
  std::string text_;
  std::vector<uint32_t> line_starts_;  // offset of the first byte of each line
};

}  // namespace flow
