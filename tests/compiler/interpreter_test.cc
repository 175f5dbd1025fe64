#include "compiler/interpreter.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "tests/compiler/ast_builder.h"

namespace flow {
namespace {

using namespace flow::test;
using BF = BuiltinFunction;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// "int:3", "float:-0", "str:abc", "bool:true", or "error: message": the
// type and the text of a result in one string that a CHECK can compare.
std::string Show(const std::optional<Value>& v, const RecordError& error) {
  if (!v) return "error: " + error.message;
  return std::string(TypeName(v->type())) + ":" + v->ToText();
}

// Evaluates `e` as the block `{ e }` on `record`. When `e` reads no record,
// also folds it as a constant and checks that both paths agree.
std::string Eval(ExprPtr e, std::string_view record = "", const std::string& fs = "", int64_t nr = 1) {
  RecordError constant_error;
  std::optional<Value> constant = EvaluateConstant(*e, &constant_error);
  auto block = MakeBlock(std::move(e));
  BlockInterpreter interpreter(*block, fs);
  RecordError error;
  std::string shown = Show(interpreter.Evaluate(record, nr, &error), error);
  if (constant || constant_error.message.rfind("internal error", 0) != 0)
    CHECK(Show(constant, constant_error) == shown);
  return shown;
}

// The error `e` raises, to check its location.
RecordError ErrorOf(ExprPtr e, std::string_view record = "") {
  auto block = MakeBlock(std::move(e));
  BlockInterpreter interpreter(*block, "");
  RecordError error;
  CHECK_FALSE(interpreter.Evaluate(record, 1, &error));
  return error;
}

ExprPtr DivByZero() { return Bin(Op::kDiv, Int(1), Int(0), Type::kInt); }

TEST_SUITE("interpreter") {
  TEST_CASE("literals") {
    CHECK(Eval(Int(42)) == "int:42");
    CHECK(Eval(Float(1.5)) == "float:1.5");
    CHECK(Eval(Str("abc")) == "str:abc");
    CHECK(Eval(Bool(false)) == "bool:false");
  }

  TEST_CASE("integer arithmetic wraps") {
    CHECK(Eval(Bin(Op::kAdd, Int(2), Int(3), Type::kInt)) == "int:5");
    CHECK(Eval(Bin(Op::kAdd, Int(kMax), Int(1), Type::kInt)) == "int:-9223372036854775808");
    CHECK(Eval(Bin(Op::kSub, Int(kMin), Int(1), Type::kInt)) == "int:9223372036854775807");
    CHECK(Eval(Bin(Op::kMul, Int(kMax), Int(2), Type::kInt)) == "int:-2");
    CHECK(Eval(Bin(Op::kMul, Int(kMin), Int(-1), Type::kInt)) == "int:-9223372036854775808");
    CHECK(Eval(Un(Op::kNeg, Int(kMin), Type::kInt)) == "int:-9223372036854775808");
    CHECK(Eval(Un(Op::kNeg, Int(5), Type::kInt)) == "int:-5");
    CHECK(Eval(Bin(Op::kDiv, Int(kMin), Int(-1), Type::kInt)) == "int:-9223372036854775808");
    CHECK(Eval(Bin(Op::kMod, Int(kMin), Int(-1), Type::kInt)) == "int:0");
    CHECK(Eval(Bin(Op::kMod, Int(7), Int(-1), Type::kInt)) == "int:0");
  }

  TEST_CASE("integer division truncates toward zero") {
    CHECK(Eval(Bin(Op::kDiv, Int(7), Int(2), Type::kInt)) == "int:3");
    CHECK(Eval(Bin(Op::kDiv, Int(-7), Int(2), Type::kInt)) == "int:-3");
    CHECK(Eval(Bin(Op::kDiv, Int(7), Int(-2), Type::kInt)) == "int:-3");
    CHECK(Eval(Bin(Op::kMod, Int(-7), Int(2), Type::kInt)) == "int:-1");
    CHECK(Eval(Bin(Op::kMod, Int(7), Int(-2), Type::kInt)) == "int:1");
    CHECK(Eval(Bin(Op::kMod, Int(kMin), Int(kMax), Type::kInt)) == "int:-1");
  }

  TEST_CASE("integer division by zero is a record error at the operator") {
    CHECK(Eval(DivByZero()) == "error: division by zero");
    CHECK(Eval(Bin(Op::kMod, Int(1), Int(0), Type::kInt)) == "error: division by zero");
    CHECK(Eval(Bin(Op::kMod, Int(kMin), Int(0), Type::kInt)) == "error: division by zero");
    ExprPtr div = At({7, 2, 9}, DivByZero());
    RecordError error = ErrorOf(Bin(Op::kAdd, Int(1), std::move(div), Type::kInt));
    CHECK(error.loc.line == 2);
    CHECK(error.loc.column == 9);
    CHECK(error.loc.offset == 7);
  }

  TEST_CASE("float arithmetic follows IEEE 754") {
    CHECK(Eval(Bin(Op::kDiv, Float(1.0), Int(0), Type::kFloat)) == "float:inf");
    CHECK(Eval(Bin(Op::kDiv, Float(-1.0), Float(0.0), Type::kFloat)) == "float:-inf");
    CHECK(Eval(Bin(Op::kDiv, Float(0.0), Float(0.0), Type::kFloat)).ends_with("nan"));
    CHECK(Eval(Bin(Op::kMod, Float(5.5), Int(2), Type::kFloat)) == "float:1.5");
    CHECK(Eval(Bin(Op::kMod, Float(-5.5), Float(2), Type::kFloat)) == "float:-1.5");
    CHECK(Eval(Bin(Op::kMod, Float(1), Float(0), Type::kFloat)).ends_with("nan"));
    CHECK(Eval(Bin(Op::kMul, Float(0.1), Float(3), Type::kFloat)) == "float:0.30000000000000004");
    CHECK(Eval(Un(Op::kNeg, Float(0.0), Type::kFloat)) == "float:-0");
  }

  TEST_CASE("an int meeting a float is widened") {
    CHECK(Eval(Bin(Op::kAdd, Int(1), Float(0.5), Type::kFloat)) == "float:1.5");
    CHECK(Eval(Bin(Op::kSub, Float(0.5), Int(1), Type::kFloat)) == "float:-0.5");
    CHECK(Eval(Bin(Op::kDiv, Int(1), Float(4), Type::kFloat)) == "float:0.25");
    CHECK(Eval(Bin(Op::kMul, Int(3), Float(1), Type::kFloat)) == "float:3");
    CHECK(Eval(Bin(Op::kLess, Int(1), Float(1.5), Type::kBool)) == "bool:true");
    CHECK(Eval(Bin(Op::kEq, Int(2), Float(2.0), Type::kBool)) == "bool:true");
    CHECK(Eval(Bin(Op::kGreaterEq, Float(-0.5), Int(0), Type::kBool)) == "bool:false");
  }

  TEST_CASE("comparisons") {
    CHECK(Eval(Bin(Op::kLess, Int(-1), Int(0), Type::kBool)) == "bool:true");
    CHECK(Eval(Bin(Op::kLessEq, Int(1), Int(1), Type::kBool)) == "bool:true");
    CHECK(Eval(Bin(Op::kGreater, Int(1), Int(1), Type::kBool)) == "bool:false");
    CHECK(Eval(Bin(Op::kNotEq, Int(1), Int(2), Type::kBool)) == "bool:true");
    CHECK(Eval(Bin(Op::kLess, Str("a"), Str("b"), Type::kBool)) == "bool:true");
    CHECK(Eval(Bin(Op::kLess, Str(""), Str("a"), Type::kBool)) == "bool:true");
    CHECK(Eval(Bin(Op::kGreater, Str("ab"), Str("a"), Type::kBool)) == "bool:true");
    CHECK(Eval(Bin(Op::kGreater, Str("B"), Str("a"), Type::kBool)) == "bool:false");
    // Bytes compare unsigned: 0xff sorts after every ASCII byte.
    CHECK(Eval(Bin(Op::kGreater, Str("\xff"), Str("a"), Type::kBool)) == "bool:true");
    CHECK(Eval(Bin(Op::kLess, Str("\xc3\xa9"), Str("z"), Type::kBool)) == "bool:false");
    CHECK(Eval(Bin(Op::kEq, Str("x"), Str("x"), Type::kBool)) == "bool:true");
    CHECK(Eval(Bin(Op::kEq, Bool(true), Bool(true), Type::kBool)) == "bool:true");
    CHECK(Eval(Bin(Op::kNotEq, Bool(true), Bool(false), Type::kBool)) == "bool:true");
  }

  TEST_CASE("NaN compares as IEEE says") {
    CHECK(Eval(Bin(Op::kEq, Float(kNaN), Float(kNaN), Type::kBool)) == "bool:false");
    CHECK(Eval(Bin(Op::kNotEq, Float(kNaN), Float(kNaN), Type::kBool)) == "bool:true");
    CHECK(Eval(Bin(Op::kLess, Float(kNaN), Int(1), Type::kBool)) == "bool:false");
    CHECK(Eval(Bin(Op::kGreaterEq, Float(kNaN), Int(1), Type::kBool)) == "bool:false");
  }

  TEST_CASE("string concatenation") {
    CHECK(Eval(Bin(Op::kAdd, Str("a"), Str("b"), Type::kStr)) == "str:ab");
    CHECK(Eval(Bin(Op::kAdd, Field(1), Str("!"), Type::kStr), "hi there") == "str:hi!");
  }

  TEST_CASE("&& and || short-circuit") {
    ExprPtr fails = Bin(Op::kEq, DivByZero(), Int(0), Type::kBool);
    CHECK(Eval(Bin(Op::kAnd, Bool(false), std::move(fails), Type::kBool)) == "bool:false");
    fails = Bin(Op::kEq, DivByZero(), Int(0), Type::kBool);
    CHECK(Eval(Bin(Op::kOr, Bool(true), std::move(fails), Type::kBool)) == "bool:true");
    fails = Bin(Op::kEq, DivByZero(), Int(0), Type::kBool);
    CHECK(Eval(Bin(Op::kAnd, Bool(true), std::move(fails), Type::kBool)) == "error: division by zero");
    CHECK(Eval(Bin(Op::kAnd, Bool(true), Bool(false), Type::kBool)) == "bool:false");
    CHECK(Eval(Bin(Op::kOr, Bool(false), Bool(true), Type::kBool)) == "bool:true");
    CHECK(Eval(Bin(Op::kOr, Bool(false), Bool(false), Type::kBool)) == "bool:false");
    CHECK(Eval(Un(Op::kNot, Bool(false), Type::kBool)) == "bool:true");
  }

  TEST_CASE("?: evaluates only the chosen branch") {
    CHECK(Eval(Cond(Bool(true), Int(1), DivByZero(), Type::kInt)) == "int:1");
    CHECK(Eval(Cond(Bool(false), DivByZero(), Int(2), Type::kInt)) == "int:2");
    CHECK(Eval(Cond(Bool(false), Int(1), DivByZero(), Type::kInt)) == "error: division by zero");
    // An int branch of a float conditional is widened.
    CHECK(Eval(Cond(Bool(true), Int(1), Float(2.5), Type::kFloat)) == "float:1");
    CHECK(Eval(Cond(Bool(false), Int(1), Float(2.5), Type::kFloat)) == "float:2.5");
    CHECK(Eval(Cond(Bool(false), Float(0.5), Int(3), Type::kFloat)) == "float:3");
    CHECK(Eval(Cond(Bool(true), Str("y"), Str("n"), Type::kStr)) == "str:y");
  }

  TEST_CASE("fields, NF and NR") {
    CHECK(Eval(Field(0), "  a b  ") == "str:  a b  ");
    CHECK(Eval(Field(1), "  a b  ") == "str:a");
    CHECK(Eval(Field(2), "  a \t b  ") == "str:b");
    CHECK(Eval(Field(3), "a b") == "str:");
    CHECK(Eval(NF(), "a b") == "int:2");
    CHECK(Eval(NF(), "") == "int:0");
    CHECK(Eval(NF(), "", ",") == "int:0");
    CHECK(Eval(NF(), "a,,b", ",") == "int:3");
    CHECK(Eval(Field(2), "a,,b", ",") == "str:");
    CHECK(Eval(Field(3), "a,,b", ",") == "str:b");
    CHECK(Eval(FieldAt(Int(2)), "x y z") == "str:y");
    CHECK(Eval(FieldAt(Int(0)), "x y z") == "str:x y z");
    CHECK(Eval(FieldAt(Int(kMax)), "x y z") == "str:");
    CHECK(Eval(FieldAt(NF()), "x y z") == "str:z");
    CHECK(Eval(NR(), "x", "", 17) == "int:17");
  }

  TEST_CASE("a negative computed field index is a record error") {
    CHECK(Eval(FieldAt(Int(-3)), "x") == "error: field index -3 is negative");
    RecordError error = ErrorOf(At({3, 4, 5}, FieldAt(Int(-1))), "x");
    CHECK(error.loc.line == 4);
    CHECK(error.loc.column == 5);
  }

  TEST_CASE("block lets are evaluated once per record, in order") {
    auto block = MakeBlock(Bin(Op::kAdd, Local(1, Type::kStr, "b"), Local(0, Type::kStr, "a"), Type::kStr));
    AddLet(*block, "a", Field(2));
    AddLet(*block, "b", Bin(Op::kAdd, Local(0, Type::kStr, "a"), Str("-"), Type::kStr));
    BlockInterpreter interpreter(*block, ",");
    block.reset();  // the interpreter keeps its own copy
    RecordError error;
    CHECK(Show(interpreter.Evaluate("1,2", 1, &error), error) == "str:2-2");
    CHECK(Show(interpreter.Evaluate("x,y,z", 2, &error), error) == "str:y-y");
    CHECK(Show(interpreter.Evaluate("x", 3, &error), error) == "str:-");
  }

  TEST_CASE("a failing let fails the record even when unused") {
    auto block = MakeBlock(Str("ok"));
    AddLet(*block, "n", Call(BF::kInt, Type::kInt, Field(1)));
    BlockInterpreter interpreter(*block, "");
    RecordError error;
    CHECK(Show(interpreter.Evaluate("12", 1, &error), error) == "str:ok");
    CHECK(Show(interpreter.Evaluate("x12", 2, &error), error) == "error: cannot convert 'x12' to int");
    CHECK(Show(interpreter.Evaluate("3", 3, &error), error) == "str:ok");
  }

  TEST_CASE("len, upper, lower, trim") {
    CHECK(Eval(Call(BF::kLen, Type::kInt, Str("\xc3\xa9"))) == "int:2");
    CHECK(Eval(Call(BF::kLen, Type::kInt, Str(""))) == "int:0");
    CHECK(Eval(Call(BF::kLen, Type::kInt, Field(0)), std::string_view("a\0b", 3)) == "int:3");
    CHECK(Eval(Call(BF::kUpper, Type::kStr, Str("abc \xc3\xa9"))) == "str:ABC \xc3\xa9");
    CHECK(Eval(Call(BF::kLower, Type::kStr, Str("ABC \xc3\x89"))) == "str:abc \xc3\x89");
    CHECK(Eval(Call(BF::kTrim, Type::kStr, Str(" \tx y\r\n"))) == "str:x y");
  }

  TEST_CASE("substr") {
    CHECK(Eval(Call(BF::kSubstr, Type::kStr, Str("flow"), Int(2), Int(2))) == "str:lo");
    CHECK(Eval(Call(BF::kSubstr, Type::kStr, Str("hello"), Int(0))) == "str:hello");
    CHECK(Eval(Call(BF::kSubstr, Type::kStr, Str("hello"), Int(-1), Int(3))) == "str:h");
    CHECK(Eval(Call(BF::kSubstr, Type::kStr, Str("hello"), Int(2), Int(100))) == "str:ello");
    CHECK(Eval(Call(BF::kSubstr, Type::kStr, Str("hello"), Int(2), Int(0))) == "str:");
    CHECK(Eval(Call(BF::kSubstr, Type::kStr, Str("hello"), Int(2), Int(-4))) == "str:");
    CHECK(Eval(Call(BF::kSubstr, Type::kStr, Str("hello"), Int(9))) == "str:");
  }

  TEST_CASE("contains, starts_with, ends_with, find, replace") {
    CHECK(Eval(Call(BF::kContains, Type::kBool, Str("flow"), Str("lo"))) == "bool:true");
    CHECK(Eval(Call(BF::kContains, Type::kBool, Str("flow"), Str("x"))) == "bool:false");
    CHECK(Eval(Call(BF::kContains, Type::kBool, Str("flow"), Str(""))) == "bool:true");
    CHECK(Eval(Call(BF::kStartsWith, Type::kBool, Str("flow"), Str("fl"))) == "bool:true");
    CHECK(Eval(Call(BF::kStartsWith, Type::kBool, Str("flow"), Str("lo"))) == "bool:false");
    CHECK(Eval(Call(BF::kEndsWith, Type::kBool, Str("flow"), Str("ow"))) == "bool:true");
    CHECK(Eval(Call(BF::kEndsWith, Type::kBool, Str("ow"), Str("flow"))) == "bool:false");
    CHECK(Eval(Call(BF::kFind, Type::kInt, Str("flow"), Str("ow"))) == "int:3");
    CHECK(Eval(Call(BF::kFind, Type::kInt, Str("flow"), Str("x"))) == "int:0");
    CHECK(Eval(Call(BF::kFind, Type::kInt, Str("flow"), Str(""))) == "int:1");
    CHECK(Eval(Call(BF::kReplace, Type::kStr, Str("a.b.c"), Str("."), Str("::"))) == "str:a::b::c");
    CHECK(Eval(Call(BF::kReplace, Type::kStr, Str("abc"), Str(""), Str("x"))) == "str:abc");
  }

  TEST_CASE("field(s, i[, sep])") {
    CHECK(Eval(Call(BF::kField, Type::kStr, Str(" a  b "), Int(2))) == "str:b");
    CHECK(Eval(Call(BF::kField, Type::kStr, Str(" a  b "), Int(0))) == "str: a  b ");
    CHECK(Eval(Call(BF::kField, Type::kStr, Str(" a  b "), Int(3))) == "str:");
    CHECK(Eval(Call(BF::kField, Type::kStr, Str("k=v=w"), Int(2), Str("="))) == "str:v");
    CHECK(Eval(Call(BF::kField, Type::kStr, Str("a,,b"), Int(3), Str(","))) == "str:b");
    // Without `sep`, awk's default, not the stage's separator.
    CHECK(Eval(Call(BF::kField, Type::kStr, Field(1), Int(2)), "x y,z", ",") == "str:y");
    CHECK(Eval(Call(BF::kField, Type::kStr, Str("a"), Int(-3))) == "error: field index -3 is negative");
    CHECK(Eval(Call(BF::kField, Type::kStr, Str("a"), Int(1), Str(""))) ==
          "error: field separator must not be empty");
  }

  TEST_CASE("int()") {
    CHECK(Eval(Call(BF::kInt, Type::kInt, Str(" 42 "))) == "int:42");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Str("-9223372036854775808"))) == "int:-9223372036854775808");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Str("4x"))) == "error: cannot convert '4x' to int");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Str(""))) == "error: cannot convert '' to int");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Str("9223372036854775808"))) ==
          "error: cannot convert '9223372036854775808' to int");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Str("4x"), Int(-1))) == "int:-1");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Str(""), Int(0))) == "int:0");
    // The default is evaluated only when the conversion fails.
    CHECK(Eval(Call(BF::kInt, Type::kInt, Str("5"), DivByZero())) == "int:5");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Str("x"), DivByZero())) == "error: division by zero");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Float(3.9))) == "int:3");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Float(-3.9))) == "int:-3");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Float(kNaN))) == "error: cannot convert nan to int");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Float(1e300))) == "error: cannot convert 1e+300 to int");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Float(-kInf))) == "error: cannot convert -inf to int");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Float(kNaN), Int(7))) == "int:7");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Bool(true))) == "int:1");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Bool(false))) == "int:0");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Int(kMin))) == "int:-9223372036854775808");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Field(2)), "a 17 b") == "int:17");
  }

  TEST_CASE("a long value in a message is cut") {
    std::string record = "x" + std::string(60, '9');
    CHECK(Eval(Call(BF::kInt, Type::kInt, Field(0)), record) ==
          "error: cannot convert 'x" + std::string(39, '9') + "…' to int");
    CHECK(Eval(Call(BF::kInt, Type::kInt, Str("a\nb"))) == "error: cannot convert 'a\\nb' to int");
  }

  TEST_CASE("float()") {
    CHECK(Eval(Call(BF::kFloat, Type::kFloat, Str(" 1e3 "))) == "float:1000");
    CHECK(Eval(Call(BF::kFloat, Type::kFloat, Str("nan"))) == "float:nan");
    CHECK(Eval(Call(BF::kFloat, Type::kFloat, Str("-Inf"))) == "float:-inf");
    CHECK(Eval(Call(BF::kFloat, Type::kFloat, Str("abc"))) == "error: cannot convert 'abc' to float");
    CHECK(Eval(Call(BF::kFloat, Type::kFloat, Str(""))) == "error: cannot convert '' to float");
    CHECK(Eval(Call(BF::kFloat, Type::kFloat, Str("abc"), Float(0.5))) == "float:0.5");
    CHECK(Eval(Call(BF::kFloat, Type::kFloat, Str("abc"), Int(2))) == "float:2");
    CHECK(Eval(Call(BF::kFloat, Type::kFloat, Str("1"), DivByZero())) == "float:1");
    CHECK(Eval(Call(BF::kFloat, Type::kFloat, Int(3))) == "float:3");
    CHECK(Eval(Call(BF::kFloat, Type::kFloat, Int(kMax))) == "float:9.223372036854776e+18");
    CHECK(Eval(Call(BF::kFloat, Type::kFloat, Float(2.5))) == "float:2.5");
    CHECK(Eval(Call(BF::kFloat, Type::kFloat, Bool(true))) == "float:1");
  }

  TEST_CASE("str() writes values as map does") {
    CHECK(Eval(Call(BF::kStr, Type::kStr, Float(1.0))) == "str:1");
    CHECK(Eval(Call(BF::kStr, Type::kStr, Float(0.1))) == "str:0.1");
    CHECK(Eval(Call(BF::kStr, Type::kStr, Float(1e21))) == "str:1e+21");
    CHECK(Eval(Call(BF::kStr, Type::kStr, Float(-0.0))) == "str:-0");
    CHECK(Eval(Call(BF::kStr, Type::kStr, Float(1.5e-7))) == "str:1.5e-07");
    CHECK(Eval(Call(BF::kStr, Type::kStr, Float(kInf))) == "str:inf");
    CHECK(Eval(Call(BF::kStr, Type::kStr, Int(-42))) == "str:-42");
    CHECK(Eval(Call(BF::kStr, Type::kStr, Bool(true))) == "str:true");
    CHECK(Eval(Call(BF::kStr, Type::kStr, Str("s"))) == "str:s");
  }

  TEST_CASE("fmt()") {
    CHECK(Eval(Call(BF::kFmt, Type::kStr, Str("{} {} {} {}"), Int(1), Float(2.5), Bool(false), Str("x"))) ==
          "str:1 2.5 false x");
    CHECK(Eval(Call(BF::kFmt, Type::kStr, Str("{{{}}}"), Float(0.1))) == "str:{0.1}");
    CHECK(Eval(Call(BF::kFmt, Type::kStr, Str("none"))) == "str:none");
    CHECK(Eval(Call(BF::kFmt, Type::kStr, Str("{}"), DivByZero())) == "error: division by zero");
  }

  TEST_CASE("min and max") {
    CHECK(Eval(Call(BF::kMin, Type::kInt, Int(3), Int(-2))) == "int:-2");
    CHECK(Eval(Call(BF::kMax, Type::kInt, Int(3), Int(-2), Int(9))) == "int:9");
    CHECK(Eval(Call(BF::kMin, Type::kFloat, Float(0.5), Float(-0.5))) == "float:-0.5");
    CHECK(Eval(Call(BF::kMin, Type::kFloat, Int(1), Float(2.5))) == "float:1");
    CHECK(Eval(Call(BF::kMax, Type::kFloat, Int(3), Float(2.5), Int(1))) == "float:3");
    CHECK(Eval(Call(BF::kMin, Type::kStr, Str("b"), Str("a"), Str("c"))) == "str:a");
    CHECK(Eval(Call(BF::kMax, Type::kStr, Str("b"), Str("\xff"), Str("c"))) == "str:\xff");
    // Ties keep the first argument; with NaN the earlier argument stays.
    CHECK(Eval(Call(BF::kMin, Type::kFloat, Float(0.0), Float(-0.0))) == "float:0");
    CHECK(Eval(Call(BF::kMin, Type::kFloat, Float(kNaN), Float(1))) == "float:nan");
    CHECK(Eval(Call(BF::kMin, Type::kFloat, Float(1), Float(kNaN))) == "float:1");
    CHECK(Eval(Call(BF::kMax, Type::kFloat, Float(kNaN), Float(1))) == "float:nan");
    CHECK(Eval(Call(BF::kMax, Type::kFloat, Float(1), Float(kNaN), Float(2))) == "float:2");
  }

  TEST_CASE("abs and hash") {
    CHECK(Eval(Call(BF::kAbs, Type::kInt, Int(-5))) == "int:5");
    CHECK(Eval(Call(BF::kAbs, Type::kInt, Int(kMin))) == "int:-9223372036854775808");
    CHECK(Eval(Call(BF::kAbs, Type::kFloat, Float(-2.5))) == "float:2.5");
    CHECK(Eval(Call(BF::kAbs, Type::kFloat, Float(-0.0))) == "float:0");
    // FNV-1a of "a" is 0xaf63dc4c8601ec8c (computed in Python).
    CHECK(Eval(Call(BF::kHash, Type::kInt, Str("a"))) == "int:-5808556873153909620");
    CHECK(Eval(Call(BF::kHash, Type::kInt, Field(1)), "flow x") == "int:-3043359704921892267");
  }

  TEST_CASE("matches and capture") {
    CHECK(Eval(Call(BF::kMatches, Type::kBool, Field(0), Str("^a+b")), "aaab") == "bool:true");
    CHECK(Eval(Call(BF::kMatches, Type::kBool, Field(0), Str("b$")), "abc") == "bool:false");
    CHECK(Eval(Call(BF::kMatches, Type::kBool, Str("xay"), Str("a"))) == "bool:true");  // unanchored
    CHECK(Eval(Call(BF::kCapture, Type::kStr, Str("k=v"), Str("(\\w+)=(\\w+)"), Int(2))) == "str:v");
    CHECK(Eval(Call(BF::kCapture, Type::kStr, Str("k=v"), Str("(\\w+)=(\\w+)"), Int(0))) == "str:k=v");
    CHECK(Eval(Call(BF::kCapture, Type::kStr, Str("nothing"), Str("(\\d+)"), Int(1))) == "str:");
    // A group that took no part in the match, in the middle and at the end.
    CHECK(Eval(Call(BF::kCapture, Type::kStr, Str("b"), Str("(a)|(b)"), Int(1))) == "str:");
    CHECK(Eval(Call(BF::kCapture, Type::kStr, Str("a"), Str("(a)|(b)"), Int(2))) == "str:");
    CHECK(Eval(Call(BF::kCapture, Type::kStr, Str("a"), Str("(a)"), Int(2))) ==
          "error: capture group 2 does not exist (the regex has 1)");
  }

  TEST_CASE("one interpreter serves many records") {
    auto block = MakeBlock(Call(BF::kCapture, Type::kStr, Field(0), Str("id=(\\d+)"), Int(1)));
    BlockInterpreter interpreter(*block, "");
    RecordError error;
    CHECK(Show(interpreter.Evaluate("id=12 x", 1, &error), error) == "str:12");
    CHECK(Show(interpreter.Evaluate("none", 2, &error), error) == "str:");
    CHECK(Show(interpreter.Evaluate("a id=7", 3, &error), error) == "str:7");
  }

  TEST_CASE("a regex run-time failure is a record error") {
    // Catastrophic backtracking hits PCRE2's match limit.
    std::string subject = std::string(40, 'a') + "b";
    CHECK(Eval(Call(BF::kMatches, Type::kBool, Str(subject), Str("^(a+)+$"))) ==
          "error: regex failed: match limit exceeded");
  }

  TEST_CASE("constants") {
    RecordError error;
    ExprPtr e = Call(BF::kInt, Type::kInt, Str("42"));
    CHECK(Show(EvaluateConstant(*e, &error), error) == "int:42");
    e = DivByZero();
    CHECK(Show(EvaluateConstant(*e, &error), error) == "error: division by zero");
    CHECK(error.loc.column == e->loc.column);
    e = Bin(Op::kAdd, Field(1), Str("x"), Type::kStr);
    CHECK(Show(EvaluateConstant(*e, &error), error) ==
          "error: internal error: a constant expression cannot read the record");
    e = NF();
    CHECK_FALSE(EvaluateConstant(*e, &error));
    e = NR();
    CHECK_FALSE(EvaluateConstant(*e, &error));
    e = FieldAt(Int(1));
    CHECK_FALSE(EvaluateConstant(*e, &error));
    e = Local(0, Type::kInt, "n");
    CHECK(Show(EvaluateConstant(*e, &error), error) ==
          "error: internal error: name 'n' was not resolved to an evaluated block 'let'");
    e = Call(BF::kMatches, Type::kBool, Str("abc"), Str("b"));
    CHECK(Show(EvaluateConstant(*e, &error), error) == "bool:true");
    e = Node(ExprKind::kDurationLit, Type::kDuration);
    e->int_value = 5'000'000'000;
    CHECK(Show(EvaluateConstant(*e, &error), error) == "duration:5s");
  }
}

}  // namespace
}  // namespace flow
