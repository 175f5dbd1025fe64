// report: each format's exact text (quoting, escaping, ragged rows, empty
// input), JSON's treatment of bytes that are not UTF-8, streaming past the
// write buffer, and the sink's errors (a missing directory, a full
// device, an unknown format).
#include <string>
#include <vector>

#include "stdlib/report_format.h"
#include "stdlib/stages.h"
#include "tests/stdlib/sink_test_util.h"
#include "tests/stdlib/stage_test_util.h"

namespace flow {
namespace {

using stagetest::Outcome;
using stagetest::TempDir;

// What report(format, header) writes for `records`.
std::string Report(const std::string& format, bool header, const std::vector<std::string>& records) {
  TempDir dir;
  ReportSpec spec{"out", dir.File("out.tmp"), format, header};
  std::string error;
  std::unique_ptr<Stage> stage = MakeReportStage(spec, &error);
  INFO(error);
  REQUIRE(stage != nullptr);
  Outcome out = stagetest::Feed(*stage, records);
  REQUIRE(out.fatal == "");
  CHECK(out.records.empty());
  return stagetest::ReadFile(spec.temp_path);
}

std::string JsonString(std::string_view bytes) {
  std::string out;
  AppendJsonString(bytes, out);
  return out;
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("records split on every tab; an empty record has no fields") {
    using Fields = std::vector<std::string_view>;
    CHECK(SplitTabs("") == Fields{});
    CHECK(SplitTabs("a") == Fields{"a"});
    CHECK(SplitTabs("a\t\tb\t") == Fields{"a", "", "b", ""});
    CHECK(SplitTabs("\t") == Fields{"", ""});
  }

  TEST_CASE("tsv writes records as they are, one per line, binary-safe") {
    std::string binary("a\0\xff\tb", 5);
    CHECK(Report("tsv", false, {"a\tb", binary, "", "x,y"}) == "a\tb\n" + binary + "\n\nx,y\n");
    CHECK(Report("tsv", true, {"h1\th2", "1\t2"}) == "h1\th2\n1\t2\n");
    CHECK(Report("tsv", false, {}) == "");
  }

  TEST_CASE("csv quotes fields with a comma, a quote, CR or LF, and ends lines in CRLF") {
    CHECK(Report("csv", false, {"a\tb", "x,y\t\"q\"\tplain", "two\nlines\tcr\r", "", "\t", " sp ace "}) ==
          "a,b\r\n"
          "\"x,y\",\"\"\"q\"\"\",plain\r\n"
          "\"two\nlines\",\"cr\r\"\r\n"
          "\r\n"
          ",\r\n"
          " sp ace \r\n");
    CHECK(Report("csv", true, {"name\tn", "a\t1"}) == "name,n\r\na,1\r\n");
    CHECK(Report("csv", false, {}) == "");
  }

  TEST_CASE("json without a header: an array of arrays of strings, one row per line") {
    CHECK(Report("json", false, {"a\tb", "", "c", "\t"}) ==
          "[\n"
          "  [\"a\", \"b\"],\n"
          "  [],\n"
          "  [\"c\"],\n"
          "  [\"\", \"\"]\n"
          "]\n");
    CHECK(Report("json", false, {}) == "[]\n");
  }

  TEST_CASE("json with a header: objects; missing fields are \"\", extra ones are named by column number") {
    CHECK(Report("json", true, {"name\tcount", "a\t1", "b", "c\t3\textra\tmore", ""}) ==
          "[\n"
          "  {\"name\": \"a\", \"count\": \"1\"},\n"
          "  {\"name\": \"b\", \"count\": \"\"},\n"
          "  {\"name\": \"c\", \"count\": \"3\", \"3\": \"extra\", \"4\": \"more\"},\n"
          "  {\"name\": \"\", \"count\": \"\"}\n"
          "]\n");
    // The header alone, or nothing at all, is an empty array.
    CHECK(Report("json", true, {"name\tcount"}) == "[]\n");
    CHECK(Report("json", true, {}) == "[]\n");
    // A repeated name is a repeated key, written as it is.
    CHECK(Report("json", true, {"k\tk", "1\t2"}) == "[\n  {\"k\": \"1\", \"k\": \"2\"}\n]\n");
    // An empty header names no column.
    CHECK(Report("json", true, {"", "x\ty"}) == "[\n  {\"1\": \"x\", \"2\": \"y\"}\n]\n");
  }

  TEST_CASE("json escapes quotes, backslashes and control bytes") {
    CHECK(JsonString("plain") == "\"plain\"");
    CHECK(JsonString("q\"b\\s") == R"("q\"b\\s")");
    CHECK(JsonString("\b\f\n\r\t") == R"("\b\f\n\r\t")");
    CHECK(JsonString(std::string("\0\x01\x1f\x7f", 4)) == "\"\\u0000\\u0001\\u001f\x7f\"");
  }

  TEST_CASE("json keeps valid UTF-8 and writes every other byte as \\u00XX (Latin-1)") {
    CHECK(JsonString("é € 😀") == "\"é € 😀\"");
    CHECK(JsonString("\xff") == R"("\u00ff")");
    CHECK(JsonString("\xc3") == R"("\u00c3")");                // cut short at the end
    CHECK(JsonString("\xc3\xe2\x82\xac") == R"("\u00c3€")");   // cut short by another lead byte
    CHECK(JsonString("\xc0\xaf") == R"("\u00c0\u00af")");      // overlong '/'
    CHECK(JsonString("\xe0\x80\xaf") == R"("\u00e0\u0080\u00af")");  // overlong, 3 bytes
    CHECK(JsonString("\xed\xa0\x80") == R"("\u00ed\u00a0\u0080")");  // a surrogate
    CHECK(JsonString("\xf4\x90\x80\x80") == R"("\u00f4\u0090\u0080\u0080")");  // above U+10FFFF
    CHECK(JsonString("\xf4\x8f\xbf\xbf") == "\"\xf4\x8f\xbf\xbf\"");            // U+10FFFF itself
    CHECK(JsonString("a\x80z") == R"("a\u0080z")");
  }

  TEST_CASE("markdown without a header numbers the columns, as wide as the widest row") {
    CHECK(Report("markdown", false, {"a\tb", "c", "d\te\tf"}) ==
          "| 1 | 2 | 3 |\n"
          "| --- | --- | --- |\n"
          "| a | b |  |\n"
          "| c |  |  |\n"
          "| d | e | f |\n");
  }

  TEST_CASE("markdown with a header; a column it does not name gets its number") {
    CHECK(Report("markdown", true, {"name\tcount", "a\t1", "b\t2\textra"}) ==
          "| name | count | 3 |\n"
          "| --- | --- | --- |\n"
          "| a | 1 |  |\n"
          "| b | 2 | extra |\n");
    CHECK(Report("markdown", true, {"only\theader"}) ==
          "| only | header |\n"
          "| --- | --- |\n");
  }

  TEST_CASE("markdown escapes '|' and turns line breaks into <br>") {
    CHECK(Report("markdown", false, {"a|b\tx\ny\r\nz\rw"}) ==
          "| 1 | 2 |\n"
          "| --- | --- |\n"
          "| a\\|b | x<br>y<br>z<br>w |\n");
  }

  TEST_CASE("markdown of nothing is nothing; of empty records, one empty column") {
    CHECK(Report("markdown", false, {}) == "");
    CHECK(Report("markdown", true, {}) == "");
    CHECK(Report("markdown", false, {"", ""}) ==
          "| 1 |\n"
          "| --- |\n"
          "|  |\n"
          "|  |\n");
  }

  TEST_CASE("output larger than the write buffer arrives whole, in order") {
    std::vector<std::string> records;
    std::string csv;
    std::string markdown = "| 1 | 2 |\n| --- | --- |\n";
    for (int i = 0; i < 60000; ++i) {
      records.push_back(std::to_string(i) + "\tfield, with a comma " + std::to_string(i * 7));
      csv += std::to_string(i) + ",\"field, with a comma " + std::to_string(i * 7) + "\"\r\n";
      markdown += "| " + std::to_string(i) + " | field, with a comma " + std::to_string(i * 7) + " |\n";
    }
    records.push_back(std::string(3 << 20, 'z'));
    csv += std::string(3 << 20, 'z') + "\r\n";
    markdown += "| " + std::string(3 << 20, 'z') + " |  |\n";
    CHECK(Report("csv", false, records) == csv);
    CHECK(Report("markdown", false, records) == markdown);
  }

  TEST_CASE("report \"-\" writes to stdout") {
    Outcome out;
    std::string written = stagetest::FeedToStdout(
        [] {
          std::string error;
          return MakeReportStage({"-", "", "json", false}, &error);
        },
        {"a\tb"}, &out);
    CHECK(out.fatal == "");
    CHECK(written == "[\n  [\"a\", \"b\"]\n]\n");
  }

  TEST_CASE("report to a full device is a fatal error, and stays one") {
    std::string first;
    std::string again;
    auto make = [] {
      std::string error;
      return MakeReportStage({"-", "", "markdown", false}, &error);
    };
    if (!stagetest::FailOnFullStdout(make, &first, &again)) return;  // no /dev/full here
    CHECK(first == "cannot write to stdout: No space left on device");
    CHECK(again == first);
  }

  TEST_CASE("report writes over what its file held, cannot create one in a missing directory, and refuses an unknown format") {
    TempDir dir;
    std::string temp = dir.Write("taken.tmp", "old old old");
    std::string error;
    std::unique_ptr<Stage> stage = MakeReportStage({"out.tsv", temp, "tsv", false}, &error);
    REQUIRE(stage != nullptr);
    stagetest::CollectingEmitter sink;
    CHECK(stage->OnRecord(RecordView{"a\tb", 1, 0}, sink).ok());
    CHECK(stage->Finish(sink).ok());
    CHECK(stagetest::ReadFile(temp) == "a\tb\n");
    const std::string missing = dir.File("no/such/dir/x.tmp");
    CHECK(MakeReportStage({"out.csv", missing, "csv", false}, &error) == nullptr);
    CHECK(error == "cannot write 'out.csv': cannot create '" + missing + "': No such file or directory");
    CHECK(MakeReportStage({"out.x", dir.File("x.tmp"), "xml", false}, &error) == nullptr);
    CHECK(error == "unknown report format 'xml' (tsv, csv, json or markdown)");
    CHECK(dir.Entries() == std::vector<std::string>{"taken.tmp"});
  }

  TEST_CASE("through the factory: tsv and no header by default, else as the program says") {
    TempDir dir;
    StageContext context;
    context.temp_path = dir.File("a.tmp");
    stagetest::TestProgram plain("lines(\"\") | report(\"out.txt\")");
    CHECK(stagetest::Feed(*plain.Make("report", context), {"a\tb", "c"}).fatal == "");
    CHECK(stagetest::ReadFile(context.temp_path) == "a\tb\nc\n");

    context.temp_path = dir.File("b.tmp");
    stagetest::TestProgram json("lines(\"\") | report(\"out.json\", format = \"json\", header = true)");
    CHECK(stagetest::Feed(*json.Make("report", context), {"k", "v"}).fatal == "");
    CHECK(stagetest::ReadFile(context.temp_path) == "[\n  {\"k\": \"v\"}\n]\n");

    std::string error;
    CHECK(json.Make("report", StageContext{}, &error) == nullptr);
    CHECK(error == "internal error: no temporary path to write 'out.json' to");
  }
}

}  // namespace flow
