// Random well-typed flow programs with one block, and random records, for
// the differential test of the JIT against the interpreter. Programs are
// source text (parsed and checked like any program), built type-directed so
// that they check: every operator and function of section 5, global and
// block lets (shadowing included), nested ?:, $(expr), NF and NR.
#pragma once

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "compiler/value.h"

namespace flow::jittest {

class ProgramGenerator {
 public:
  explicit ProgramGenerator(uint64_t seed) : rng_(seed) {}

  // "let g0 = ...\nseq(1) | map { let a0 = ...; result }\n"
  std::string Program() {
    names_.clear();
    in_block_ = false;
    std::string out;
    const size_t globals = Pick(3);
    for (size_t i = 0; i < globals; ++i) {
      const Type t = AnyType();
      out += "let g" + std::to_string(i) + " = " + Gen(t, static_cast<int>(Pick(3))) + "\n";
      names_.push_back({"g" + std::to_string(i), t});
    }
    in_block_ = true;
    out += "seq(1) | map { ";
    const size_t lets = Pick(4);
    bool shadowed = false;
    for (size_t i = 0; i < lets; ++i) {
      const Type t = AnyType();
      std::string name = "a" + std::to_string(i);
      if (globals > 0 && !shadowed && Chance(20)) {
        name = "g0";  // shadows the global, possibly with another type
        shadowed = true;
      }
      out += "let " + name + " = " + Gen(t, static_cast<int>(Pick(4))) + "; ";
      std::erase_if(names_, [&](const NameType& n) { return n.name == name; });
      names_.push_back({name, t});
    }
    out += Gen(AnyType(), 1 + static_cast<int>(Pick(4))) + " }\n";
    return out;
  }

  std::string FieldSeparator() {
    static const char* const kSeparators[] = {"", "", "", ",", "::", "\t", " ", "a"};
    return kSeparators[Pick(std::size(kSeparators))];
  }

  // Records full of what trips conversions and splitting up.
  std::string Record(const std::string& fs) {
    if (Chance(5)) {
      std::string bytes(Pick(20), '\0');
      for (char& c : bytes) c = static_cast<char>(Pick(256));
      return bytes;
    }
    static const std::vector<std::string> kValues = {
        "", "0", "-0", "42", " 42 ", "42\r", "-7", "+7", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "99999999999999999999", "1e400", "1e-400", "1e-310", "nan", "-nan", "NaN", "inf",
        "-Infinity", "1.5", ".5", "5.", "0x10", "4x", "abc", "ABC", "aaab", "x", "y", "xy", "é", "\xff\xfe",
        std::string("a\0b", 3), "a,b", "a::b", "x y", "\t", "{}", "1", "2", "3", "-1", "abc 42", "1e308", "2e-3",
        "abc", "xay", "(a)"};
    const size_t n = Pick(7);
    std::string out;
    if (fs.empty() && Chance(30)) out += Chance(50) ? " " : "\t ";
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) out += fs.empty() ? std::string(1 + Pick(2), Chance(70) ? ' ' : '\t') : fs;
      out += kValues[Pick(kValues.size())];
    }
    if (fs.empty() && Chance(30)) out += " ";
    return out;
  }

  int64_t RecordNumber() {
    static const int64_t kNumbers[] = {1, 2, 7, 1000, std::numeric_limits<int64_t>::max()};
    return kNumbers[Pick(std::size(kNumbers))];
  }

 private:
  struct NameType {
    std::string name;
    Type type;
  };
  struct RegexCase {
    const char* literal;  // as written in the program
    int groups;
  };

  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(int percent) { return static_cast<int>(Pick(100)) < percent; }
  Type AnyType() {
    static const Type kTypes[] = {Type::kInt, Type::kFloat, Type::kStr, Type::kBool};
    return kTypes[Pick(4)];
  }
  Type NumberType() { return Chance(50) ? Type::kInt : Type::kFloat; }

  template <size_t N>
  std::string OneOf(const char* const (&choices)[N]) {
    return choices[Pick(N)];
  }

  // A visible name of type `t`, or "".
  std::string NameOf(Type t) {
    std::vector<std::string> found;
    for (const NameType& n : names_)
      if (n.type == t) found.push_back(n.name);
    return found.empty() ? "" : found[Pick(found.size())];
  }

  std::string Gen(Type t, int depth) {
    if (depth <= 0 || Chance(15)) return Leaf(t);
    switch (t) {
      case Type::kInt: return IntExpr(depth - 1);
      case Type::kFloat: return FloatExpr(depth - 1);
      case Type::kStr: return StrExpr(depth - 1);
      default: return BoolExpr(depth - 1);
    }
  }

  std::string Leaf(Type t) {
    if (Chance(25)) {
      std::string name = NameOf(t);
      if (!name.empty()) return name;
    }
    switch (t) {
      case Type::kInt: {
        if (in_block_ && Chance(25)) return Chance(50) ? "NF" : "NR";
        static const char* const kInts[] = {"0", "1", "2", "3", "7", "10", "255", "1000000",
                                            "9223372036854775807", "(-9223372036854775807 - 1)", "(-1)", "(-42)"};
        return OneOf(kInts);
      }
      case Type::kFloat: {
        static const char* const kFloats[] = {"0.0", "1.5", "(-2.5)", "1e308", "2e-3", "0.1", "(-0.0)", "3.0"};
        return OneOf(kFloats);
      }
      case Type::kStr: {
        if (in_block_ && Chance(40)) return Chance(10) ? "_" : "$" + std::to_string(Pick(7));
        static const char* const kStrs[] = {"\"\"", "\"a\"", "\"abc\"", "\" x \"", "\"é\"", "\"\\t\"",
                                            "\"a,b\"", "\"\\0\"", "\"42\"", "\"-0\"", "\"nan\"", "\"1e400\"",
                                            "\" 7 \"", "\"x y\"", "\"{}\"", "\"\\xff\"", "\"1.5\"", "\"::\""};
        return OneOf(kStrs);
      }
      default: return Chance(50) ? "true" : "false";
    }
  }

  std::string Call(const std::string& name, const std::vector<std::string>& args) {
    std::string out = name + "(";
    for (size_t i = 0; i < args.size(); ++i) out += (i ? ", " : "") + args[i];
    return out + ")";
  }

  std::string Binary(const std::string& a, const std::string& op, const std::string& b) {
    return "(" + a + " " + op + " " + b + ")";
  }

  std::string Conditional(int d, Type a, Type b) {
    return "(" + Gen(Type::kBool, d) + " ? " + Gen(a, d) + " : " + Gen(b, d) + ")";
  }

  // min/max of 2 or 3 values of `t` (numbers: any mix, with a float when
  // `t` is float).
  std::string MinMax(int d, Type t) {
    std::vector<std::string> args;
    const size_t n = 2 + Pick(2);
    const size_t float_at = Pick(n);
    for (size_t i = 0; i < n; ++i) {
      Type arg = t == Type::kStr ? Type::kStr : t == Type::kFloat && i == float_at ? Type::kFloat : NumberType();
      if (t == Type::kInt) arg = Type::kInt;
      args.push_back(Gen(arg, d));
    }
    return Call(Chance(50) ? "min" : "max", args);
  }

  const RegexCase& Regex() {
    static const RegexCase kRegexes[] = {
        {"\"a+\"", 0},        {"r\"^(\\w+)\\s+(\\d+)?\"", 2}, {"\"(x)|(y)\"", 2}, {"\"[0-9]+\"", 0},
        {"\"é\"", 0},         {"\"(?i)ABC\"", 0},            {"\"^$\"", 0},       {"\"(a)(b)?(c)\"", 3},
        {"\"\\\\.\"", 0},     {"\",\"", 0},
    };
    return kRegexes[Pick(std::size(kRegexes))];
  }

  // What int() and float() convert: mostly text, sometimes numbers.
  std::string Convertible(int d) {
    const size_t k = Pick(10);
    if (k < 6) return Gen(Type::kStr, d);
    if (k < 8) return Gen(Type::kFloat, d);
    return Gen(k == 8 ? Type::kInt : Type::kBool, d);
  }

  std::string IntExpr(int d) {
    static const char* const kOps[] = {"+", "-", "*", "/", "%"};
    switch (Pick(11)) {
      case 0: return Binary(Gen(Type::kInt, d), OneOf(kOps), Gen(Type::kInt, d));
      case 1: return "(-" + Gen(Type::kInt, d) + ")";
      case 2: return Conditional(d, Type::kInt, Type::kInt);
      case 3: return Call("len", {Gen(Type::kStr, d)});
      case 4: return Call("find", {Gen(Type::kStr, d), Gen(Type::kStr, d)});
      case 5: return Call("hash", {Gen(Type::kStr, d)});
      case 6:
      case 7: {
        std::vector<std::string> args = {Convertible(d)};
        if (Chance(50)) args.push_back(Gen(Type::kInt, d));
        return Call("int", args);
      }
      case 8: return Call("abs", {Gen(Type::kInt, d)});
      case 9: return MinMax(d, Type::kInt);
      default: return Leaf(Type::kInt);
    }
  }

  std::string FloatExpr(int d) {
    static const char* const kOps[] = {"+", "-", "*", "/", "%"};
    switch (Pick(8)) {
      case 0:
      case 1: {
        const size_t shape = Pick(3);  // float op float, float op int, int op float
        return Binary(Gen(shape == 2 ? Type::kInt : Type::kFloat, d), OneOf(kOps),
                      Gen(shape == 1 ? Type::kInt : Type::kFloat, d));
      }
      case 2: return "(-" + Gen(Type::kFloat, d) + ")";
      case 3: {
        const size_t shape = Pick(3);
        return Conditional(d, shape == 2 ? Type::kInt : Type::kFloat, shape == 1 ? Type::kInt : Type::kFloat);
      }
      case 4:
      case 5: {
        std::vector<std::string> args = {Convertible(d)};
        if (Chance(50)) args.push_back(Gen(NumberType(), d));
        return Call("float", args);
      }
      case 6: return Call("abs", {Gen(Type::kFloat, d)});
      default: return MinMax(d, Type::kFloat);
    }
  }

  std::string StrExpr(int d) {
    switch (Pick(13)) {
      case 0: return Binary(Gen(Type::kStr, d), "+", Gen(Type::kStr, d));
      case 1:
        if (!in_block_) return Leaf(Type::kStr);
        return "$(" + (Chance(60) ? std::to_string(Pick(7)) : Chance(50) ? "NF" : Gen(Type::kInt, d)) + ")";
      case 2: return Call(Chance(33) ? "upper" : Chance(50) ? "lower" : "trim", {Gen(Type::kStr, d)});
      case 3: {
        std::vector<std::string> args = {Gen(Type::kStr, d), SmallInt(d)};
        if (Chance(50)) args.push_back(SmallInt(d));
        return Call("substr", args);
      }
      case 4: return Call("replace", {Gen(Type::kStr, d), Gen(Type::kStr, d), Gen(Type::kStr, d)});
      case 5: {
        static const char* const kSeparators[] = {"\",\"", "\" \"", "\"::\"", "\"a\""};
        std::vector<std::string> args = {Gen(Type::kStr, d), SmallInt(d)};
        if (Chance(60)) args.push_back(Chance(70) ? OneOf(kSeparators) : Gen(Type::kStr, d));
        return Call("field", args);
      }
      case 6: return Call("str", {Gen(AnyType(), d)});
      case 7:
      case 8: return Fmt(d);
      case 9: return MinMax(d, Type::kStr);
      case 10: {
        const RegexCase& re = Regex();
        const std::string group = Chance(60) ? std::to_string(Pick(static_cast<size_t>(re.groups) + 1)) : SmallInt(d);
        return Call("capture", {Gen(Type::kStr, d), re.literal, group});
      }
      case 11: return Conditional(d, Type::kStr, Type::kStr);
      default: return Leaf(Type::kStr);
    }
  }

  std::string BoolExpr(int d) {
    static const char* const kComparisons[] = {"<", "<=", ">", ">=", "==", "!="};
    switch (Pick(10)) {
      case 0: return Binary(Gen(NumberType(), d), OneOf(kComparisons), Gen(NumberType(), d));
      case 1: return Binary(Gen(Type::kStr, d), OneOf(kComparisons), Gen(Type::kStr, d));
      case 2: return Binary(Gen(Type::kBool, d), Chance(50) ? "==" : "!=", Gen(Type::kBool, d));
      case 3: return "(!" + Gen(Type::kBool, d) + ")";
      case 4:
      case 5: return Binary(Gen(Type::kBool, d), Chance(50) ? "&&" : "||", Gen(Type::kBool, d));
      case 6: {
        static const char* const kNames[] = {"contains", "starts_with", "ends_with"};
        return Call(OneOf(kNames), {Gen(Type::kStr, d), Gen(Type::kStr, d)});
      }
      case 7: return Call("matches", {Gen(Type::kStr, d), Regex().literal});
      case 8: return Conditional(d, Type::kBool, Type::kBool);
      default: return Leaf(Type::kBool);
    }
  }

  // Mostly small, so that positions and field indexes hit something.
  std::string SmallInt(int d) {
    if (Chance(70)) {
      const int64_t v = static_cast<int64_t>(Pick(12)) - 3;
      return v < 0 ? "(" + std::to_string(v) + ")" : std::to_string(v);
    }
    return Gen(Type::kInt, d);
  }

  // fmt with 0 to 3 placeholders, literal text and escaped braces between.
  std::string Fmt(int d) {
    static const char* const kPieces[] = {"", "", "-", " ", "{{", "}}", "é", "x:"};
    const size_t n = Pick(4);
    std::string tmpl = OneOf(kPieces);
    std::vector<std::string> args;
    for (size_t i = 0; i < n; ++i) {
      tmpl += "{}";
      tmpl += OneOf(kPieces);
      args.push_back(Gen(AnyType(), d));
    }
    args.insert(args.begin(), "\"" + tmpl + "\"");
    return Call("fmt", args);
  }

  std::mt19937_64 rng_;
  std::vector<NameType> names_;
  bool in_block_ = false;
};

}  // namespace flow::jittest
