// How stages, counts and sizes read in `check`, `graph` and their diagnostics,
// so the plan, the graph drawings and the refusals all say things one way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/stage_graph.h"

namespace flow {

// 1000003 -> "1,000,003".
std::string FormatCount(int64_t n);
// A size for people: "512 B", "16 MiB", "23.1 GiB" (binary units, one
// decimal when the value is not whole, never "1024 MiB").
std::string FormatBytes(int64_t bytes);
// "1 end marker", "4 end markers", "2 child processes": `count` and `noun`,
// plural unless 1.
std::string CountOf(int64_t count, const std::string& noun);

// `text` as a flow string literal: quoted, `"` `\` and control bytes escaped,
// cut to `max_bytes` of the original text (at a UTF-8 boundary) with "…".
std::string QuoteText(std::string_view text, size_t max_bytes);

enum class CallDetail : uint8_t {
  kFirstString,  // the first string argument that is not its default: read("x.log")
  kAllArgs,      // every argument that is not its default
};
// The arguments that `detail` selects, "name=value" joined by ", "; with
// `positional_first`, a required first parameter is shown unnamed, as it is
// written: read("x.log"). Strings are quoted and cut to `max_string_bytes`.
std::string StageArgsText(const StageNode& node, CallDetail detail, size_t max_string_bytes,
                          bool positional_first);
// The stage as a call, its label and StageArgsText with `positional_first`:
// `read("x.log")`, `sort(key=2, numeric=true)`, `map`.
std::string StageCallText(const StageNode& node, CallDetail detail, size_t max_string_bytes);
// The options that differ from their defaults, as written in source
// without brackets: "ordered, retries=3, timeout=5s"; "" when none.
std::string StageOptionsText(const StageNode& node);
// The names of the node's instances: "read#1", "whois#1..12".
std::string InstanceRange(const StageNode& node);

// Rows of cells laid out in aligned columns, each line starting with
// `indent` spaces. `align` has one letter per column, 'l' or 'r'; trailing
// blanks are trimmed. Widths count UTF-8 characters, not bytes.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows, std::string_view align,
                        int indent);

}  // namespace flow
