#include "grammar/recovery.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace flow::grammar {

namespace {

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Past the string whose body starts at `i`; a string ends at its quote, or
// (unterminated) just before the newline, as in the grammar.
size_t SkipString(std::string_view text, size_t i, bool escapes, bool& terminated) {
  terminated = false;
  while (i < text.size()) {
    char c = text[i];
    if (c == '"') {
      terminated = true;
      return i + 1;
    }
    if (c == '\n') return i;
    i += (escapes && c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') ? 2 : 1;
  }
  return i;
}

size_t SkipComment(std::string_view text, size_t i) {
  while (i < text.size() && text[i] != '\n' && text[i] != '\0') ++i;
  return i;
}

// Does the first non-blank, non-comment line from `i` start with '|'?
bool NextLineStartsWithPipe(std::string_view text, size_t i) {
  while (i < text.size()) {
    char c = text[i];
    if (IsBlank(c) || c == '\n') {
      ++i;
    } else if (c == '#') {
      i = SkipComment(text, i);
      if (i < text.size() && text[i] == '\0') return false;
    } else {
      return c == '|';
    }
  }
  return false;
}

bool StartsWithWord(std::string_view text, size_t i, std::string_view word) {
  return text.substr(i, word.size()) == word && (i + word.size() == text.size() || !IsIdentChar(text[i + word.size()]));
}

size_t ScanStatement(std::string_view text, size_t i) {
  std::vector<char> brackets;
  size_t line_brackets = 0;          // brackets.size() when the line began
  bool unterminated_string = false;  // on this line
  char last = 0;                     // the last byte of code (not blank, comment or string) seen
  while (i < text.size()) {
    const char c = text[i];
    if (c == '#') {
      i = SkipComment(text, i);
      continue;
    }
    if (c == '"' || (c == 'r' && i + 1 < text.size() && text[i + 1] == '"' && (i == 0 || !IsIdentChar(text[i - 1])))) {
      bool terminated = false;
      i = SkipString(text, i + (c == 'r' ? 2 : 1), c == '"', terminated);
      unterminated_string = unterminated_string || !terminated;
      last = '"';
      continue;
    }
    if (c == '(' || c == '[' || c == '{') brackets.push_back(c);
    if ((c == ')' || c == ']' || c == '}') && !brackets.empty()) brackets.pop_back();
    // A ';' ends a statement anywhere but inside a block, where it ends a 'let'.
    if (c == ';' && std::find(brackets.begin(), brackets.end(), '{') == brackets.end()) return i + 1;
    if (c == '\n') {
      // An unterminated string most likely swallowed the closing brackets
      // of its own line: count those as closed.
      if (unterminated_string && brackets.size() > line_brackets) brackets.resize(line_brackets);
      unterminated_string = false;
      line_brackets = brackets.size();
      if (StartsWithWord(text, i + 1, "let") || StartsWithWord(text, i + 1, "stage")) return i + 1;
      if (brackets.empty() && last != '|' && last != ',' && !NextLineStartsWithPipe(text, i + 1)) return i + 1;
    } else if (!IsBlank(c)) {
      last = c;
    }
    ++i;
  }
  return text.size();
}

}  // namespace

std::optional<size_t> FirstInvalidUtf8(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t cp;
    uint32_t min;
    if ((c & 0xE0) == 0xC0) {
      length = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return i;
    }
    if (n - i < length) return i;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (next & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += length;
  }
  return std::nullopt;
}

size_t StatementEnd(std::string_view text, size_t start, size_t error) {
  size_t end = ScanStatement(text, start);
  // The scan stopped before the error (a 'let' line cut an unclosed
  // bracket short, and the parser went on into it): resume after the line
  // of the error instead. When the error is at that 'let' itself, the 'let'
  // is a statement of its own.
  if (end < error && error < text.size()) end = ScanStatement(text, error);
  if (end <= start) end = start + 1;
  return end;
}

}  // namespace flow::grammar
