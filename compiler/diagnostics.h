// The one sink every pass reports into, so a run shows every error at once.
#pragma once

#include <string>
#include <vector>

#include "compiler/source.h"

namespace flow {

enum class Severity { kError, kWarning, kNote };

struct Diagnostic {
  Severity severity;
  SourceLoc loc;  // loc.known() == false: about the file as a whole
  std::string message;
};

class DiagnosticSink {
 public:
  explicit DiagnosticSink(const SourceFile* file) : file_(file) {}

  void Error(SourceLoc loc, std::string message);
  void Warning(SourceLoc loc, std::string message);
  void Note(SourceLoc loc, std::string message);

  bool has_errors() const { return error_count_ > 0; }
  int error_count() const { return error_count_; }
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  const SourceFile* file() const { return file_; }

  // Every diagnostic in the compiler's form:
  //   file.flow:3:17: error: message
  //     the source line
  //                   ^
  std::string Render() const;
  static std::string Render(const SourceFile* file, const Diagnostic& d);

 private:
  const SourceFile* file_;
  std::vector<Diagnostic> diagnostics_;
  int error_count_ = 0;
};

// "did you mean 'x'?": the candidate nearest to `name` by edit distance, or
// "" when none is near enough to be a plausible typo.
std::string NearestName(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace flow
