// Helpers shared by the parser's tests: parse a text, get its dump and its
// rendered diagnostics.
#pragma once

#include <string>

#include "compiler/ast_dump.h"
#include "compiler/diagnostics.h"
#include "compiler/source.h"
#include "grammar/parser.h"

namespace flow::testing {

struct ParseResult {
  std::string dump;         // DumpProgram of what was parsed
  std::string diagnostics;  // DiagnosticSink::Render()
  int errors = 0;
};

inline ParseResult ParseText(std::string text, bool locations = false) {
  SourceFile file("t.flow", std::move(text));
  DiagnosticSink sink(&file);
  Program program = ParseProgram(file, sink);
  return {DumpProgram(program, DumpOptions{locations}), sink.Render(), sink.error_count()};
}

// The dump of a program that must parse without a diagnostic (else the
// diagnostics, so a failing CHECK shows them).
inline std::string Dump(std::string text) {
  ParseResult r = ParseText(std::move(text));
  return r.diagnostics.empty() ? r.dump : r.diagnostics;
}

// The dump of one expression, parsed as the value of a `let`.
inline std::string DumpOf(const std::string& expr) {
  std::string dump = Dump("let x = " + expr);
  const std::string prefix = "(program (let x ";
  if (dump.rfind(prefix, 0) != 0) return dump;
  return dump.substr(prefix.size(), dump.size() - prefix.size() - 2);
}

// The rendered diagnostics of a program.
inline std::string Errors(std::string text) { return ParseText(std::move(text)).diagnostics; }

}  // namespace flow::testing
