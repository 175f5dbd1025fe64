#include "stdlib/command_template.h"

#include <algorithm>
#include <iterator>

namespace flow {
namespace {

// A field number past this is past every field of any record below 4 GiB,
// so bigger ones saturate here instead of overflowing.
constexpr int64_t kFieldLimit = int64_t{1} << 40;

// Bytes that make sh do more than split words on blanks: quoting,
// expansions, redirections, operators, globs, comments, braces and
// newlines. A template containing one goes through the shell.
bool IsShellSyntax(char c) {
  switch (c) {
    case '|': case '&': case ';': case '<': case '>': case '(': case ')':
    case '$': case '`': case '\\': case '"': case '\'':
    case '*': case '?': case '[': case ']': case '#': case '~': case '!':
    case '{': case '}': case '\n':
      return true;
    default:
      return false;
  }
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Command words that sh handles itself with no program of the same
// behaviour behind them (reserved words, special and state-changing
// builtins): started directly they would fail or do something else.
bool IsShellOnlyWord(std::string_view word) {
  static constexpr std::string_view kWords[] = {
      ".",      ":",        "alias",  "bg",      "break",   "case",   "cd",    "command", "continue", "do",
      "done",   "elif",     "else",   "esac",    "eval",    "exec",   "exit",  "export",  "fc",       "fg",
      "fi",     "for",      "function", "getopts", "hash",  "if",     "in",    "jobs",    "local",    "read",
      "readonly", "return", "select", "set",     "shift",   "then",   "times", "trap",    "type",     "ulimit",
      "umask",  "unalias",  "unset",  "until",   "wait",    "while"};
  return std::find(std::begin(kWords), std::end(kWords), word) != std::end(kWords);
}

// `{}` or `{N}` at `text[at]`: its field number (0 for the whole record)
// and its length; false when `text[at]` starts no placeholder.
bool ReadPlaceholder(std::string_view text, size_t at, int64_t* field, size_t* length) {
  if (text[at] != '{') return false;
  int64_t n = 0;
  size_t i = at + 1;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    n = std::min(kFieldLimit, n * 10 + (text[i] - '0'));
    ++i;
  }
  if (i >= text.size() || text[i] != '}') return false;
  *field = n;
  *length = i + 1 - at;
  return true;
}

}  // namespace

void AppendShellQuoted(std::string_view value, std::string* out) {
  out->push_back('\'');
  for (char c : value) {
    if (c == '\'') {
      out->append("'\\''");
    } else {
      out->push_back(c);
    }
  }
  out->push_back('\'');
}

bool CommandTemplate::Parse(std::string_view text, std::string* error) {
  pieces_.clear();
  words_.clear();
  direct_ = false;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    *error = "the command is empty";
    return false;
  }
  auto add_text = [this](std::string_view part) {
    if (pieces_.empty() || pieces_.back().kind != Piece::Kind::kText) pieces_.emplace_back();
    pieces_.back().text.append(part);
  };
  bool any_placeholder = false;
  for (size_t i = 0; i < text.size();) {
    int64_t field = 0;
    size_t length = 0;
    if (ReadPlaceholder(text, i, &field, &length)) {
      pieces_.push_back(Piece{Piece::Kind::kField, "", field});
      any_placeholder = true;
      i += length;
    } else {
      add_text(text.substr(i, 1));
      ++i;
    }
  }
  if (!any_placeholder) {
    add_text(" ");
    pieces_.push_back(Piece{Piece::Kind::kField, "", 0});
  }

  // Direct only if the text splits into words on blanks alone and the
  // program is a plain name that is not the shell's own.
  std::vector<Pieces> words;
  bool in_word = false;
  for (const Piece& piece : pieces_) {
    if (piece.kind == Piece::Kind::kField) {
      if (!in_word) words.emplace_back();
      words.back().push_back(piece);
      in_word = true;
      continue;
    }
    for (char c : piece.text) {
      if (IsShellSyntax(c)) return true;
      if (IsBlank(c)) {
        in_word = false;
        continue;
      }
      if (!in_word) words.emplace_back();
      in_word = true;
      Pieces& word = words.back();
      if (word.empty() || word.back().kind != Piece::Kind::kText) word.emplace_back();
      word.back().text.push_back(c);
    }
  }
  const Pieces& program = words.front();
  if (program.size() != 1 || program[0].kind != Piece::Kind::kText) return true;
  // `NAME=value cmd` sets a variable for cmd: shell syntax too.
  if (program[0].text.find('=') != std::string::npos || IsShellOnlyWord(program[0].text)) return true;
  words_ = std::move(words);
  direct_ = true;
  return true;
}

bool CommandTemplate::AppendValue(const Piece& piece, bool quoted, std::string* out, std::string* error) {
  if (piece.kind == Piece::Kind::kText) {
    out->append(piece.text);
    return true;
  }
  std::string_view value = splitter_.Field(piece.field);
  if (value.find('\0') != std::string_view::npos) {
    *error = "the record holds a NUL byte, which a command line cannot carry";
    return false;
  }
  if (quoted) {
    AppendShellQuoted(value, out);
  } else {
    out->append(value);
  }
  return true;
}

bool CommandTemplate::Expand(std::string_view record, std::vector<std::string>* argv, std::string* error) {
  splitter_.Reset(record);
  if (direct_) {
    argv->resize(words_.size());
    for (size_t w = 0; w < words_.size(); ++w) {
      std::string& word = (*argv)[w];
      word.clear();
      for (const Piece& piece : words_[w])
        if (!AppendValue(piece, false, &word, error)) return false;
    }
    return true;
  }
  argv->resize(3);
  (*argv)[0] = "/bin/sh";
  (*argv)[1] = "-c";
  std::string& text = (*argv)[2];
  text.clear();
  for (const Piece& piece : pieces_)
    if (!AppendValue(piece, true, &text, error)) return false;
  return true;
}

}  // namespace flow
