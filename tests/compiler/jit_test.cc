// The JIT (CompiledBlocks) on every operator and function, against exact
// values and, on every call, against the reference interpreter; record
// errors with their locations; the ABI's promises; fork safety; compile
// time; and a micro-benchmark that prints its figures (no speed assert).
#include "compiler/compiled_blocks.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "compiler/interpreted_block.h"
#include "runtime/process.h"
#include "tests/compiler/jit_test_util.h"

namespace flow {
namespace {

using jittest::CheckedProgram;
using jittest::CheckProgramText;
using jittest::Show;

const std::string kMapPrefix = "seq(1) | map ";

// Runs the block of `program` on `record` by the JIT and by the
// interpreter, CHECKs that both agree, and returns the JIT's result.
std::string RunProgram(const std::string& program, const std::string& record, const std::string& fs = "",
                       FlowBlockWant want = kFlowWantText, int64_t nr = 1) {
  std::unique_ptr<CheckedProgram> checked = CheckProgramText(program);
  REQUIRE_MESSAGE(checked->block, checked->diagnostics);
  jittest::BlockBothWays both(*checked, fs, want);
  CHECK_MESSAGE(both.finalized, both.finalize_error);
  CHECK(both.compiled.interpreted_count() == 0);
  FlowBlockResult a, b;
  both.jit(record.data(), record.size(), nr, &a);
  both.reference(record.data(), record.size(), nr, &b);
  const std::string shown = Show(a, want);
  CHECK_MESSAGE(shown == Show(b, want), "program: " << program << "\nrecord: " << jittest::Printable(record));
  return shown;
}

// `block` as the block of a map stage.
std::string Run(const std::string& block, const std::string& record = "", const std::string& fs = "",
                FlowBlockWant want = kFlowWantText, int64_t nr = 1) {
  return RunProgram(kMapPrefix + block, record, fs, want, nr);
}

// "error:t.flow:1:COL: message", COL being where `needle` sits in `block`.
std::string ErrorAt(const std::string& block, const std::string& needle, const std::string& message) {
  const size_t at = block.find(needle);
  REQUIRE(at != std::string::npos);
  return "error:t.flow:1:" + std::to_string(kMapPrefix.size() + at + 1) + ": " + message;
}

TEST_SUITE("jit") {
  TEST_CASE("integer arithmetic wraps as two's complement") {
    CHECK(Run("{ 1 + 2 * 3 }") == "text:7");
    CHECK(Run("{ 9223372036854775807 + 1 }") == "text:-9223372036854775808");
    CHECK(Run("{ 9223372036854775807 * 2 }") == "text:-2");
    CHECK(Run("{ -(-9223372036854775807 - 1) }") == "text:-9223372036854775808");
    CHECK(Run("{ abs(-9223372036854775807 - 1) }") == "text:-9223372036854775808");
    CHECK(Run("{ int($1) / int($2) }", "-9223372036854775808 -1") == "text:-9223372036854775808");
    CHECK(Run("{ int($1) % int($2) }", "-9223372036854775808 -1") == "text:0");
    CHECK(Run("{ int($1) % int($2) }", "7 -1") == "text:0");
    CHECK(Run("{ int($1) / int($2) }", "-7 2") == "text:-3");
    CHECK(Run("{ int($1) % int($2) }", "-7 2") == "text:-1");
    CHECK(Run("{ int($1) % int($2) }", "7 -2") == "text:1");
  }

  TEST_CASE("integer division by zero is a record error at the operator") {
    const std::string div = "{ int($1) / int($2) }", mod = "{ int($1) % int($2) }";
    CHECK(Run(div, "7 0") == ErrorAt(div, "/", "division by zero"));
    CHECK(Run(mod, "7 0") == ErrorAt(mod, "%", "division by zero"));
    CHECK(Run("{ 1 / 0 }") == ErrorAt("{ 1 / 0 }", "/", "division by zero"));
    CHECK(Run("{ float($1) / int($2) }", "1 0") == "text:inf");
    CHECK(Run("{ float($1) / int($2) }", "-1 0") == "text:-inf");
  }

  TEST_CASE("float arithmetic, NaN signs included, as the interpreter computes it") {
    CHECK(Run("{ 0.1 + 0.2 }") == "text:0.30000000000000004");
    CHECK(Run("{ 5.5 % 2 }") == "text:1.5");
    CHECK(Run("{ -5.5 % 2 }") == "text:-1.5");
    CHECK(Run("{ 1e308 * 10 }") == "text:inf");
    CHECK(Run("{ -0.0 }") == "text:-0");
    CHECK(Run("{ 1 + 0.5 }") == "text:1.5");
    // LLVM would fold these to a positive NaN where x86 makes a negative
    // one; the NaN here is the interpreter's (RunProgram compares the two).
    const std::string nan = Run("{ 0.0 / 0 }");
    CHECK((nan == "text:nan" || nan == "text:-nan"));
    Run("{ -(0.0 / 0) }");
    Run("{ 1.0 % 0 }");
    Run("{ str(1e308 * 10 - 1e308 * 10) }");
    Run("{ 1e308 * 10 * 0 }");
    const std::string to_int = Run("{ int(0.0 / 0) }");
    CHECK(to_int.find("cannot convert ") != std::string::npos);
    CHECK(Run("{ int(1e300) }") == ErrorAt("{ int(1e300) }", "int", "cannot convert 1e+300 to int"));
    CHECK(Run("{ float($1) * 2 }", "nan") == "text:nan");
    CHECK(Run("{ float($1) < 1 || float($1) >= 1 || float($1) == float($1) }", "nan") == "text:false");
    CHECK(Run("{ float($1) != float($1) }", "nan") == "text:true");
    // Two NaN operands, a negated NaN: LLVM's rewrites would change the sign.
    Run("{ float($1) * -float($1) }", "nan");
    Run("{ 0.0 + -float($1) }", "NaN");
    Run("{ -float($1) * 2.0 + 1 }", "nan");
  }

  TEST_CASE("fields: awk's default splitting, fs, $(i), NF and NR") {
    CHECK(Run("{ $2 }", "  a \t b  c ") == "text:b");
    CHECK(Run("{ NF }", "  a \t b  c ") == "text:3");
    CHECK(Run("{ $9 }", "a b") == "text:");
    CHECK(Run("{ $0 }", "  a b ") == "text:  a b ");
    CHECK(Run("{ _ + \"!\" }", "x") == "text:x!");
    CHECK(Run("{ NF }", "", ",") == "text:0");
    CHECK(Run("{ NF }", "a,,b", ",") == "text:3");
    CHECK(Run("{ $3 }", "a,,b", ",") == "text:b");
    CHECK(Run("{ $2 }", "a::b::c", "::") == "text:b");
    CHECK(Run("{ $(NF) }", "x y z") == "text:z");
    CHECK(Run("{ $(0) }", "x y") == "text:x y");
    CHECK(Run("{ $(NF - 5) }", "x y") == ErrorAt("{ $(NF - 5) }", "$(", "field index -3 is negative"));
    CHECK(Run("{ NR }", "", "", kFlowWantText, 42) == "text:42");
    CHECK(Run("{ $2 }", std::string("a\0b c", 5)) == "text:c");
    CHECK(Run("{ len($1) }", std::string("a\0b c", 5)) == "text:3");
    CHECK(Run("{ $2 + $1 }", "a\r b\r") == "text:b\ra\r");
    // Past 64, constant fields are read one call at a time.
    std::string wide;
    for (int i = 1; i <= 70; ++i) wide.append("f").append(std::to_string(i)).append(",");
    CHECK(Run("{ $70 + $2 + $71 + $72 }", wide, ",") == "text:f70f2");
    CHECK(Run("{ $64 + $3 + $65 }", wide, ",") == "text:f64f3f65");
  }

  TEST_CASE("strings compare and join byte by byte") {
    CHECK(Run("{ $1 > $2 }", "\xff a") == "text:true");
    CHECK(Run(R"({ "ab" < "abc" })") == "text:true");
    CHECK(Run(R"({ "b" <= "abc" })") == "text:false");
    CHECK(Run(R"({ $1 == "404" })", "404") == "text:true");
    CHECK(Run(R"({ $1 == "404" })", "4040") == "text:false");
    CHECK(Run(R"({ $1 == "" })", "") == "text:true");
    CHECK(Run(R"({ "x" != $1 })", "x") == "text:false");
    CHECK(Run(R"({ $1 + "-" + $2 })", "a b") == "text:a-b");
    CHECK(Run(R"({ true == (NF > 1) })", "a b") == "text:true");
  }

  TEST_CASE("text functions") {
    CHECK(Run(R"({ len("é") })") == "text:2");
    CHECK(Run(R"({ upper("aé b") + lower("XÉ") })") == "text:Aé BxÉ");
    CHECK(Run("{ trim($0) }", " \t x y \r\n") == "text:x y");
    CHECK(Run(R"({ substr("flow", 2, 2) + "|" + substr("flow", 0) + "|" + substr("flow", -1, 3) })") ==
          "text:lo|flow|f");
    CHECK(Run(R"({ substr("flow", 3, -1) + substr("flow", 9223372036854775807, 9223372036854775807) })") ==
          "text:");
    CHECK(Run(R"({ str(contains("flow", "lo")) + str(starts_with("flow", "fl")) + str(ends_with("flow", "l")) })") ==
          "text:truetruefalse");
    CHECK(Run(R"({ fmt("{} {} {}", find("flow", "ow"), find("flow", ""), find("flow", "x")) })") == "text:3 1 0");
    CHECK(Run(R"({ replace("a.b.c", ".", "::") + replace("aaa", "", "x") })") == "text:a::b::caaa");
    CHECK(Run(R"({ field("a,b,c", 2, ",") + field(" a b ", 2) + field("abc", 0) })") == "text:bbabc");
    const std::string negative = R"({ field("a", 0 - 1) })";
    CHECK(Run(negative) == ErrorAt(negative, "field", "field index -1 is negative"));
    const std::string empty_sep = R"({ field("a,b", 1, $1) })";
    CHECK(Run(empty_sep, "") == ErrorAt(empty_sep, "field", "field separator must not be empty"));
    CHECK(Run(R"({ hash("") })") == "text:-3750763034362895579");
    Run("{ hash($0) }", "\xff\x00 é");
    CHECK(Run("{ str(1.5) + str(true) + str(42) + str(-0.0) }") == "text:1.5true42-0");
    CHECK(Run(R"({ fmt("{} and {{{}}}", 1, "x") })") == "text:1 and {x}");
    CHECK(Run(R"({ fmt("plain") + fmt("{}", 2.5) + fmt("{}{}", false, 0.1) })") == "text:plain2.5false0.1");
    CHECK(Run("{ min(3, 1, 2) }") == "text:1");
    CHECK(Run(R"({ max("b", "abc") })") == "text:b");
    CHECK(Run("{ min(0.0, -0.0) }") == "text:0");
    CHECK(Run("{ min(1, 2.5) }") == "text:1");
    CHECK(Run("{ max(float($1), 1.0) }", "nan") == "text:nan");
    CHECK(Run("{ min(1.0, float($1)) }", "nan") == "text:1");
    CHECK(Run("{ abs(-2.5) + abs(-3) }") == "text:5.5");
  }

  TEST_CASE("conversions") {
    CHECK(Run(R"({ int(" 42 ") + int("42\r") + int("+7") })") == "text:91");
    CHECK(Run(R"({ int("4x") })") == ErrorAt(R"({ int("4x") })", "int", "cannot convert '4x' to int"));
    CHECK(Run("{ int($1) }", "9223372036854775808") ==
          ErrorAt("{ int($1) }", "int", "cannot convert '9223372036854775808' to int"));
    CHECK(Run(R"({ int("4x", -1) + int("", 5) })") == "text:4");
    CHECK(Run("{ int(2.9) + int(-2.9) * 10 + int(true) * 100 }") == "text:82");
    CHECK(Run(R"({ fmt("{} {} {} {}", float(".5"), float("5."), float("1e400"), float("1e-400")) })") ==
          "text:0.5 5 inf 0");
    CHECK(Run(R"({ fmt("{} {} {}", float(" -INF "), float("nan"), float("x", 2)) })") == "text:-inf nan 2");
    CHECK(Run(R"({ float("x") })") == ErrorAt(R"({ float("x") })", "float", "cannot convert 'x' to float"));
    CHECK(Run("{ float(3) + float(false) }") == "text:3");
    // The default runs only when the conversion fails.
    CHECK(Run("{ int($1, 1 / int($2)) }", "5 0") == "text:5");
    CHECK(Run("{ int($1, 1 / int($2)) }", "x 0") == ErrorAt("{ int($1, 1 / int($2)) }", "/", "division by zero"));
    CHECK(Run("{ int(\"a\\nb\\x01\") }") ==
          ErrorAt("{ int(\"a\\nb\\x01\") }", "int", "cannot convert 'a\\nb\\x01' to int"));
  }

  TEST_CASE("&&, || and ?: evaluate only what they need") {
    CHECK(Run("{ false && 1 / int($1) == 1 }", "0") == "text:false");
    CHECK(Run("{ true || 1 / int($1) == 1 }", "0") == "text:true");
    const std::string fails = "{ true && 1 / int($1) == 1 }";
    CHECK(Run(fails, "0") == ErrorAt(fails, "/", "division by zero"));
    CHECK(Run("{ NF > 0 ? $1 : $(0 - 1) }", "a") == "text:a");
    CHECK(Run("{ NF > 0 ? 1 : 2.5 }", "a") == "text:1");
    CHECK(Run("{ NF > 5 ? 1 : 2.5 }", "a") == "text:2.5");
    CHECK(Run("{ NF > 0 ? NF > 1 ? \"two\" : \"one\" : \"none\" }", "a") == "text:one");
  }

  TEST_CASE("a block's lets run in order before its result, even unused ones") {
    CHECK(Run("{ let a = int($1); let b = a * 2; b + a }", "5") == "text:15");
    const std::string unused = "{ let unused = int($1); 1 }";
    CHECK(Run(unused, "x") == ErrorAt(unused, "int", "cannot convert 'x' to int"));
    CHECK(RunProgram("let x = 10\nseq(1) | map { let x = \"s\"; x + x }", "") == "text:ss");
    // A global folded to a NaN keeps its bits in the generated code.
    RunProgram("let n = 0.0 / 0\nseq(1) | map { str(n) + str(-n) + str(abs(n)) }", "");
  }

  TEST_CASE("regexes: matches and capture") {
    CHECK(Run(R"({ matches($0, "a+") })", "xaay") == "text:true");
    CHECK(Run(R"({ matches($0, "a+") })", "xy") == "text:false");
    const std::string groups = R"x({ capture($0, r"^(\w+)\s+(\d+)?", 2) })x";
    CHECK(Run(groups, "abc 42") == "text:42");
    CHECK(Run(groups, "abc x") == "text:");
    CHECK(Run(groups, "") == "text:");
    const std::string computed = R"x({ capture($0, "(x)|(y)", int($1)) })x";
    CHECK(Run(computed, "1x") == ErrorAt(computed, "int", "cannot convert '1x' to int"));
    CHECK(Run(computed, "3") == ErrorAt(computed, "capture", "capture group 3 does not exist (the regex has 2)"));
    CHECK(Run(R"x({ capture($0, "(x)|(y)", NF) })x", "y") == "text:");
    // Without PCRE2's UTF mode a `+` repeats the last byte of "é".
    CHECK(Run(R"({ capture($0, "é+", 0) })", "aééb") == "text:é");
    CHECK(Run(R"x({ capture($0, "(?:é)+", 0) })x", "aééb") == "text:éé");
  }

  TEST_CASE("the block's value as each stage wants it") {
    CHECK(Run(R"({ $1 == "a" })", "a", "", kFlowWantBool) == "bool:true");
    CHECK(Run(R"({ $1 == "a" })", "b", "", kFlowWantBool) == "bool:false");
    CHECK(Run(R"({ $1 == "a" })", "a") == "text:true");
    CHECK(Run("{ int($1) }", "41", "", kFlowWantNumber) == "int:41");
    CHECK(Run("{ float($1) }", "2.5", "", kFlowWantNumber) == "float:2.5/4004000000000000");
    CHECK(Run("{ int($1) }", "x", "", kFlowWantNumber) == ErrorAt("{ int($1) }", "int", "cannot convert 'x' to int"));
  }

  TEST_CASE("result text stays valid after the record changes, until the next call") {
    auto checked = CheckProgramText(kMapPrefix + "{ $2 }");
    REQUIRE(checked->block);
    CompiledBlocks compiled;
    BlockFunction fn = compiled.Make(*checked->block, "", kFlowWantText, *checked->file);
    REQUIRE(compiled.Finalize());
    std::string record = "a bcd";
    FlowBlockResult result;
    fn(record.data(), record.size(), 1, &result);
    record.assign("x yyy");
    CHECK(std::string(result.text, result.text_len) == "bcd");
  }

  TEST_CASE("a block made but not compiled says so; later blocks compile in a second module") {
    auto first = CheckProgramText(kMapPrefix + "{ $1 + \"!\" }");
    auto second = CheckProgramText(kMapPrefix + "{ NF * 2 }");
    REQUIRE(first->block);
    REQUIRE(second->block);
    CompiledBlocks compiled;
    BlockFunction a = compiled.Make(*first->block, "", kFlowWantText, *first->file);
    FlowBlockResult result;
    a("x", 1, 1, &result);
    CHECK(Show(result, kFlowWantText) ==
          "error:internal error: the block was not compiled: CompiledBlocks::Finalize() must run before it");
    REQUIRE(compiled.Finalize());
    BlockFunction b = compiled.Make(*second->block, "", kFlowWantText, *second->file);
    REQUIRE(compiled.Finalize());
    a("x", 1, 1, &result);
    CHECK(Show(result, kFlowWantText) == "text:x!");
    b("x y z", 5, 1, &result);
    CHECK(Show(result, kFlowWantText) == "text:6");
    CHECK(compiled.interpreted_count() == 0);
  }

  TEST_CASE("a forked child runs the compiled code, and nothing of LLVM") {
    auto checked = CheckProgramText(kMapPrefix + R"({ fmt("{}:{}", $2, int($1) * 2) })");
    REQUIRE(checked->block);
    CompiledBlocks compiled;
    BlockFunction fn = compiled.Make(*checked->block, "", kFlowWantText, *checked->file);
    REQUIRE(compiled.Finalize());
    std::fflush(nullptr);
    ChildOptions options;
    options.name = "jit-child";
    Child child;
    std::string error;
    REQUIRE_MESSAGE(StartChild(
                        options,
                        [&] {
                          FlowBlockResult result;
                          fn("21 x", 4, 1, &result);
                          return Show(result, kFlowWantText) == "text:x:42" ? 0 : 1;
                        },
                        &child, &error),
                    error);
    ExitStatus status;
    REQUIRE_MESSAGE(WaitForChild(child.pid, &status, &error), error);
    CHECK_MESSAGE(status.Succeeded(), DescribeExit(status));
  }

  TEST_CASE("fifty blocks compile in well under a second") {
    std::string program = "seq(10)";
    for (int i = 0; i < 50; ++i) {
      switch (i % 5) {
        case 0: program += "\n  | map { fmt(\"{} {}\", $1, int($2, 0) * " + std::to_string(i) + ") }"; break;
        case 1: program += "\n  | filter { $1 != \"" + std::to_string(i) + "\" && NF > 1 }"; break;
        case 2: program += "\n  | map { let a = float($1, 0); a > 1.5 ? str(a / 3) : upper($0) }"; break;
        case 3: program += "\n  | map { matches($0, \"^[0-9]+\") ? capture($0, \"([0-9]+)\", 1) : $0 }"; break;
        default: program += "\n  | map { substr($0, 2) + replace($1, \"a\", \"b\") + str(len($0) % 7) }"; break;
      }
    }
    auto checked = CheckProgramText(program + "\n  | discard\n");
    REQUIRE_MESSAGE(checked->graph, checked->diagnostics);
    CompiledBlocks compiled;
    int blocks = 0;
    for (const StageNode& node : checked->graph->nodes) {
      if (!node.block) continue;
      compiled.Make(*node.block, "", node.name == "filter" ? kFlowWantBool : kFlowWantText, *checked->file);
      ++blocks;
    }
    REQUIRE(compiled.Finalize());
    CHECK(blocks == 50);
    CHECK(compiled.interpreted_count() == 0);
    MESSAGE("50 blocks: code generation and compilation took " << compiled.compile_seconds() * 1000 << " ms");
    REQUIRE(checked->graph->nodes[1].block);
    CompiledBlocks one;
    one.Make(*checked->graph->nodes[1].block, "", kFlowWantText, *checked->file);
    REQUIRE(one.Finalize());
    MESSAGE("1 block: " << one.compile_seconds() * 1000 << " ms, the JIT's creation included");
    // A gross-regression guard only: the machine may be loaded.
    CHECK(compiled.compile_seconds() < 5.0);
  }

  TEST_CASE("micro-benchmark: per-record time, JIT against the interpreter (printed, not asserted)") {
    const std::string record =
        "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 404 2326";
    struct Case {
      const char* stage;
      const char* block;
      FlowBlockWant want;
    } cases[] = {
        {"map", "{ $1 }", kFlowWantText},
        {"map", "{ fmt(\"{} {}\", $9, int($10, 0) * 2) }", kFlowWantText},
        {"filter", "{ $9 == \"404\" }", kFlowWantBool},
        {"sum", "{ int($10, 0) }", kFlowWantNumber},
    };
    // The best of several rounds: the machine is shared, and the best round
    // is the one least disturbed.
    constexpr int kRounds = 5, kRecords = 40000;
    for (const Case& c : cases) {
      auto checked = CheckProgramText(std::string("seq(1) | ") + c.stage + " " + c.block);
      REQUIRE_MESSAGE(checked->block, checked->diagnostics);
      CompiledBlocks compiled;
      InterpretedBlocks interpreted;
      BlockFunction functions[2] = {compiled.Make(*checked->block, "", c.want, *checked->file),
                                    interpreted.Make(*checked->block, "", c.want, *checked->file)};
      REQUIRE(compiled.Finalize());
      double ns[2] = {1e300, 1e300};
      for (int round = 0; round < kRounds; ++round) {
        for (int which = 0; which < 2; ++which) {
          FlowBlockResult result;
          int64_t checksum = 0;
          const auto start = std::chrono::steady_clock::now();
          for (int i = 1; i <= kRecords; ++i) {
            functions[which](record.data(), record.size(), i, &result);
            checksum += static_cast<int64_t>(result.text_len) + result.bool_value + result.int_value;
          }
          const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
          ns[which] = std::min(ns[which], elapsed.count() / kRecords);
          CHECK(checksum != 0);
        }
      }
      MESSAGE(std::string(c.stage) << " " << std::string(c.block) << ": JIT " << ns[0]
                                   << " ns/record, interpreter " << ns[1] << " ns/record (" << ns[1] / ns[0] << "x)");
    }
  }
}

}  // namespace
}  // namespace flow
