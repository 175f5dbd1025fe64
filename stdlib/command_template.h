// exec's command template: how `exec("cmd {}")` turns a record into the
// command line that runs for it.
//
// Placeholders, as GNU parallel writes them:
//   {}    the whole record, shell-quoted;
//   {N}   field N (N >= 1, awk's default split: runs of spaces and tabs),
//         shell-quoted; a field past the last is '' ({0} is the record).
// Every other brace is literal text, so shell code such as
// `awk '{print $1}'` needs no escaping. There is no `{{` escape (GNU parallel
// has none either): a literal `{}` is written `{''}`, which is no
// placeholder here and which the shell turns into `{}`.
// A template with no placeholder at all gets ` {}` appended, as GNU parallel
// does: `exec("wc -c")` runs `wc -c 'record'`.
//
// The command runs as `/bin/sh -c TEXT`, TEXT the template with each
// placeholder replaced by its quoted value. When the template is only plain
// words and placeholders (no quotes, `$`, redirections, globs, ... see
// IsShellSyntax in the .cc), the shell would do nothing but split words and
// look the program up in PATH, so the command is started directly with the
// same argv instead, which is faster by a process. The one visible
// difference: `echo` is then the echo program, not dash's builtin that
// interprets backslashes (GNU parallel, running bash, and xargs give the same
// as the program). Words that name a shell builtin with no program behind it
// (`cd`, `exit`, `export`, ...) always go through the shell.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/fields.h"

namespace flow {

// Appends `value` quoted for /bin/sh: between single quotes, each `'`
// written as `'\''`; "" gives `''`.
void AppendShellQuoted(std::string_view value, std::string* out);

class CommandTemplate {
 public:
  // Parses `text`; false and `*error` set when it is unusable (empty).
  bool Parse(std::string_view text, std::string* error);

  // True when commands start without a shell (see above).
  bool direct() const { return direct_; }
  // direct(): the program's name, as written (its first word).
  const std::string& program() const { return words_.front().front().text; }

  // The argv that runs the command for `record`: the program's words when
  // direct(), else {"/bin/sh", "-c", TEXT}. False and `*error` set when a
  // substituted value holds a NUL byte, which no command line can carry.
  bool Expand(std::string_view record, std::vector<std::string>* argv, std::string* error);

 private:
  struct Piece {
    enum class Kind : uint8_t { kText, kField } kind = Kind::kText;
    std::string text;   // kText
    int64_t field = 0;  // kField: 0 is the whole record
  };
  using Pieces = std::vector<Piece>;

  bool AppendValue(const Piece& piece, bool quoted, std::string* out, std::string* error);

  Pieces pieces_;             // the whole template, for the shell text
  std::vector<Pieces> words_;  // direct(): one entry per argv word
  bool direct_ = false;
  FieldSplitter splitter_{std::string_view()};
};

}  // namespace flow
