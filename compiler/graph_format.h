// `flowrun graph`: the StageGraph drawn as text, Graphviz DOT or Mermaid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "compiler/stage_graph.h"

namespace flow {

enum class GraphFormat : uint8_t {
  kText,     // the pipelines as written, one stage per line, tee branches indented
  kDot,      // a Graphviz digraph, for `dot -Tsvg`
  kMermaid,  // a Mermaid flowchart, for Markdown that renders it
};

// "text", "dot", "mermaid"; nullopt for any other name.
std::optional<GraphFormat> ParseGraphFormat(std::string_view name);

// Every stage is shown by its label, its first string argument (quoted and
// cut short), its replica count ("× 12") and the options that differ from
// their defaults; DOT and Mermaid also label each queue with its capacity
// ("8,192 rec / 4 MiB") and give tee, merge, sources and sinks, and
// replicated stages their own shapes.
std::string FormatGraph(const StageGraph& graph, GraphFormat format);

}  // namespace flow
