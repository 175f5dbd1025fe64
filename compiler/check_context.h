// State every pass of the checker shares: where diagnostics go, the inputs
// of constant folding (`-p` and the environment), and which `-p` were read.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "compiler/checker.h"
#include "compiler/diagnostics.h"

namespace flow {

class CheckContext {
 public:
  CheckContext(DiagnosticSink& sink, const CheckOptions& options) : sink_(sink), options_(options) {}

  // A defined stage is checked once per use, so the same mistake in its body
  // would otherwise be reported once per use: identical diagnostics (same
  // place, same text) are reported once.
  void Error(SourceLoc loc, std::string message) {
    ++errors_seen_;
    if (reported_.insert({loc.offset, loc.line, message}).second) sink_.Error(loc, std::move(message));
  }
  void Warning(SourceLoc loc, std::string message) {
    if (reported_.insert({loc.offset, loc.line, message}).second) sink_.Warning(loc, std::move(message));
  }

  // Every error met so far, repeats included: a pass compares it before and
  // after a piece of work to learn whether that work found an error.
  int errors_seen() const { return errors_seen_; }

  const CheckOptions& options() const { return options_; }
  const SourceFile* file() const { return sink_.file(); }

  void NoteParamRead(const std::string& name) { params_read_.insert(name); }
  bool ParamWasRead(const std::string& name) const { return params_read_.count(name) > 0; }

 private:
  DiagnosticSink& sink_;
  const CheckOptions& options_;
  std::set<std::tuple<uint32_t, uint32_t, std::string>> reported_;
  std::set<std::string> params_read_;
  int errors_seen_ = 0;
};

// "; did you mean 'x'?" for the candidate nearest to `name`, or "".
// NearestName counts a swap of two neighbouring letters ("whios") as two
// edits, too many for a short name; a name one such swap away from a
// candidate is suggested too.
std::string DidYouMean(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace flow
