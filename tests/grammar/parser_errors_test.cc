// The parser on invalid programs: the exact diagnostics, recovery after an
// error, and inputs meant to break it (bad bytes, deep nesting, huge lines).
#include <doctest/doctest.h>

#include <string>

#include "tests/grammar/parse_for_test.h"

namespace flow {
namespace {

using testing::Errors;
using testing::ParseResult;
using testing::ParseText;

// The diagnostic of a one-line program: "t.flow:1:COL: error: MESSAGE", the
// line, and the caret.
std::string OneLine(const std::string& line, int column, const std::string& message) {
  return "t.flow:1:" + std::to_string(column) + ": error: " + message + "\n  " + line + "\n  " +
         std::string(static_cast<size_t>(column - 1), ' ') + "^\n";
}

void CheckOneLine(const std::string& line, int column, const std::string& message) {
  CAPTURE(line);
  CHECK(Errors(line) == OneLine(line, column, message));
}

TEST_SUITE("parser_errors") {
  TEST_CASE("let") {
    CheckOneLine("let = 4", 5, "expected a name after 'let'");
    CheckOneLine("let x 4", 7, "expected '=' after 'let x'");
    CheckOneLine("let x =", 8, "expected an expression after '='");
    CheckOneLine("let x = 1 2", 11, "expected ';' or a new line after the value of 'x'");
    CheckOneLine("let x == 1", 8, "expected an expression after '='");
    CheckOneLine("let stage = 4", 5, "'stage' is a keyword and cannot be used as a name");
    CheckOneLine("let true = 4", 5, "'true' is a keyword and cannot be used as a name");
    CheckOneLine("let _ = 4", 5, "'_' is the whole record and cannot be used as a name");
    CheckOneLine("let NF = 4", 5, "'NF' is the number of fields and cannot be used as a name");
    CheckOneLine("let NR = 4", 5, "'NR' is the record number and cannot be used as a name");
  }

  TEST_CASE("expressions") {
    CheckOneLine("let x = 1 +", 12, "expected an expression after '+'");
    CheckOneLine("let x = 1 + * 2", 13, "expected an expression after '+'");
    CheckOneLine("let x = a <= )", 14, "expected an expression after '<='");
    CheckOneLine("let x = a && ", 13, "expected an expression after '&&'");
    CheckOneLine("let x = -", 10, "expected an expression after '-'");
    CheckOneLine("let x = 1 + !", 14, "expected an expression after '!'");
    CheckOneLine("let x = (", 10, "expected an expression after '('");
    CheckOneLine("let x = (1 + 2", 15, "expected ')' to close the '(' opened at 1:9");
    CheckOneLine("let x = (1 2)", 12, "expected ')' to close the '(' opened at 1:9");
    CheckOneLine("let x = $", 10, "expected a field number or '(' after '$'");
    CheckOneLine("let x = $ 1", 10, "expected a field number or '(' after '$'");
    CheckOneLine("let x = $NF", 10, "expected a field number or '(' after '$' (did you mean '$(NF)'?)");
    CheckOneLine("let x = $i + 1", 10, "expected a field number or '(' after '$' (did you mean '$(i)'?)");
    CheckOneLine("let x = $-1", 10, "expected a field number or '(' after '$'");
    CheckOneLine("let x = $1.5", 9, "a field number must be a whole number, as in $1");
    CheckOneLine("let x = $2x", 9, "a field number must be a whole number, as in $1");
    CheckOneLine("let x = $99999999999999999999", 10, "integer literal 99999999999999999999 does not fit in 64 bits");
    CheckOneLine("let x = $1__2", 10, "'1__2': '_' may only separate two digits");
    CheckOneLine("let x = $()", 11, "expected an expression after '$('");
    CheckOneLine("let x = $(1", 12, "expected ')' to close the '$(' opened at 1:9");
    CheckOneLine("let x = f(1,)", 13, "expected an argument after ','");
    CheckOneLine("let x = f(1 2)", 13, "expected ')' to close the arguments of 'f'");
    CheckOneLine("let x = f(g(1)", 15, "expected ')' to close the arguments of 'f'");
    CheckOneLine("let x = f(a = 1)", 13, "expected ')' to close the arguments of 'f' (did you mean '=='?)");
    CheckOneLine("let x = a ?", 12, "expected an expression after '?'");
    CheckOneLine("let x = a ? b", 14, "expected ':' to go with the '?' at 1:11");
    CheckOneLine("let x = a ? b :", 16, "expected an expression after ':'");
    CheckOneLine("let x = $1$2", 11, "expected ';' or a new line after the value of 'x'");
    CheckOneLine("let x = 1 = 2", 11, "expected ';' or a new line after the value of 'x' (did you mean '=='?)");
    CheckOneLine("let x = a & b", 11, "expected ';' or a new line after the value of 'x' (did you mean '&&'?)");
    CheckOneLine("x | filter { $1 == 1 & $2 }", 22, "expected '}' to close the block opened at 1:12 (did you mean '&&'?)");
    CheckOneLine("let x = stage", 9, "expected an expression after '='");
    CheckOneLine("let x = .5", 9, "expected an expression after '='");
  }

  TEST_CASE("an expression may not continue on the next line outside brackets") {
    CHECK(Errors("let x = 1 +\n  2") ==
          "t.flow:1:12: error: expected an expression after '+'\n  let x = 1 +\n             ^\n"
          "t.flow:2:3: error: expected a statement: 'let', 'stage' or a pipeline\n    2\n    ^\n");
  }

  TEST_CASE("number literals") {
    CheckOneLine("let x = 99999999999999999999", 9, "integer literal 99999999999999999999 does not fit in 64 bits");
    CheckOneLine("let x = 9223372036854775808", 9, "integer literal 9223372036854775808 does not fit in 64 bits");
    CheckOneLine("let x = -9223372036854775808", 10, "integer literal 9223372036854775808 does not fit in 64 bits");
    CheckOneLine("let x = 1e999", 9, "float literal 1e999 is out of range");
    CheckOneLine("let x = 1e-400", 9, "float literal 1e-400 is out of range");
    CheckOneLine("let x = 5sec", 9,
                 "unknown unit 'sec' in '5sec': durations take ms, s, m or h, sizes B, KiB, MiB, GiB or TiB");
    CheckOneLine("let x = 4mib", 9,
                 "unknown unit 'mib' in '4mib': durations take ms, s, m or h, sizes B, KiB, MiB, GiB or TiB");
    CheckOneLine("let x = 1.5s", 9, "'1.5s': a duration must be a whole number of ms, s, m or h");
    CheckOneLine("let x = 2e3KiB", 9, "'2e3KiB': a size must be a whole number of B, KiB, MiB, GiB or TiB");
    CheckOneLine("let x = 0x1F", 9, "invalid number '0x1F'");
    CheckOneLine("let x = 1e", 9, "invalid number '1e': expected digits after the exponent");
    CheckOneLine("let x = 1__0", 9, "'1__0': '_' may only separate two digits");
    CheckOneLine("let x = 1_", 9, "'1_': '_' may only separate two digits");
    CheckOneLine("let x = 1_.5", 9, "'1_.5': '_' may only separate two digits");
    CheckOneLine("let x = 9999999999999h", 9, "duration 9999999999999h does not fit in 64 bits");
    CheckOneLine("let x = 8388608TiB", 9, "size 8388608TiB does not fit in 64 bits");
  }

  TEST_CASE("strings") {
    CheckOneLine("let x = \"abc", 9, "unterminated string");
    CheckOneLine("let x = r\"abc", 9, "unterminated raw string");
    CheckOneLine("let x = \"abc\\", 9, "unterminated string");
    CheckOneLine(R"(let x = "a\qb")", 11, R"(unknown escape '\q' in string)");
    CheckOneLine(R"(let x = "\x4")", 10, R"(invalid escape in string: '\x' takes two hex digits, as in '\x7f')");
    CheckOneLine(R"(let x = "\xg0")", 10, R"(invalid escape in string: '\x' takes two hex digits, as in '\x7f')");
    CheckOneLine(R"(let x = "\u41")", 10, R"(invalid escape in string: '\u' takes 1 to 6 hex digits in braces, as in '\u{e9}')");
    CheckOneLine(R"(let x = "\u{}")", 10, R"(invalid escape in string: '\u' takes 1 to 6 hex digits in braces, as in '\u{e9}')");
    CheckOneLine(R"(let x = "\u{1234567}")", 10, R"(invalid escape in string: '\u' takes 1 to 6 hex digits in braces, as in '\u{e9}')");
    CheckOneLine(R"(let x = "\u{41")", 10, R"(invalid escape in string: '\u' takes 1 to 6 hex digits in braces, as in '\u{e9}')");
    CheckOneLine(R"(let x = "\u{d800}")", 10, R"('\u{d800}' is not a Unicode scalar value)");
    CheckOneLine(R"(let x = "\u{110000}")", 10, R"('\u{110000}' is not a Unicode scalar value)");
    CheckOneLine("let x = \"\\\xC3\xA9\"", 10, "unknown escape '\\\xC3\xA9' in string");
    // The line after an unterminated string is parsed on its own, even when
    // the string swallowed the brackets that closed its line...
    ParseResult r = ParseText("let x = \"abc\nlet y = 2\nx | map { \"a } | y\nx | map { \"\\q\" }\nx | z");
    CHECK(r.errors == 3);
    CHECK(r.dump == "(program (let y (int 2)) (pipeline (stage x) (stage z)))");
    // ... but brackets opened on an earlier line stay open.
    ParseResult m = ParseText("x | map {\n  \"a\n  + 1 }\nlet y = 2");
    CHECK(m.errors == 1);
    CHECK(m.dump == "(program (let y (int 2)))");
  }

  TEST_CASE("stage definitions") {
    CheckOneLine("stage = x", 7, "expected a name after 'stage'");
    CheckOneLine("stage let = x", 7, "'let' is a keyword and cannot be used as a name");
    CheckOneLine("stage s x", 9, "expected '=' or '(' after 'stage s'");
    CheckOneLine("stage s() = x", 9, "expected a parameter name");
    CheckOneLine("stage s(a,) = x", 11, "expected a parameter name");
    CheckOneLine("stage s(a b) = x", 11, "expected ')' to close the parameters of 's'");
    CheckOneLine("stage s(NR) = x", 9, "'NR' is the record number and cannot be used as a name");
    CheckOneLine("stage s(a) x", 12, "expected '=' after the parameters of 's'");
    CheckOneLine("stage s =", 10, "expected a pipeline after 'stage s ='");
    CheckOneLine("stage s = 1", 11, "expected a pipeline after 'stage s ='");
    CheckOneLine("stage s = a b", 13, "expected '|', ';' or a new line after stage 'a'");
  }

  TEST_CASE("pipelines and stage calls") {
    CheckOneLine("read(\"a\") |", 12, "expected a stage after '|'");
    CheckOneLine("read(\"a\") | | b", 13, "expected a stage after '|'");
    CheckOneLine("read(\"a\") || b", 12, "expected a stage after '|'");
    CheckOneLine("read(\"a\") write(\"b\")", 11, "expected '|', ';' or a new line after stage 'read'");
    CheckOneLine("read(\"a\" | write(\"b\")", 10, "expected ')' to close the arguments of 'read'");
    CheckOneLine("read(\"a\", ) | b", 11, "expected an argument after ','");
    CheckOneLine("x | f(n = )", 11, "expected a value after 'n ='");
    CheckOneLine("x | f(let = 1)", 7, "'let' is a keyword and cannot be used as a name");
    CheckOneLine("x | true", 5, "'true' is a keyword and cannot be used as a name");
    CheckOneLine("x | 42", 5, "expected a stage after '|'");
    CheckOneLine("x | map {", 10, "expected an expression in the block");
    CheckOneLine("x | map { }", 11, "expected an expression in the block");
    CheckOneLine("x | map { $1 + 1", 17, "expected '}' to close the block opened at 1:9");
    CheckOneLine("x | map { $1 $2 }", 14, "expected '}' to close the block opened at 1:9");
    CheckOneLine("x | filter { $1 = \"a\" }", 17, "expected '}' to close the block opened at 1:12 (did you mean '=='?)");
    CheckOneLine("x | map { let = 1; 2 }", 15, "expected a name after 'let'");
    CheckOneLine("x | map { let a 1; a }", 17, "expected '=' after 'let a'");
    CheckOneLine("x | map { let a = ; a }", 19, "expected an expression after '='");
    CheckOneLine("x | map { let a = 1 a }", 21, "expected ';' after the value of 'a': a 'let' in a block ends with ';'");
    CheckOneLine("x | map { let _ = 1; _ }", 15, "'_' is the whole record and cannot be used as a name");
    CheckOneLine("x | s *", 8, "expected a count after '*': a number, a name or 'auto'");
    CheckOneLine("x | s * (2)", 9, "expected a count after '*': a number, a name or 'auto'");
    CheckOneLine("x | s * - 3", 9, "expected a count after '*': a number, a name or 'auto'");
    CheckOneLine("x | s * 1.5", 9, "the count after '*' must be a whole number, not '1.5'");
    CheckOneLine("x | s * 5s", 9, "the count after '*' must be a whole number, not '5s'");
    CheckOneLine("x | s * -2x", 9, "the count after '*' must be a whole number, not '-2x'");
    CheckOneLine("x | s * 99999999999999999999", 9, "integer literal 99999999999999999999 does not fit in 64 bits");
    CheckOneLine("x | s * stage", 9, "'stage' is a keyword and cannot be used as a name");
    CheckOneLine("x | s [", 8, "expected an option name");
    CheckOneLine("x | s []", 8, "expected an option name");
    CheckOneLine("x | s [ordered,]", 16, "expected an option name");
    CheckOneLine("x | s [ordered", 15, "expected ']' to close the options of 's'");
    CheckOneLine("x | s [retries = ]", 18, "expected a value after 'retries ='");
    CheckOneLine("x | s [retries 2]", 16, "expected ']' to close the options of 's'");
  }

  TEST_CASE("pipeline arguments: the reading that gets further reports the error") {
    CheckOneLine("x | tee(map { $1 + } | write(\"x\"))", 20, "expected an expression after '+'");
    CheckOneLine("x | tee(sort(key = ) | write(\"x\"))", 20, "expected a value after 'key ='");
    CheckOneLine("x | tee(map { $1 } | )", 22, "expected a stage after '|'");
    CheckOneLine("x | tee(map { $1 } | write(\"x\")", 32, "expected ')' to close the arguments of 'tee'");
    CheckOneLine("x | head(5 6)", 12, "expected ')' to close the arguments of 'head'");
    CheckOneLine("x | head(1 + )", 14, "expected an expression after '+'");
    CheckOneLine("x | tee(map { $1 } 2)", 20, "expected ')' to close the arguments of 'tee'");
    CheckOneLine("merge(read(\"a\"), read(\"b\") |)", 29, "expected a stage after '|'");
  }

  TEST_CASE("statements") {
    CheckOneLine("42", 1, "expected a statement: 'let', 'stage' or a pipeline");
    CheckOneLine("\"x\" | write(\"-\")", 1, "expected a statement: 'let', 'stage' or a pipeline");
    CheckOneLine(")", 1, "expected a statement: 'let', 'stage' or a pipeline");
    CHECK(Errors("let x = 1\n  | map { $1 }") ==
          "t.flow:2:3: error: expected a stage before '|'\n    | map { $1 }\n    ^\n");
  }

  TEST_CASE("every statement's first error is reported, in order, and bad statements are left out") {
    ParseResult r = ParseText(
        "let a = 1 +\n"
        "read(\"x\") | map { $1 }\n"
        "let b = (2\n"
        "stage s = read(\"y\") |\n"
        "  map { $1 $2 }\n"
        "let c = 3; let d = ; let e = 4\n"
        "s | write(\"z\")\n");
    CHECK(r.errors == 4);
    CHECK(r.diagnostics ==
          "t.flow:1:12: error: expected an expression after '+'\n  let a = 1 +\n             ^\n"
          "t.flow:3:11: error: expected ')' to close the '(' opened at 3:9\n  let b = (2\n            ^\n"
          "t.flow:5:12: error: expected '}' to close the block opened at 5:7\n    map { $1 $2 }\n             ^\n"
          "t.flow:6:20: error: expected an expression after '='\n  let c = 3; let d = ; let e = 4\n                     ^\n");
    CHECK(r.dump ==
          "(program (pipeline (stage read (arg (str \"x\"))) (stage map (block (field 1)))) (let c (int 3)) (let e (int 4))"
          " (pipeline (stage s) (stage write (arg (str \"z\")))))");
  }

  TEST_CASE("three bad statements give exactly three errors") {
    ParseResult r = ParseText("let = 1\nx | map { $1 + }\nstage s(a = y\nlet ok = 1\n");
    CHECK(r.errors == 3);
    CHECK(r.diagnostics ==
          "t.flow:1:5: error: expected a name after 'let'\n  let = 1\n      ^\n"
          "t.flow:2:16: error: expected an expression after '+'\n  x | map { $1 + }\n                 ^\n"
          "t.flow:3:11: error: expected ')' to close the parameters of 's'\n  stage s(a = y\n            ^\n");
    CHECK(r.dump == "(program (let ok (int 1)))");
  }

  TEST_CASE("an error inside a block over several lines does not cascade") {
    ParseResult r = ParseText(
        "read(\"a\")\n"
        "  | map {\n"
        "      let a = ;\n"
        "      a + 1\n"
        "    }\n"
        "  | write(\"b\")\n"
        "let ok = 1\n");
    CHECK(r.errors == 1);
    CHECK(r.diagnostics == "t.flow:3:15: error: expected an expression after '='\n        let a = ;\n                ^\n");
    CHECK(r.dump == "(program (let ok (int 1)))");
  }

  TEST_CASE("a missing '}' at the end of the file is one error") {
    ParseResult r = ParseText("read(\"a\")\n  | map {\n      $1 + 1\n  | write(\"b\")\n\n\n");
    CHECK(r.errors == 1);
    CHECK(r.diagnostics ==
          "t.flow:3:13: error: expected '}' to close the block opened at 2:9\n        $1 + 1\n              ^\n");
    ParseResult eof = ParseText("read(\"a\") | map {\n  $1 + 1\n\n");
    CHECK(eof.diagnostics ==
          "t.flow:2:9: error: expected '}' to close the block opened at 1:17\n    $1 + 1\n          ^\n");
  }

  TEST_CASE("an unclosed bracket stops at a line that starts with 'let' or 'stage'") {
    ParseResult r = ParseText("read(\"a\" | write(\"b\")\n\nlet x = 1\nstage s = x\nx | y(\n");
    CHECK(r.errors == 2);
    CHECK(r.dump == "(program (let x (int 1)) (stagedef s (pipeline (stage x))))");
  }

  TEST_CASE("a file that is not UTF-8 gets one error and is not parsed") {
    CHECK(Errors("let x = 1\nlet y = \"\xFF\"\nlet = 2\n") ==
          "t.flow:2:10: error: the file is not valid UTF-8: byte 0xff\n  let y = \"?\"\n           ^\n");
    // Overlong forms, surrogates, truncated sequences, stray continuation bytes.
    for (const char* bad : {"\xC0\xAF", "\xED\xA0\x80", "\xE2\x82", "\x80", "\xF4\x90\x80\x80", "\xF8"}) {
      ParseResult r = ParseText(std::string("# ") + bad);
      CHECK(r.errors == 1);
      CHECK(r.diagnostics.find("t.flow:1:3: error: the file is not valid UTF-8: byte 0x") == 0);
    }
  }

  TEST_CASE("binary garbage") {
    std::string garbage;
    uint32_t x = 12345;
    for (int i = 0; i < 100'000; ++i) {
      x = x * 1103515245 + 12345;
      garbage += static_cast<char>(x >> 24);
    }
    ParseResult r = ParseText(garbage);
    CHECK(r.errors == 1);
    CHECK(r.dump == "(program)");
    // Garbage that is valid UTF-8: ASCII punctuation and control bytes.
    std::string ascii;
    for (int i = 0; i < 100'000; ++i) {
      x = x * 1103515245 + 12345;
      ascii += static_cast<char>((x >> 24) & 0x7F);
    }
    ParseResult a = ParseText(ascii);
    CHECK(a.errors >= 1);
  }

  TEST_CASE("NUL bytes, control characters and non-ASCII outside strings") {
    // '@' stands for a NUL byte in these strings; the diagnostic shows it as '?'.
    auto nul = [](std::string s) {
      for (char& c : s)
        if (c == '@') c = '\0';
      return s;
    };
    CHECK(Errors(nul("let x = 1@ + 2\nlet y = 2")) ==
          "t.flow:1:10: error: unexpected NUL byte\n  let x = 1? + 2\n           ^\n");
    CHECK(Errors(nul("let x = \"a@b\"")) == "t.flow:1:11: error: unexpected NUL byte\n  let x = \"a?b\"\n            ^\n");
    CHECK(Errors(nul("# a comment @")).find("t.flow:1:13: error: unexpected NUL byte\n") == 0);
    CHECK(Errors("let x = 1 \x01") == "t.flow:1:11: error: unexpected control character 0x01\n  let x = 1 ?\n            ^\n");
    CheckOneLine("let caf\xC3\xA9 = 1", 8, "unexpected character '\xC3\xA9'");
    CheckOneLine("x | map { $1 \xC3\x97 2 }", 14, "unexpected character '\xC3\x97'");
  }

  TEST_CASE("nesting deeper than 256 is refused without overflowing the stack") {
    const std::string message = "expressions nested more than 256 deep";
    auto repeat = [](const std::string& s, int n) {
      std::string out;
      for (int i = 0; i < n; ++i) out += s;
      return out;
    };
    const int n = 100'000;
    for (const std::string& text : {
             "let x = " + repeat("(", n) + "1" + repeat(")", n),
             "let x = " + repeat("- ", n) + "1",
             "let x = " + repeat("-", n) + "1",
             "let x = " + repeat("!", n) + "true",
             "x | map { " + repeat("$(", n) + "1" + repeat(")", n) + " }",
             "let x = " + repeat("f(", n) + "1" + repeat(")", n),
             "let x = " + repeat("1 ? 2 : ", n) + "3",
             "x | " + repeat("tee(", n) + "y" + repeat(")", n),
             "x | " + repeat("tee(map { 1 } | ", n) + "y" + repeat(")", n),
             "x | " + repeat("tee(", n),
             "let x = " + repeat("(", n),
         }) {
      ParseResult r = ParseText(text);
      CHECK(r.errors == 1);
      CHECK(r.diagnostics.find(message) != std::string::npos);
    }
    // The limit itself: 256 levels parse, 257 do not.
    CHECK(ParseText("let x = " + repeat("(", 256) + "1" + repeat(")", 256)).errors == 0);
    CHECK(Errors("let x = " + repeat("(", 257) + "1" + repeat(")", 257)).find("t.flow:1:265: error: " + message + "\n") == 0);
    CHECK(ParseText("let x = " + repeat("-", 256) + "1").errors == 0);
    CHECK(ParseText("let x = " + repeat("-", 257) + "1").errors == 1);
  }

  TEST_CASE("a long operator chain is refused past 1024 levels, in linear time") {
    std::string chain = "let x = 1";
    for (int i = 0; i < 1024; ++i) chain += "+1";
    CHECK(Errors(chain).find("t.flow:1:2056: error: expression too deep: more than 1024 nested operations; "
                             "split it with 'let'\n") == 0);
    std::string huge = "let x = 1";
    for (int i = 0; i < 5'000'000; ++i) huge += "+1";
    ParseResult r = ParseText(huge + "\nlet y = 2");
    CHECK(r.errors == 1);
    CHECK(r.dump == "(program (let y (int 2)))");
  }
}

}  // namespace
}  // namespace flow
