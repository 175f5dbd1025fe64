#include "compiler/graph_format.h"

#include <functional>
#include <queue>
#include <vector>

#include <fmt/format.h>

#include "compiler/stage_text.h"

namespace flow {

std::optional<GraphFormat> ParseGraphFormat(std::string_view name) {
  if (name == "text") return GraphFormat::kText;
  if (name == "dot") return GraphFormat::kDot;
  if (name == "mermaid") return GraphFormat::kMermaid;
  return std::nullopt;
}

namespace {

// A string argument in a drawing is cut here: enough to tell files apart.
constexpr size_t kShownStringBytes = 32;

bool ValidEdge(const StageGraph& graph, int edge) {
  if (edge < 0 || static_cast<size_t>(edge) >= graph.edges.size()) return false;
  const QueueEdge& e = graph.edges[edge];
  int nodes = static_cast<int>(graph.nodes.size());
  return e.from >= 0 && e.from < nodes && e.to >= 0 && e.to < nodes;
}

// `whois(server="10.0.0.1:43") × 12`.
std::string StageTitle(const StageNode& node) {
  std::string title = StageCallText(node, CallDetail::kFirstString, kShownStringBytes);
  if (node.replicas > 1 || node.replicas_auto) title += fmt::format(" × {}", node.replicas);
  if (node.replicas_auto) title += " (auto)";
  return title;
}

// "[ordered, timeout=5s]" or "".
std::string StageOptionsTag(const StageNode& node) {
  std::string options = StageOptionsText(node);
  return options.empty() ? "" : "[" + options + "]";
}

std::string CapacityText(const QueueEdge& edge) {
  return FormatCount(edge.capacity_records) + " rec / " + FormatBytes(edge.capacity_bytes);
}

enum class Shape { kPlain, kEndpoint, kReplicated, kTee, kMerge };

Shape ShapeOf(const StageNode& node) {
  if (node.name == "tee") return Shape::kTee;
  if (node.name == "merge") return Shape::kMerge;
  if (node.replicas > 1) return Shape::kReplicated;
  bool endpoint = node.signature != nullptr ? node.signature->kind != StageKind::kTransform
                                            : node.inputs.empty() || node.outputs.empty();
  return endpoint ? Shape::kEndpoint : Shape::kPlain;
}

// Node ids in a topological order, the smallest id first among those ready,
// so a merge comes after the pipelines that feed it; nodes on a cycle never
// become ready and are left out.
std::vector<int> TopologicalOrder(const StageGraph& graph) {
  std::vector<int> waiting(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    for (int e : graph.nodes[n].inputs)
      if (ValidEdge(graph, e)) ++waiting[n];
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    if (waiting[n] == 0) ready.push(static_cast<int>(n));
  std::vector<int> order;
  while (!ready.empty()) {
    int n = ready.top();
    ready.pop();
    order.push_back(n);
    for (int e : graph.nodes[n].outputs)
      if (ValidEdge(graph, e) && --waiting[graph.edges[e].to] == 0) ready.push(graph.edges[e].to);
  }
  return order;
}

// The text form reads like the source: each pipeline from its head (a source
// or a merge), one stage per line after "| ", a tee's branch indented under
// the tee, and "→ merge" where a pipeline flows into a stage with several
// inputs (printed once, as the head of its own pipeline).
class TextWriter {
 public:
  explicit TextWriter(const StageGraph& graph) : graph_(graph), printed_(graph.nodes.size(), false) {}

  std::string Write() {
    for (int n : TopologicalOrder(graph_))
      if (!printed_[n] && graph_.nodes[n].inputs.size() != 1) Head(n);
    // Whatever is left hangs off a cycle.
    for (size_t n = 0; n < graph_.nodes.size(); ++n)
      if (!printed_[n]) Head(static_cast<int>(n));
    return out_;
  }

 private:
  static std::string LineText(const StageNode& node) {
    std::string tag = StageOptionsTag(node);
    return tag.empty() ? StageTitle(node) : StageTitle(node) + " " + tag;
  }

  void Head(int n) {
    printed_[n] = true;
    out_ += LineText(graph_.nodes[n]) + "\n";
    Follow(n, "  ");
  }

  // Prints what comes after node `n`, already printed: branches first (as
  // they are written, inside the tee's parentheses), then the main line.
  void Follow(int n, const std::string& prefix) {
    while (true) {
      std::vector<int> outputs;
      for (int e : graph_.nodes[n].outputs)
        if (ValidEdge(graph_, e)) outputs.push_back(e);
      if (outputs.empty()) return;
      for (size_t b = 1; b < outputs.size(); ++b)
        if (int next = graph_.edges[outputs[b]].to; Step(next, prefix + "|   ")) Follow(next, prefix + "|   ");
      n = graph_.edges[outputs[0]].to;
      if (!Step(n, prefix)) return;
    }
  }

  // Prints node `n` as the next stage of a pipeline, or a reference to it
  // when it is printed elsewhere; true when its own outputs follow here.
  bool Step(int n, const std::string& prefix) {
    const StageNode& node = graph_.nodes[n];
    if (printed_[n] || node.inputs.size() != 1) {
      out_ += prefix + "→ " + node.label + "\n";
      return false;
    }
    printed_[n] = true;
    out_ += prefix + "| " + LineText(node) + "\n";
    return true;
  }

  const StageGraph& graph_;
  std::vector<bool> printed_;
  std::string out_;
};

// Inside a DOT double-quoted string only `"` and `\` are special (a
// backslash starts escapes like \n, so a literal one is doubled).
std::string DotEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string Dot(const StageGraph& graph) {
  std::string out =
      "digraph flow {\n"
      "  rankdir=LR;\n"
      "  node [shape=box, fontname=\"Helvetica\"];\n"
      "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  static const char* const kShapes[] = {"", ", style=rounded", ", shape=box3d", ", shape=trapezium",
                                        ", shape=invtrapezium"};
  for (const StageNode& node : graph.nodes) {
    std::string label = DotEscape(StageTitle(node));
    std::string tag = StageOptionsTag(node);
    if (!tag.empty()) label += "\\n" + DotEscape(tag);
    out += fmt::format("  n{} [label=\"{}\"{}];\n", node.id, label, kShapes[static_cast<int>(ShapeOf(node))]);
  }
  for (const QueueEdge& edge : graph.edges)
    if (ValidEdge(graph, edge.id))
      out += fmt::format("  n{} -> n{} [label=\"{}\"];\n", edge.from, edge.to, DotEscape(CapacityText(edge)));
  return out + "}\n";
}

// Inside a Mermaid "quoted" label, `"` ends the label and `#…;` is an entity
// code; `<`, `>` and `&` would be read as HTML and a backtick as Markdown,
// so all of them are written as entity codes.
std::string MermaidEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '"': out += "#quot;"; break;
      case '#': out += "#35;"; break;
      case '<': out += "#lt;"; break;
      case '>': out += "#gt;"; break;
      case '&': out += "#amp;"; break;
      case '`': out += "#96;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Mermaid(const StageGraph& graph) {
  // Opening and closing brackets of each shape, around a quoted label.
  static const char* const kShapes[][2] = {{"[\"", "\"]"}, {"([\"", "\"])"}, {"[[\"", "\"]]"},
                                           {"[/\"", "\"\\]"}, {"[\\\"", "\"/]"}};
  std::string out = "flowchart LR\n";
  for (const StageNode& node : graph.nodes) {
    std::string label = StageTitle(node);
    std::string tag = StageOptionsTag(node);
    if (!tag.empty()) label += " " + tag;
    const auto& shape = kShapes[static_cast<int>(ShapeOf(node))];
    out += fmt::format("  n{}{}{}{}\n", node.id, shape[0], MermaidEscape(label), shape[1]);
  }
  for (const QueueEdge& edge : graph.edges)
    if (ValidEdge(graph, edge.id))
      out += fmt::format("  n{} -->|\"{}\"| n{}\n", edge.from, MermaidEscape(CapacityText(edge)), edge.to);
  return out;
}

}  // namespace

std::string FormatGraph(const StageGraph& graph, GraphFormat format) {
  switch (format) {
    case GraphFormat::kText: return TextWriter(graph).Write();
    case GraphFormat::kDot: return Dot(graph);
    case GraphFormat::kMermaid: return Mermaid(graph);
  }
  return "";
}

}  // namespace flow
