#include "compiler/diagnostics.h"

#include <algorithm>

namespace flow {

void DiagnosticSink::Error(SourceLoc loc, std::string message) {
  diagnostics_.push_back({Severity::kError, loc, std::move(message)});
  ++error_count_;
}

void DiagnosticSink::Warning(SourceLoc loc, std::string message) {
  diagnostics_.push_back({Severity::kWarning, loc, std::move(message)});
}

void DiagnosticSink::Note(SourceLoc loc, std::string message) {
  diagnostics_.push_back({Severity::kNote, loc, std::move(message)});
}

namespace {

// The length of the valid UTF-8 sequence at the start of `text`, or 0.
size_t Utf8SequenceLength(std::string_view text) {
  unsigned char lead = static_cast<unsigned char>(text[0]);
  size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xe ? 3 : (lead >> 3) == 0x1e ? 4 : 0;
  if (length == 0 || length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) return 0;
  return length;
}

// The source line as a terminal may show it: control bytes (binary garbage,
// a stray NUL) and bytes that are not UTF-8 become '?', which would
// otherwise garble the terminal.
std::string PrintableLine(std::string_view line) {
  std::string out;
  for (size_t i = 0; i < line.size();) {
    size_t length = Utf8SequenceLength(line.substr(i));
    unsigned char byte = static_cast<unsigned char>(line[i]);
    if (length == 0 || (length == 1 && ((byte < 0x20 && byte != '\t') || byte == 0x7f))) {
      out += '?';
      ++i;
    } else {
      out.append(line.substr(i, length));
      i += length;
    }
  }
  return out;
}

std::string CaretPadding(std::string_view before_caret) {
  std::string out;
  for (size_t i = 0; i < before_caret.size();) {
    out += before_caret[i] == '\t' ? '\t' : ' ';
    size_t length = Utf8SequenceLength(before_caret.substr(i));
    i += length == 0 ? 1 : length;
  }
  return out;
}

}  // namespace

std::string DiagnosticSink::Render(const SourceFile* file, const Diagnostic& d) {
  static const char* const kNames[] = {"error", "warning", "note"};
  std::string out = file ? file->path() : std::string("flowrun");
  if (d.loc.known()) out += ":" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column);
  out += ": ";
  out += kNames[static_cast<int>(d.severity)];
  out += ": " + d.message + "\n";
  if (file && d.loc.known()) {
    std::string_view line = file->Line(d.loc.line);
    // Very long lines (a 10 MB one-liner) are cut around the caret so the
    // diagnostic stays readable.
    constexpr size_t kMaxShown = 160;
    size_t caret = d.loc.column - 1;
    size_t begin = 0;
    if (line.size() > kMaxShown && caret > kMaxShown / 2) begin = caret - kMaxShown / 2;
    std::string_view shown = line.substr(std::min(begin, line.size()), kMaxShown);
    out += "  ";
    out += PrintableLine(shown);
    out += "\n  ";
    // One pad per character (not per byte) before the caret, a tab for a
    // tab, so the caret sits under the column in a terminal.
    out += CaretPadding(line.substr(std::min(begin, line.size()), caret - std::min(caret, begin)));
    out += "^\n";
  }
  return out;
}

std::string DiagnosticSink::Render() const {
  std::string out;
  for (const Diagnostic& d : diagnostics_) out += Render(file_, d);
  return out;
}

namespace {

// Optimal string alignment distance: insertions, deletions, substitutions,
// and a swap of two neighbouring letters ("whios" for "whois") as one edit.
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string NearestName(const std::string& name, const std::vector<std::string>& candidates) {
  // Allow about one typo per three characters, at least one, at most three.
  size_t allowed = std::clamp<size_t>(name.size() / 3, 1, 3);
  std::string best;
  size_t best_distance = allowed + 1;
  for (const std::string& candidate : candidates) {
    if (candidate == name) continue;
    size_t d = EditDistance(name, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

}  // namespace flow
