// Runs the parser and the checker on program text, for the checker's tests:
// the diagnostics come back as "line:col: error: message" lines, so a test
// pins both the text and the place.
#pragma once

#include <optional>
#include <string>

#include "compiler/checker.h"
#include "grammar/parser.h"

namespace flow::checktest {

struct Checked {
  std::optional<StageGraph> graph;
  std::string diagnostics;
  Program program;  // as the checker left it (annotated in place)
};

inline Checked Check(const std::string& text, CheckOptions options = {}) {
  SourceFile file("t.flow", text);
  DiagnosticSink sink(&file);
  Checked result;
  result.program = ParseProgram(file, sink);
  if (!options.getenv) options.getenv = [](const std::string&) { return std::optional<std::string>(); };
  result.graph = CheckProgram(result.program, options, sink);
  static const char* const kSeverity[] = {"error", "warning", "note"};
  for (const Diagnostic& d : sink.diagnostics()) {
    if (d.loc.known()) result.diagnostics += std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column) + ": ";
    result.diagnostics += std::string(kSeverity[static_cast<int>(d.severity)]) + ": " + d.message + "\n";
  }
  return result;
}

// "line:col" of the `nth` occurrence (from 0) of `needle` in `text`.
inline std::string At(const std::string& text, const std::string& needle, int nth = 0) {
  size_t pos = text.find(needle);
  for (int i = 0; i < nth && pos != std::string::npos; ++i) pos = text.find(needle, pos + 1);
  if (pos == std::string::npos) return "?:?";
  size_t line = 1, column = 1;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

// One error diagnostic line at the `nth` occurrence of `needle`.
inline std::string ErrorAt(const std::string& text, const std::string& needle, const std::string& message,
                           int nth = 0) {
  return At(text, needle, nth) + ": error: " + message + "\n";
}

}  // namespace flow::checktest
