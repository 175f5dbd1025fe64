// map, filter, flatmap, distinct, head, tail, count, count_by, sum, sleep,
// tee, merge: made by the factory from program text, fed by hand.
#include <chrono>

#include "stdlib/stages.h"
#include "tests/stdlib/stage_test_util.h"

namespace flow {
namespace {

using stagetest::Emitted;
using stagetest::Outcome;
using stagetest::TestProgram;

// Feeds `inputs` to the stage `name` of `lines("") | <stage_text> | discard`.
Outcome Run(const std::string& stage_text, const std::string& name, const std::vector<std::string>& inputs) {
  TestProgram program("lines(\"\") | " + stage_text + " | discard");
  return stagetest::Feed(*program.Make(name), inputs);
}

const std::string kBinary("a\0b\r", 4);

}  // namespace

TEST_SUITE("stages") {
  TEST_CASE("map emits the block's text with the record's NR") {
    Outcome out = Run("map { $1 + \"x\" }", "map", {"a b", "", "c"});
    CHECK(out.records == std::vector<Emitted>{{"ax", 1}, {"x", 2}, {"cx", 3}});
    CHECK(Run("map { len($0) * 2 }", "map", {"abc"}).Texts() == std::vector<std::string>{"6"});
    CHECK(Run("map { float(len($0)) / 4 }", "map", {"abc"}).Texts() == std::vector<std::string>{"0.75"});
    CHECK(Run("map { $0 == \"x\" }", "map", {"x", "y"}).Texts() == std::vector<std::string>{"true", "false"});
    CHECK(Run("map(fs = \",\") { $2 }", "map", {"a,b,c"}).Texts() == std::vector<std::string>{"b"});
  }

  TEST_CASE("map is binary-safe and gives an empty input nothing") {
    CHECK(Run("map { $0 + $0 }", "map", {kBinary}).Texts() == std::vector<std::string>{kBinary + kBinary});
    Outcome empty = Run("map { $0 }", "map", {});
    CHECK(empty.records.empty());
    CHECK(empty.fatal == "");
  }

  TEST_CASE("map: a record error from the block is the record's, the next records go on") {
    Outcome out = Run("map { str(int($0) * 2) }", "map", {"1", "x", "3"});
    CHECK(out.records == std::vector<Emitted>{{"2", 1}, {"6", 3}});
    REQUIRE(out.record_errors.size() == 1);
    CHECK(out.record_errors[0] == std::string{"t.flow:1:23: cannot convert 'x' to int"});
  }

  TEST_CASE("filter keeps the records for which the block is true") {
    Outcome out = Run("filter { int($0) % 2 == 0 }", "filter", {"1", "2", "3", "4"});
    CHECK(out.records == std::vector<Emitted>{{"2", 2}, {"4", 4}});
    CHECK(Run("filter { true }", "filter", {kBinary}).Texts() == std::vector<std::string>{kBinary});
    Outcome failed = Run("filter { 1 / len($0) > 0 }", "filter", {""});
    REQUIRE(failed.record_errors.size() == 1);
    CHECK(failed.record_errors[0] == std::string{"t.flow:1:24: division by zero"});
  }

  TEST_CASE("flatmap emits each line of the text with the input's NR") {
    Outcome out = Run("flatmap { replace($0, \",\", \"\\n\") }", "flatmap", {"a,b,", "", "c\r,d"});
    CHECK(out.records == std::vector<Emitted>{{"a", 1}, {"b", 1}, {"c\r", 3}, {"d", 3}});
    CHECK(Run("flatmap { \"\\n\\n\" }", "flatmap", {"x"}).Texts() == std::vector<std::string>{"", ""});
    CHECK(Run("flatmap { str(1 / 0) }", "flatmap", {"x"}).record_errors.size() == 1);
  }

  TEST_CASE("distinct keeps the first record of each key, in input order") {
    Outcome whole = Run("distinct", "distinct", {"b", "a", "b", kBinary, "a", kBinary, "c"});
    CHECK(whole.records == std::vector<Emitted>{{"b", 1}, {"a", 2}, {kBinary, 4}, {"c", 7}});
    Outcome keyed = Run("distinct { $2 }", "distinct", {"1 x", "2 y", "3 x", "4", "5"});
    CHECK(keyed.records == std::vector<Emitted>{{"1 x", 1}, {"2 y", 2}, {"4", 4}});
    Outcome failed = Run("distinct { str(int($0)) }", "distinct", {"1", "x", "01", "2"});
    CHECK(failed.Texts() == std::vector<std::string>{"1", "2"});
    CHECK(failed.record_errors.size() == 1);
  }

  TEST_CASE("head passes n records and is then satisfied") {
    TestProgram program("lines(\"\") | head(2) | discard");
    std::unique_ptr<Stage> head = program.Make("head");
    CHECK_FALSE(head->Satisfied());
    Outcome out = stagetest::Feed(*head, {"a", "b", "c", "d"});
    CHECK(out.records == std::vector<Emitted>{{"a", 1}, {"b", 2}});
    CHECK(out.fed == 2);
    CHECK(head->Satisfied());
    // Records that were already taken when it became satisfied are dropped.
    stagetest::CollectingEmitter late;
    CHECK(head->OnRecord(RecordView{"e", 5, 4}, late).ok());
    CHECK(late.records.empty());
  }

  TEST_CASE("head(0) is satisfied at once; head of a short input passes it all") {
    std::unique_ptr<Stage> none = MakeHeadStage(0);
    CHECK(none->Satisfied());
    CHECK(stagetest::Feed(*none, {"a"}).records.empty());
    CHECK(Run("head(5)", "head", {"a", "b"}).Texts() == std::vector<std::string>{"a", "b"});
  }

  TEST_CASE("tail emits the last n records at the end, with their NRs") {
    Outcome out = Run("tail(2)", "tail", {"a", "b", "c", "d", "e"});
    CHECK(out.records == std::vector<Emitted>{{"d", 4}, {"e", 5}});
    CHECK(Run("tail(3)", "tail", {"a", "b", "c", "d"}).Texts() == std::vector<std::string>{"b", "c", "d"});
    CHECK(Run("tail(10)", "tail", {"a", kBinary}).records == std::vector<Emitted>{{"a", 1}, {kBinary, 2}});
    CHECK(Run("tail(0)", "tail", {"a", "b"}).records.empty());
    CHECK(Run("tail(3)", "tail", {}).records.empty());
  }

  TEST_CASE("count emits how many records came in") {
    CHECK(Run("count", "count", {"a", "", kBinary}).records == std::vector<Emitted>{{"3", 1}});
    CHECK(Run("count", "count", {}).records == std::vector<Emitted>{{"0", 1}});
  }

  TEST_CASE("count_by emits key\\tcount in order of first appearance") {
    Outcome out = Run("count_by { $1 }", "count_by", {"b 1", "a 2", "b 3", "c", "a", "b", ""});
    CHECK(out.records == std::vector<Emitted>{{"b\t3", 1}, {"a\t2", 2}, {"c\t1", 3}, {"\t1", 4}});
    CHECK(Run("count_by { $0 }", "count_by", {kBinary, kBinary}).Texts() == std::vector<std::string>{kBinary + "\t2"});
    CHECK(Run("count_by { $0 }", "count_by", {}).records.empty());
    Outcome failed = Run("count_by { str(int($0)) }", "count_by", {"1", "x", "1"});
    CHECK(failed.Texts() == std::vector<std::string>{"1\t2"});
    CHECK(failed.record_errors.size() == 1);
  }

  TEST_CASE("sum of ints, wrapping as the language's ints do") {
    CHECK(Run("sum { int($0) }", "sum", {"1", "2", "-10"}).records == std::vector<Emitted>{{"-7", 1}});
    CHECK(Run("sum { int($0) }", "sum", {"9223372036854775807", "1"}).Texts() ==
          std::vector<std::string>{"-9223372036854775808"});
    CHECK(Run("sum { int($0) }", "sum", {"-9223372036854775807", "-3"}).Texts() ==
          std::vector<std::string>{"9223372036854775806"});
    CHECK(Run("sum { int($0) }", "sum", {}).records == std::vector<Emitted>{{"0", 1}});
  }

  TEST_CASE("sum of floats, written as str() writes a float") {
    CHECK(Run("sum { float($0) }", "sum", {"0.1", "0.2"}).Texts() == std::vector<std::string>{"0.30000000000000004"});
    CHECK(Run("sum { float($0) }", "sum", {"1.5", "2.5"}).Texts() == std::vector<std::string>{"4"});
    CHECK(Run("sum { float($0) }", "sum", {"1e308", "1e308"}).Texts() == std::vector<std::string>{"inf"});
    CHECK(Run("sum { float($0) }", "sum", {}).Texts() == std::vector<std::string>{"0"});
    // int op float widens: the block is a float block.
    CHECK(Run("sum { len($0) * 0.5 }", "sum", {"abc", "d"}).Texts() == std::vector<std::string>{"2"});
    Outcome failed = Run("sum { int($0) }", "sum", {"4", "x", "5"});
    CHECK(failed.Texts() == std::vector<std::string>{"9"});
    CHECK(failed.record_errors.size() == 1);
  }

  TEST_CASE("sleep passes each record on after its delay") {
    auto start = std::chrono::steady_clock::now();
    Outcome out = Run("sleep(30ms)", "sleep", {"a", kBinary});
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(out.records == std::vector<Emitted>{{"a", 1}, {kBinary, 2}});
    CHECK(elapsed >= std::chrono::milliseconds(60));
    CHECK(elapsed < std::chrono::seconds(5));
  }

  TEST_CASE("tee and merge pass every record on with its NR") {
    std::vector<Emitted> expected{{"a", 1}, {kBinary, 2}};
    TestProgram tee("lines(\"\") | tee(discard) | discard");
    CHECK(stagetest::Feed(*tee.Make("tee"), {"a", kBinary}).records == expected);
    TestProgram merge("merge(lines(\"a\"), lines(\"b\")) | discard");
    CHECK(stagetest::Feed(*merge.Make("merge"), {"a", kBinary}).records == expected);
  }

  TEST_CASE("discard drops everything") {
    TestProgram program("lines(\"\") | discard");
    Outcome dropped = stagetest::Feed(*program.Make("discard"), {"a", "b"});
    CHECK(dropped.records.empty());
    CHECK(dropped.fatal == "");
  }
}

}  // namespace flow
