#include "compiler/graph_format.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "compiler/stage_text.h"
#include "tests/compiler/hand_graph.h"

namespace flow {
namespace {

using testing::HandGraph;
using testing::Str;

// merge(seq(10), lines("a\"b") | map * 3) | tee(filter | write("a.txt")) | write("-")
HandGraph TeeAndMerge() {
  HandGraph g;
  int seq = g.Add("seq", "seq", 1, {{"to", Value::Int(10)}});
  int lines = g.Add("lines", "lines", 1, {{"s", Str("a\"b")}});
  int map = g.Add("map", "map", 3);
  int merge = g.Add("merge", "merge");
  int tee = g.Add("tee", "tee");
  int filter = g.Add("filter", "filter");
  int write = g.Add("write", "write", 1, {{"path", Str("a.txt")}});
  int write_2 = g.Add("write", "write_2", 1, {{"path", Str("-")}});
  g.Connect(lines, map);
  g.Connect(seq, merge);
  g.Connect(map, merge);
  g.Connect(merge, tee);
  g.Connect(tee, write_2);
  g.Connect(tee, filter);
  g.Connect(filter, write);
  return g;
}

// read(path) | write("-"): for the escaping of an awkward path.
HandGraph ReadPath(const std::string& path) {
  HandGraph g;
  int read = g.Add("read", "read", 1, {{"path", Value::Str(path)}});
  int write = g.Add("write", "write", 1, {{"path", Str("-")}});
  g.Connect(read, write);
  return g;
}

bool HaveDot() { return std::system("command -v dot >/dev/null 2>&1") == 0; }

// Runs `dot -Tsvg` on `text`; true when it renders without a word on stderr.
bool DotRenders(const std::string& text) {
  char path[] = "/tmp/flowrun_graph_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << text;
  std::string errors = std::string(path) + ".err";
  std::string command = std::string("dot -Tsvg -o /dev/null ") + path + " 2>" + errors;
  bool ok = std::system(command.c_str()) == 0;
  std::ifstream err(errors);
  std::string first_line;
  if (std::getline(err, first_line)) {
    MESSAGE("dot: " << first_line);
    ok = false;
  }
  std::remove(path);
  std::remove(errors.c_str());
  return ok;
}

TEST_SUITE("graph_format") {
  TEST_CASE("format names") {
    CHECK(ParseGraphFormat("text") == GraphFormat::kText);
    CHECK(ParseGraphFormat("dot") == GraphFormat::kDot);
    CHECK(ParseGraphFormat("mermaid") == GraphFormat::kMermaid);
    CHECK_FALSE(ParseGraphFormat("svg").has_value());
    CHECK_FALSE(ParseGraphFormat("").has_value());
  }

  TEST_CASE("text: a linear pipeline reads as it is written") {
    CHECK(FormatGraph(testing::WhoisExample().graph, GraphFormat::kText) == R"x(read("examples/data/access.log")
  | map
  | distinct
  | whois("127.0.0.1:4343") × 12 [ordered, timeout=5s]
  | count_by(fs="\t")
  | sort
  | write("-")
)x");
  }

  TEST_CASE("text: tee branches indent, merges are their own pipeline") {
    CHECK(FormatGraph(TeeAndMerge().graph, GraphFormat::kText) == R"x(seq
  → merge
lines("a\"b")
  | map × 3
  → merge
merge
  | tee
  |   | filter
  |   | write("a.txt")
  | write_2("-")
)x");
  }

  TEST_CASE("dot") {
    CHECK(FormatGraph(testing::WhoisExample().graph, GraphFormat::kDot) == R"x(digraph flow {
  rankdir=LR;
  node [shape=box, fontname="Helvetica"];
  edge [fontname="Helvetica", fontsize=10];
  n0 [label="read(\"examples/data/access.log\")", style=rounded];
  n1 [label="map"];
  n2 [label="distinct"];
  n3 [label="whois(\"127.0.0.1:4343\") × 12\n[ordered, timeout=5s]", shape=box3d];
  n4 [label="count_by(fs=\"\\t\")"];
  n5 [label="sort"];
  n6 [label="write(\"-\")", style=rounded];
  n0 -> n1 [label="8,192 rec / 4 MiB"];
  n1 -> n2 [label="8,192 rec / 4 MiB"];
  n2 -> n3 [label="8,192 rec / 4 MiB"];
  n3 -> n4 [label="1,024 rec / 16 MiB"];
  n4 -> n5 [label="8,192 rec / 4 MiB"];
  n5 -> n6 [label="8,192 rec / 4 MiB"];
}
)x");
    // Tee and merge have shapes of their own; a replicated stage is a 3-D box.
    CHECK(FormatGraph(TeeAndMerge().graph, GraphFormat::kDot) == R"x(digraph flow {
  rankdir=LR;
  node [shape=box, fontname="Helvetica"];
  edge [fontname="Helvetica", fontsize=10];
  n0 [label="seq", style=rounded];
  n1 [label="lines(\"a\\\"b\")", style=rounded];
  n2 [label="map × 3", shape=box3d];
  n3 [label="merge", shape=invtrapezium];
  n4 [label="tee", shape=trapezium];
  n5 [label="filter"];
  n6 [label="write(\"a.txt\")", style=rounded];
  n7 [label="write_2(\"-\")", style=rounded];
  n1 -> n2 [label="8,192 rec / 4 MiB"];
  n0 -> n3 [label="8,192 rec / 4 MiB"];
  n2 -> n3 [label="8,192 rec / 4 MiB"];
  n3 -> n4 [label="8,192 rec / 4 MiB"];
  n4 -> n7 [label="8,192 rec / 4 MiB"];
  n4 -> n5 [label="8,192 rec / 4 MiB"];
  n5 -> n6 [label="8,192 rec / 4 MiB"];
}
)x");
  }

  TEST_CASE("mermaid") {
    CHECK(FormatGraph(testing::WhoisExample().graph, GraphFormat::kMermaid) == R"x(flowchart LR
  n0(["read(#quot;examples/data/access.log#quot;)"])
  n1["map"]
  n2["distinct"]
  n3[["whois(#quot;127.0.0.1:4343#quot;) × 12 [ordered, timeout=5s]"]]
  n4["count_by(fs=#quot;\t#quot;)"]
  n5["sort"]
  n6(["write(#quot;-#quot;)"])
  n0 -->|"8,192 rec / 4 MiB"| n1
  n1 -->|"8,192 rec / 4 MiB"| n2
  n2 -->|"8,192 rec / 4 MiB"| n3
  n3 -->|"1,024 rec / 16 MiB"| n4
  n4 -->|"8,192 rec / 4 MiB"| n5
  n5 -->|"8,192 rec / 4 MiB"| n6
)x");
    CHECK(FormatGraph(TeeAndMerge().graph, GraphFormat::kMermaid) == R"x(flowchart LR
  n0(["seq"])
  n1(["lines(#quot;a\#quot;b#quot;)"])
  n2[["map × 3"]]
  n3[\"merge"/]
  n4[/"tee"\]
  n5["filter"]
  n6(["write(#quot;a.txt#quot;)"])
  n7(["write_2(#quot;-#quot;)"])
  n1 -->|"8,192 rec / 4 MiB"| n2
  n0 -->|"8,192 rec / 4 MiB"| n3
  n2 -->|"8,192 rec / 4 MiB"| n3
  n3 -->|"8,192 rec / 4 MiB"| n4
  n4 -->|"8,192 rec / 4 MiB"| n7
  n4 -->|"8,192 rec / 4 MiB"| n5
  n5 -->|"8,192 rec / 4 MiB"| n6
)x");
  }

  TEST_CASE("quotes, backslashes and control bytes are escaped in every format") {
    HandGraph g = ReadPath("C:\\logs\\\"x\".log\n");
    CHECK(FormatGraph(g.graph, GraphFormat::kText) == R"x(read("C:\\logs\\\"x\".log\n")
  | write("-")
)x");
    std::string dot = FormatGraph(g.graph, GraphFormat::kDot);
    CHECK(dot.substr(dot.find("  n0"), dot.find("  n1") - dot.find("  n0")) ==
          R"x(  n0 [label="read(\"C:\\\\logs\\\\\\\"x\\\".log\\n\")", style=rounded];
)x");
    // Mermaid takes no backslash escapes: only `"` (and `#`, `<`, `>`, `&`, backticks) need entity codes.
    std::string mermaid = FormatGraph(g.graph, GraphFormat::kMermaid);
    CHECK(mermaid.substr(mermaid.find("  n0"), mermaid.find("  n1") - mermaid.find("  n0")) ==
          R"x(  n0(["read(#quot;C:\\logs\\\#quot;x\#quot;.log\n#quot;)"])
)x");
    HandGraph html = ReadPath("<b>#1 & `x`</b>");
    CHECK(FormatGraph(html.graph, GraphFormat::kMermaid).find(
              "n0([\"read(#quot;#lt;b#gt;#35;1 #amp; #96;x#96;#lt;/b#gt;#quot;)\"])") != std::string::npos);
  }

  TEST_CASE("a long argument is cut at a character boundary") {
    CHECK(QuoteText("abc", 3) == "\"abc\"");
    CHECK(QuoteText("abcd", 3) == "\"abc…\"");
    CHECK(QuoteText("ab\xC3\xA9", 3) == "\"ab…\"");
    CHECK(QuoteText("\xC3\xA9t\xC3\xA9", 10) == "\"\xC3\xA9t\xC3\xA9\"");
    CHECK(QuoteText(std::string("\x01\x7F\0\xFF\xC3", 5), 10) == "\"\\x01\\x7F\\0\\xFF\\xC3\"");
    CHECK(QuoteText("\xED\xA0\x80", 10) == "\"\\xED\\xA0\\x80\"");  // a surrogate is not UTF-8
    HandGraph g = ReadPath("logs/2024/very/deep/directory/with/many/files/*.log.gz");
    CHECK(FormatGraph(g.graph, GraphFormat::kText) == R"x(read("logs/2024/very/deep/directory/wi…")
  | write("-")
)x");
  }

  TEST_CASE("a cycle is drawn once, not followed forever") {
    HandGraph g;
    int map = g.Add("map", "map");
    int filter = g.Add("filter", "filter");
    g.Connect(map, filter);
    g.Connect(filter, map);
    CHECK(FormatGraph(g.graph, GraphFormat::kText) == "map\n  | filter\n  → map\n");
  }

  TEST_CASE("an empty graph") {
    StageGraph empty;
    CHECK(FormatGraph(empty, GraphFormat::kText) == "");
    CHECK(FormatGraph(empty, GraphFormat::kDot) == "digraph flow {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n}\n");
    CHECK(FormatGraph(empty, GraphFormat::kMermaid) == "flowchart LR\n");
  }

  TEST_CASE("dot renders every graph here") {
    if (!HaveDot()) {
      MESSAGE("skipped: graphviz's dot is not installed");
      return;
    }
    CHECK(DotRenders(FormatGraph(testing::WhoisExample().graph, GraphFormat::kDot)));
    CHECK(DotRenders(FormatGraph(TeeAndMerge().graph, GraphFormat::kDot)));
    CHECK(DotRenders(FormatGraph(ReadPath("C:\\logs\\\"x\".log\n\xFF").graph, GraphFormat::kDot)));
  }
}

}  // namespace
}  // namespace flow
