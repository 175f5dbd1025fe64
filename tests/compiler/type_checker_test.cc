// The expression rules of section 5 and docs/language.md, through the
// parser and CheckProgram: types, operators, functions, regexes, fmt.
#include <doctest/doctest.h>

#include <functional>

#include "tests/compiler/check_test_util.h"

namespace flow {
namespace {

using checktest::Check;
using checktest::ErrorAt;

// The diagnostics of `seq(3) | map { <expr> }`.
std::string MapDiagnostics(const std::string& expr, const std::string& prelude = "") {
  return Check(prelude + "seq(3) | map { " + expr + " }\n").diagnostics;
}

// The one error of `map { <expr> }`, at the first `needle` in <expr>.
std::string MapError(const std::string& expr, const std::string& needle, const std::string& message,
                     const std::string& prelude = "") {
  std::string before = prelude + "seq(3) | map { ";
  int skip = 0;
  for (size_t pos = before.find(needle); pos != std::string::npos; pos = before.find(needle, pos + 1)) ++skip;
  return ErrorAt(before + expr + " }\n", needle, message, skip);
}

// The checked block of the map of `seq(3) | map { <expr> }`.
std::shared_ptr<const Block> MapBlock(const std::string& expr, const std::string& prelude = "") {
  checktest::Checked r = Check(prelude + "seq(3) | map { " + expr + " }\n");
  REQUIRE_MESSAGE(r.graph, r.diagnostics);
  return r.graph->nodes[1].block;
}

Type MapType(const std::string& expr, const std::string& prelude = "") {
  return MapBlock(expr, prelude)->result->type;
}

TEST_SUITE("type_checker") {
  TEST_CASE("literals, fields and record numbers have their types") {
    CHECK(MapType("1") == Type::kInt);
    CHECK(MapType("1.5") == Type::kFloat);
    CHECK(MapType("\"a\"") == Type::kStr);
    CHECK(MapType("true") == Type::kBool);
    CHECK(MapType("$1") == Type::kStr);
    CHECK(MapType("_") == Type::kStr);
    CHECK(MapType("$(NF)") == Type::kStr);
    CHECK(MapType("NF") == Type::kInt);
    CHECK(MapType("NR") == Type::kInt);
  }

  TEST_CASE("int op float widens to float; + joins strings") {
    CHECK(MapType("1 + 2") == Type::kInt);
    CHECK(MapType("1 + 2.0") == Type::kFloat);
    CHECK(MapType("2.0 * 3") == Type::kFloat);
    CHECK(MapType("7 % 2") == Type::kInt);
    CHECK(MapType("\"a\" + $1") == Type::kStr);
    CHECK(MapType("1 < 2.5") == Type::kBool);
    CHECK(MapType("\"a\" <= \"b\"") == Type::kBool);
    CHECK(MapType("1 == 1.0") == Type::kBool);
    CHECK(MapType("true != false") == Type::kBool);
    CHECK(MapType("true ? 1 : 2.0") == Type::kFloat);
    CHECK(MapType("NR > 1 && NF < 3 || false") == Type::kBool);
    CHECK(MapType("-NF") == Type::kInt);
    CHECK(MapType("-1.5") == Type::kFloat);
    CHECK(MapType("!true") == Type::kBool);
  }

  TEST_CASE("operator type errors") {
    CHECK(MapDiagnostics("\"a\" + 1") ==
          MapError("\"a\" + 1", "+",
                   "operator '+' needs two numbers or two strings, got str and int; convert with str()"));
    CHECK(MapDiagnostics("true + false") ==
          MapError("true + false", "+", "operator '+' needs two numbers or two strings, got bool and bool"));
    CHECK(MapDiagnostics("1 - \"a\"") == MapError("1 - \"a\"", "- ", "operator '-' needs numbers, got int and str"));
    CHECK(MapDiagnostics("true < false") ==
          MapError("true < false", "<", "operator '<' needs two numbers or two strings, got bool and bool"));
    CHECK(MapDiagnostics("1 == \"1\"") == MapError("1 == \"1\"", "==", "operator '==' cannot compare int and str"));
    CHECK(MapDiagnostics("1 && true") == MapError("1 && true", "&&", "operator '&&' needs bools, got int and bool"));
    CHECK(MapDiagnostics("!1") == MapError("!1", "!", "operator '!' needs a bool, got int"));
    CHECK(MapDiagnostics("-\"a\"") == MapError("-\"a\"", "-\"", "operator '-' needs an int or a float, got str"));
    CHECK(MapDiagnostics("1 ? 2 : 3") == MapError("1 ? 2 : 3", "1 ?", "the condition of '?:' must be a bool, got int"));
    CHECK(MapDiagnostics("true ? 1 : \"a\"") ==
          MapError("true ? 1 : \"a\"", "?", "the branches of '?:' have different types: int and str"));
  }

  TEST_CASE("an expression made unknown by an error reports nothing more") {
    CHECK(MapDiagnostics("(\"a\" + 1) * 2 + len(3 < \"x\")") ==
          MapError("(\"a\" + 1) * 2 + len(3 < \"x\")", "+ 1",
                   "operator '+' needs two numbers or two strings, got str and int; convert with str()") +
              MapError("(\"a\" + 1) * 2 + len(3 < \"x\")", "<",
                       "operator '<' needs two numbers or two strings, got int and str"));
    CHECK(MapDiagnostics("nope * 2 + upper(nope)") ==
          MapError("nope * 2 + upper(nope)", "nope", "unknown name 'nope'") +
              ErrorAt("seq(3) | map { nope * 2 + upper(nope) }\n", "nope", "unknown name 'nope'", 1));
  }

  TEST_CASE("functions: results, arity and argument types") {
    CHECK(MapType("len($1)") == Type::kInt);
    CHECK(MapType("substr($1, 2)") == Type::kStr);
    CHECK(MapType("substr($1, 2, 3)") == Type::kStr);
    CHECK(MapType("contains($1, \"x\")") == Type::kBool);
    CHECK(MapType("find($1, \"x\")") == Type::kInt);
    CHECK(MapType("replace($1, \"a\", \"b\")") == Type::kStr);
    CHECK(MapType("field($1, 2, \",\")") == Type::kStr);
    CHECK(MapType("int($1, 0)") == Type::kInt);
    CHECK(MapType("int(2.5)") == Type::kInt);
    CHECK(MapType("float($1, 1)") == Type::kFloat);
    CHECK(MapType("str(true)") == Type::kStr);
    CHECK(MapType("hash($0)") == Type::kInt);
    CHECK(MapType("abs(-3)") == Type::kInt);
    CHECK(MapType("abs(2.5)") == Type::kFloat);
    CHECK(MapType("min(1, 2)") == Type::kInt);
    CHECK(MapType("max(1, 2.5, 3)") == Type::kFloat);
    CHECK(MapType("min(\"a\", $1)") == Type::kStr);

    CHECK(MapDiagnostics("uper($1)") == MapError("uper($1)", "uper", "unknown function 'uper'; did you mean 'upper'?"));
    CHECK(MapDiagnostics("substr($1)") == MapError("substr($1)", "substr", "'substr' takes 2 or 3 arguments, 1 given"));
    CHECK(MapDiagnostics("len($1, $2)") == MapError("len($1, $2)", "len", "'len' takes 1 argument, 2 given"));
    CHECK(MapDiagnostics("len(3)") == MapError("len(3)", "3", "'len' expects a str for argument 1, got int"));
    CHECK(MapDiagnostics("int($1, 1.5)") ==
          MapError("int($1, 1.5)", "1.5", "'int' expects an int for argument 2, got float"));
    CHECK(MapDiagnostics("abs($1)") ==
          MapError("abs($1)", "$1", "'abs' expects an int or a float for argument 1, got str"));
    CHECK(MapDiagnostics("min(1)") == MapError("min(1)", "min", "'min' takes at least 2 arguments, 1 given"));
    CHECK(MapDiagnostics("min(1, \"a\")") ==
          MapError("min(1, \"a\")", "\"a\"", "'min' needs all numbers or all strings, got int and str"));
    CHECK(MapDiagnostics("max(true, false)") ==
          MapError("max(true, false)", "true", "'max' expects numbers or strings, got bool"));
    CHECK(MapDiagnostics("field($1, 2, \"\")") ==
          MapError("field($1, 2, \"\")", "\"\"", "the separator of 'field' must not be empty"));
  }

  TEST_CASE("fmt needs a constant format whose {} count equals the arguments") {
    CHECK(MapType("fmt(\"{} and {}\", 1, $1)") == Type::kStr);
    CHECK(MapType("fmt(\"{{}}\")") == Type::kStr);
    CHECK(MapType("fmt(f, NR)", "let f = \"#{}\"\n") == Type::kStr);
    CHECK(MapDiagnostics("fmt(\"{} {}\", 1)") ==
          MapError("fmt(\"{} {}\", 1)", "fmt", "'fmt' has 2 '{}' placeholders but 1 argument"));
    CHECK(MapDiagnostics("fmt(\"x\", 1)") ==
          MapError("fmt(\"x\", 1)", "fmt", "'fmt' has 0 '{}' placeholders but 1 argument"));
    CHECK(MapDiagnostics("fmt(\"{0}\", 1)") ==
          MapError("fmt(\"{0}\", 1)", "\"{0}\"", "'fmt' takes '{}' placeholders only; write '{{' for a literal '{'"));
    CHECK(MapDiagnostics("fmt(\"a}\")") ==
          MapError("fmt(\"a}\")", "\"a}\"", "'fmt' takes '{}' placeholders only; write '}}' for a literal '}'"));
    CHECK(MapDiagnostics("fmt($1, 2)") ==
          MapError("fmt($1, 2)", "$1", "the format of 'fmt' must be a constant string"));
  }

  TEST_CASE("regexes are compiled at check time") {
    CHECK(MapType("matches($0, \"^a+$\")") == Type::kBool);
    CHECK(MapType("capture($0, \"(a)(b)\", 2)") == Type::kStr);
    CHECK(MapType("capture($0, \"(a)\", NF)") == Type::kStr);
    CHECK(MapType("matches($0, re)", "let re = r\"\\d+\"\n") == Type::kBool);
    CHECK(MapDiagnostics("matches($0, \"(abc\")") ==
          MapError("matches($0, \"(abc\")", "\"(abc", "invalid regex: missing closing parenthesis"));
    CHECK(MapDiagnostics("matches($0, $1)") ==
          MapError("matches($0, $1)", "$1", "the regex of 'matches' must be a constant string"));
    CHECK(MapDiagnostics("capture($0, \"(a)(b)\", 3)") ==
          MapError("capture($0, \"(a)(b)\", 3)", "3", "capture group 3 does not exist: the regex has 2 groups"));
    CHECK(MapDiagnostics("capture($0, \"a\", -1)") ==
          MapError("capture($0, \"a\", -1)", "-1", "capture group -1 does not exist: the regex has 0 groups"));
    CHECK(MapDiagnostics("capture($0, \"(a)\", 1)") == "");
  }

  TEST_CASE("durations and sizes are errors inside a block") {
    CHECK(MapDiagnostics("5s") == MapError("5s", "5s", "a duration cannot be used inside a block"));
    CHECK(MapDiagnostics("str(4MiB)") == MapError("str(4MiB)", "4MiB", "a size cannot be used inside a block"));
    CHECK(MapDiagnostics("t", "let t = 250ms\n") ==
          MapError("t", "t }", "a duration cannot be used inside a block", "let t = 250ms\n"));
  }

  TEST_CASE("a field index must be an int") {
    CHECK(MapDiagnostics("$(\"a\")") ==
          MapError("$(\"a\")", "\"a\"", "a field index '$(...)' must be an int, got str"));
  }

  TEST_CASE("the block of filter must be a bool, of sum a number") {
    CHECK(Check("seq(3) | filter { NR > 1 } | discard\n").diagnostics == "");
    std::string text = "seq(3) | filter { NR } | discard\n";
    CHECK(Check(text).diagnostics == ErrorAt(text, "NR", "the block of 'filter' must be a bool, got int"));
    CHECK(Check("seq(3) | sum { NR * 1.5 } | discard\n").diagnostics == "");
    text = "seq(3) | sum { $1 } | discard\n";
    CHECK(Check(text).diagnostics == ErrorAt(text, "$1", "the block of 'sum' must be an int or a float, got str"));
  }

  TEST_CASE("block lets get slots and shadow globals") {
    std::shared_ptr<const Block> block =
        MapBlock("let a = $1; let b = len(a) + 0.5; let a = b > 2.0; a", "let a = 1\n");
    REQUIRE(block->lets.size() == 3);
    CHECK(block->lets[0].value->type == Type::kStr);
    CHECK(block->lets[1].value->type == Type::kFloat);
    CHECK(block->lets[1].value->children[0]->function == BuiltinFunction::kLen);
    CHECK(block->lets[1].value->children[0]->children[0]->local_slot == 0);
    CHECK(block->lets[2].value->children[0]->local_slot == 1);
    CHECK(block->result->kind == ExprKind::kName);
    CHECK(block->result->local_slot == 2);
    CHECK(block->result->type == Type::kBool);
  }

  TEST_CASE("every expression of a checked block has a type; calls have their function") {
    std::shared_ptr<const Block> block = MapBlock(
        "let a = trim($1); let n = int(a, 0) + NR; n > 2 ? fmt(\"{}:{}\", a, -n) : substr($(1), 1, 2) + upper(_)");
    int untyped = 0, unresolved = 0;
    std::function<void(const Expr&)> walk = [&](const Expr& e) {
      if (e.type == Type::kUnknown) ++untyped;
      if (e.kind == ExprKind::kCall && e.function == BuiltinFunction::kNone) ++unresolved;
      for (const ExprPtr& child : e.children) walk(*child);
    };
    for (const BlockLet& let : block->lets) walk(*let.value);
    walk(*block->result);
    CHECK(untyped == 0);
    CHECK(unresolved == 0);
    CHECK(block->result->children[1]->function == BuiltinFunction::kFmt);
  }

  TEST_CASE("global constants are replaced by literals in a checked block") {
    std::shared_ptr<const Block> block = MapBlock("n * NR + k", "let n = 2 + 3\nlet k = 0.5\n");
    const Expr& sum = *block->result;
    REQUIRE(sum.children[0]->children[0]->kind == ExprKind::kIntLit);
    CHECK(sum.children[0]->children[0]->int_value == 5);
    CHECK(sum.children[0]->children[0]->type == Type::kInt);
    REQUIRE(sum.children[1]->kind == ExprKind::kFloatLit);
    CHECK(sum.children[1]->float_value == 0.5);
    CHECK(sum.type == Type::kFloat);
  }

  TEST_CASE("a block let cannot use itself or a later let; unknown names suggest") {
    CHECK(MapDiagnostics("let a = a; a") == MapError("let a = a; a", "a;", "unknown name 'a'"));
    CHECK(MapDiagnostics("count_mx", "let count_max = 3\n") ==
          MapError("count_mx", "count_mx", "unknown name 'count_mx'; did you mean 'count_max'?",
                   "let count_max = 3\n"));
  }

  TEST_CASE("record reads are errors outside a block") {
    std::string text = "let x = $1\nseq(3)\n";
    CHECK(Check(text).diagnostics == ErrorAt(text, "$1", "'$1' reads a record; it can only be used inside a block"));
    text = "seq(3) | head(NF)\n";
    CHECK(Check(text).diagnostics == ErrorAt(text, "NF", "'NF' reads a record; it can only be used inside a block"));
  }
}

}  // namespace
}  // namespace flow
