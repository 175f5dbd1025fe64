// The factory: which stages it makes, the block each one wants, and its
// errors.
#include "stdlib/stages.h"
#include "tests/stdlib/stage_test_util.h"

namespace flow {

TEST_SUITE("stages") {
  TEST_CASE("each stage's block is made for what the stage wants") {
    stagetest::TestProgram program(
        "lines(\"\") | map { $0 } | filter { true } | flatmap { $0 } | distinct { $1 } | count_by { $1 } | "
        "sum { 1 } | discard");
    CHECK(StageBlockWant(program.Node("map")) == kFlowWantText);
    CHECK(StageBlockWant(program.Node("filter")) == kFlowWantBool);
    CHECK(StageBlockWant(program.Node("flatmap")) == kFlowWantText);
    CHECK(StageBlockWant(program.Node("distinct")) == kFlowWantText);
    CHECK(StageBlockWant(program.Node("count_by")) == kFlowWantText);
    CHECK(StageBlockWant(program.Node("sum")) == kFlowWantNumber);
  }

  TEST_CASE("a stage that needs a block function and has none is an internal error") {
    stagetest::TestProgram program("lines(\"\") | map { $0 } | discard");
    StageContext context;
    context.node = &program.Node("map");
    std::string error;
    CHECK(MakeStage(context, &error) == nullptr);
    CHECK(error == "internal error: 'map' has no block function");
    CHECK(MakeStage(StageContext{}, &error) == nullptr);
    CHECK(error == "internal error: no stage to make");
  }

  TEST_CASE("every implemented builtin is made by the factory") {
    stagetest::TempDir dir;
    std::string path = dir.Write("in.txt", "x\n");
    stagetest::TestProgram program(
        "merge(read(\"" + path + "\"), seq(2), lines(\"a\")) | map { $0 } | filter { true } | flatmap { $0 } | "
        "distinct | head(5) | tail(5) | sort | count | tee(count_by { $0 } | sum { 1 } | discard) | "
        "sleep(1ms) | write(\"-\")");
    for (const char* name : {"read", "seq", "lines", "merge", "map", "filter", "flatmap", "distinct", "head",
                             "tail", "sort", "count", "count_by", "sum", "sleep", "tee", "write", "discard"}) {
      CAPTURE(name);
      CHECK(program.Make(name) != nullptr);
    }
  }
}

}  // namespace flow
