#include "compiler/text_functions.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace flow {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

std::optional<std::string> Format(std::string_view tmpl, std::vector<std::string_view> args) {
  return FormatTemplate(tmpl, args);
}

TEST_SUITE("text_functions") {
  TEST_CASE("substr clips as POSIX awk does") {
    CHECK(Substr("flow", 2, 2) == "lo");
    CHECK(Substr("hello", 0) == "hello");
    CHECK(Substr("hello", -5) == "hello");
    CHECK(Substr("hello", 3) == "llo");
    CHECK(Substr("hello", 5) == "o");
    CHECK(Substr("hello", 6) == "");
    CHECK(Substr("hello", kMax) == "");
    CHECK(Substr("hello", kMin) == "hello");
    CHECK(Substr("hello", -1, 3) == "h");
    CHECK(Substr("hello", 0, 1) == "");
    CHECK(Substr("hello", 0, 2) == "h");
    CHECK(Substr("hello", 2, 100) == "ello");
    CHECK(Substr("hello", 1, 0) == "");
    CHECK(Substr("hello", 1, -1) == "");
    CHECK(Substr("hello", 6, 1) == "");
    CHECK(Substr("hello", 5, kMax) == "o");
    CHECK(Substr("hello", kMax, kMax) == "");
    CHECK(Substr("hello", kMin, kMax) == "");
    CHECK(Substr("hello", kMin + 10, kMax) == "hello");  // positions up to 8
    CHECK(Substr("", 1, 1) == "");
    CHECK(Substr("\xc3\xa9t\xc3\xa9", 2, 3) == "\xa9t\xc3");  // bytes, not characters
  }

  TEST_CASE("find") {
    CHECK(Find("flow", "ow") == 3);
    CHECK(Find("flow", "f") == 1);
    CHECK(Find("flow", "x") == 0);
    CHECK(Find("flow", "") == 1);
    CHECK(Find("", "") == 1);
    CHECK(Find("", "a") == 0);
    CHECK(Find("aaa", "aa") == 1);
    CHECK(Find("flow", "flows") == 0);
    CHECK(Find(std::string_view("a\0b", 3), std::string_view("\0b", 2)) == 2);
  }

  TEST_CASE("replace") {
    CHECK(Replace("a-b-c", "-", "+") == "a+b+c");
    CHECK(Replace("aaaa", "aa", "b") == "bb");
    CHECK(Replace("aaa", "aa", "b") == "ba");
    CHECK(Replace("abc", "", "x") == "abc");
    CHECK(Replace("abc", "b", "") == "ac");
    CHECK(Replace("abc", "x", "y") == "abc");
    CHECK(Replace("", "a", "b") == "");
    CHECK(Replace("abab", "ab", "abab") == "abababab");  // the replacement is not searched again
  }

  TEST_CASE("trim") {
    CHECK(Trim(" \t\r\n\v\fa b\f\v\n\r\t ") == "a b");
    CHECK(Trim("   ") == "");
    CHECK(Trim("") == "");
    CHECK(Trim("x") == "x");
    CHECK(Trim("\xc2\xa0x") == "\xc2\xa0x");  // a UTF-8 no-break space is not blank
  }

  TEST_CASE("upper and lower change ASCII letters only") {
    CHECK(Upper("abz AZ 09 \xc3\xa9") == "ABZ AZ 09 \xc3\xa9");
    CHECK(Lower("ABZ az 09 \xc3\x89@[") == "abz az 09 \xc3\x89@[");
    CHECK(Upper(std::string_view("a\0b", 3)) == std::string("A\0B", 3));
    CHECK(Upper("") == "");
    CHECK(Lower("") == "");
  }

  // Upper and Lower work 4, 8 or 16 bytes at a time, with an overlapping
  // last word: every length from 0 to 80, every byte value at every
  // position, the letters' neighbours ('`', '{', '@', '[') and UTF-8 bytes
  // included, against the byte-by-byte definition.
  TEST_CASE("upper and lower: every byte value at every position of every length") {
    auto reference = [](std::string_view s, char first) {
      std::string out(s);
      for (char& c : out)
        if (c >= first && c <= first + 25) c = static_cast<char>(c ^ 0x20);
      return out;
    };
    for (size_t n = 0; n <= 80; ++n) {
      for (int value = 0; value < 256; ++value) {
        // A background of letters and non-letters, one byte set to `value`.
        std::string s(n, ' ');
        for (size_t i = 0; i < n; ++i) s[i] = "aZ{`@[z\xff\x80" "A"[i % 10];
        for (size_t at = 0; at < n; at += (n < 20 ? 1 : 7)) {
          std::string t = s;
          t[at] = static_cast<char>(value);
          if (Upper(t) != reference(t, 'a') || Lower(t) != reference(t, 'A')) {
            FAIL_CHECK("length " << n << ", byte " << value << " at " << at);
            return;
          }
        }
      }
    }
    // Into a buffer: only [0, n) is written.
    std::string out(20, '#');
    UpperInto("abc\xc3\xa9xyz", out.data());
    CHECK(out == "ABC\xc3\xa9XYZ############");
    LowerInto("", out.data());
    CHECK(out[0] == 'A');
  }

  TEST_CASE("parse int: blanks, sign, digits, blanks") {
    CHECK(ParseInt("42") == 42);
    CHECK(ParseInt(" 42 ") == 42);
    CHECK(ParseInt("\t-7\r\n") == -7);
    CHECK(ParseInt("+7") == 7);
    CHECK(ParseInt("007") == 7);
    CHECK(ParseInt("-0") == 0);
    CHECK(ParseInt("9223372036854775807") == kMax);
    CHECK(ParseInt("-9223372036854775808") == kMin);
    CHECK_FALSE(ParseInt("9223372036854775808"));
    CHECK_FALSE(ParseInt("-9223372036854775809"));
    CHECK_FALSE(ParseInt("99999999999999999999999"));
    CHECK_FALSE(ParseInt(""));
    CHECK_FALSE(ParseInt("   "));
    CHECK_FALSE(ParseInt("4x"));
    CHECK_FALSE(ParseInt("x4"));
    CHECK_FALSE(ParseInt("4 2"));
    CHECK_FALSE(ParseInt("+"));
    CHECK_FALSE(ParseInt("-"));
    CHECK_FALSE(ParseInt("+-5"));
    CHECK_FALSE(ParseInt("-+5"));
    CHECK_FALSE(ParseInt("--5"));
    CHECK_FALSE(ParseInt("- 5"));
    CHECK_FALSE(ParseInt("1_000"));
    CHECK_FALSE(ParseInt("1.0"));
    CHECK_FALSE(ParseInt("0x10"));
    CHECK_FALSE(ParseInt(std::string_view("1\0", 2)));
  }

  TEST_CASE("parse float") {
    CHECK(ParseFloat("1.5") == 1.5);
    CHECK(ParseFloat(" 1e3 ") == 1000.0);
    CHECK(ParseFloat("-2e-3") == -0.002);
    CHECK(ParseFloat("+.5") == 0.5);
    CHECK(ParseFloat("5.") == 5.0);
    CHECK(ParseFloat("42") == 42.0);
    CHECK(ParseFloat("0.1") == 0.1);
    CHECK(ParseFloat("1e400") == std::numeric_limits<double>::infinity());
    CHECK(ParseFloat("-1e400") == -std::numeric_limits<double>::infinity());
    CHECK(ParseFloat("1e-400") == 0.0);
    CHECK(ParseFloat("4.9e-324") == std::numeric_limits<double>::denorm_min());
    std::optional<double> negative_zero = ParseFloat("-0");
    REQUIRE(negative_zero);
    CHECK(std::signbit(*negative_zero));
    CHECK(std::isnan(*ParseFloat("nan")));
    CHECK(std::isnan(*ParseFloat(" -NaN ")));
    CHECK(ParseFloat("inf") == std::numeric_limits<double>::infinity());
    CHECK(ParseFloat("+Infinity") == std::numeric_limits<double>::infinity());
    CHECK(ParseFloat("-INF") == -std::numeric_limits<double>::infinity());
    CHECK_FALSE(ParseFloat("abc"));
    CHECK_FALSE(ParseFloat(""));
    CHECK_FALSE(ParseFloat(" "));
    CHECK_FALSE(ParseFloat("."));
    CHECK_FALSE(ParseFloat("1e"));
    CHECK_FALSE(ParseFloat("1.5x"));
    CHECK_FALSE(ParseFloat("--1"));
    CHECK_FALSE(ParseFloat("+-1"));
    CHECK_FALSE(ParseFloat("0x10"));
    CHECK_FALSE(ParseFloat("nan(1)"));
    CHECK_FALSE(ParseFloat("infin"));
    CHECK_FALSE(ParseFloat("1 000"));
  }

  TEST_CASE("float to int truncates toward zero, refuses what does not fit") {
    CHECK(FloatToInt(3.9) == 3);
    CHECK(FloatToInt(-3.9) == -3);
    CHECK(FloatToInt(-0.0) == 0);
    CHECK(FloatToInt(-0x1p63) == kMin);
    CHECK(FloatToInt(0x1p63 - 1024) == kMax - 1023);
    CHECK_FALSE(FloatToInt(0x1p63));
    CHECK_FALSE(FloatToInt(1e300));
    CHECK_FALSE(FloatToInt(-1e300));
    CHECK_FALSE(FloatToInt(std::nan("")));
    CHECK_FALSE(FloatToInt(std::numeric_limits<double>::infinity()));
    CHECK_FALSE(FloatToInt(-std::numeric_limits<double>::infinity()));
  }

  TEST_CASE("abs wraps at the smallest int") {
    CHECK(WrappingAbs(-5) == 5);
    CHECK(WrappingAbs(5) == 5);
    CHECK(WrappingAbs(0) == 0);
    CHECK(WrappingAbs(kMax) == kMax);
    CHECK(WrappingAbs(kMin + 1) == kMax);
    CHECK(WrappingAbs(kMin) == kMin);
  }

  TEST_CASE("hash is 64-bit FNV-1a") {
    // Expected values computed independently, in Python.
    CHECK(Hash("") == -3750763034362895579);
    CHECK(Hash("a") == -5808556873153909620);  // 0xaf63dc4c8601ec8c
    CHECK(Hash("flow") == -3043359704921892267);
    CHECK(Hash("hello world") == 8618312879776256743);
    CHECK(Hash(std::string_view("\xc3\xa9\0x", 4)) == -610110451216688655);
  }

  TEST_CASE("format template") {
    CHECK(Format("{} {}", {"a", "b"}) == "a b");
    CHECK(Format("", {}) == "");
    CHECK(Format("plain", {}) == "plain");
    CHECK(Format("{{}}", {}) == "{}");
    CHECK(Format("{{{}}}", {"x"}) == "{x}");
    CHECK(Format("{}{}", {"", "y"}) == "y");
    CHECK(Format("<{}>", {"{}"}) == "<{}>");  // arguments are not templates
    CHECK_FALSE(Format("{}", {}));
    CHECK_FALSE(Format("{}", {"a", "b"}));
    CHECK_FALSE(Format("{", {}));
    CHECK_FALSE(Format("}", {}));
    CHECK_FALSE(Format("{0}", {"a"}));
  }

  TEST_CASE("count placeholders") {
    std::string error;
    CHECK(CountPlaceholders("{} and {} {{}}", &error) == 2u);
    CHECK(CountPlaceholders("", &error) == 0u);
    CHECK_FALSE(CountPlaceholders("{:x}", &error));
    CHECK(error == "'{' in a format string must be '{}' or '{{'");
    CHECK_FALSE(CountPlaceholders("a}b", &error));
    CHECK(error == "'}' in a format string must be '}}'");
    CHECK_FALSE(CountPlaceholders("{}}", &error));
    CHECK_FALSE(CountPlaceholders("x{", &error));
    CHECK(error == "'{' in a format string must be '{}' or '{{'");
  }

  TEST_CASE("quoted values in messages") {
    CHECK(QuoteValue("4x") == "'4x'");
    CHECK(QuoteValue("") == "''");
    CHECK(QuoteValue("a\nb\tc\r\\") == "'a\\nb\\tc\\r\\\\'");
    CHECK(QuoteValue(std::string_view("\0\x1f\x7f", 3)) == "'\\x00\\x1f\\x7f'");
    CHECK(QuoteValue(std::string(40, 'a')) == "'" + std::string(40, 'a') + "'");
    CHECK(QuoteValue(std::string(41, 'a')) == "'" + std::string(40, 'a') + "…'");
    // A cut never splits a UTF-8 sequence: 39 ASCII bytes, then "é".
    CHECK(QuoteValue(std::string(39, 'a') + "\xc3\xa9z") == "'" + std::string(39, 'a') + "…'");
  }

  TEST_CASE("record error messages") {
    CHECK(CannotConvertMessage("4x", "int") == "cannot convert '4x' to int");
    CHECK(CannotConvertMessage(std::nan(""), "int") == "cannot convert nan to int");
    CHECK(CannotConvertMessage(1e300, "int") == "cannot convert 1e+300 to int");
    CHECK(NegativeFieldMessage(-3) == "field index -3 is negative");
  }
}

}  // namespace
}  // namespace flow
