#include "compiler/fields.h"

#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

namespace flow {
namespace {

// Every field of `record`, $1 … $NF.
std::vector<std::string> Split(std::string_view record, std::string_view fs) {
  FieldSplitter splitter(record, fs);
  std::vector<std::string> fields;
  for (int64_t i = 1; i <= splitter.Count(); ++i) fields.emplace_back(splitter.Field(i));
  return fields;
}

using Fields = std::vector<std::string>;

TEST_SUITE("fields") {
  TEST_CASE("default splitting: runs of spaces and tabs, ends ignored") {
    CHECK(Split("a b c", "") == Fields{"a", "b", "c"});
    CHECK(Split("  a \t\t b  ", "") == Fields{"a", "b"});
    CHECK(Split("a\nb c\r", "") == Fields{"a\nb", "c\r"});  // newlines are not blanks here
    CHECK(Split("", "").empty());
    CHECK(Split(" \t ", "").empty());
    CHECK(Split("one", "") == Fields{"one"});
    CHECK(Split(std::string_view("a\0b c", 5), "") == Fields{std::string("a\0b", 3), "c"});
  }

  TEST_CASE("an exact separator: every occurrence separates two fields") {
    CHECK(Split("a,,b", ",") == Fields{"a", "", "b"});
    CHECK(Split("a,", ",") == Fields{"a", ""});
    CHECK(Split(",", ",") == Fields{"", ""});
    CHECK(Split("a", ",") == Fields{"a"});
    CHECK(Split("", ",").empty());
    CHECK(Split(" a , b ", ",") == Fields{" a ", " b "});
    CHECK(Split("a::b:c", "::") == Fields{"a", "b:c"});
    CHECK(Split(":::", "::") == Fields{"", ":"});
    CHECK(Split("a\tb", "\t") == Fields{"a", "b"});
    CHECK(Split("a  b", " ") == Fields{"a", "", "b"});
  }

  TEST_CASE("field 0 is the record, past NF is empty") {
    FieldSplitter splitter("x y", "");
    CHECK(splitter.Field(0) == "x y");
    CHECK(splitter.Field(2) == "y");
    CHECK(splitter.Field(3) == "");
    CHECK(splitter.Field(std::numeric_limits<int64_t>::max()) == "");
    CHECK(splitter.Count() == 2);
    CHECK(splitter.Field(1) == "x");
  }

  TEST_CASE("fields are split lazily and in any order") {
    FieldSplitter splitter("a b c d", "");
    CHECK(splitter.Field(3) == "c");
    CHECK(splitter.Field(1) == "a");
    CHECK(splitter.Field(4) == "d");
    CHECK(splitter.Count() == 4);
    CHECK(splitter.Count() == 4);
  }

  TEST_CASE("reset starts the next record") {
    FieldSplitter splitter(",");
    splitter.Reset("a,b,c");
    CHECK(splitter.Field(2) == "b");
    splitter.Reset("x");
    CHECK(splitter.Count() == 1);
    CHECK(splitter.Field(1) == "x");
    CHECK(splitter.Field(2) == "");
    splitter.Reset("");
    CHECK(splitter.Count() == 0);
    CHECK(splitter.Field(0) == "");
  }

  TEST_CASE("nth field without a splitter") {
    CHECK(NthField("a b c", 2, "") == "b");
    CHECK(NthField("a b c", 0, "") == "a b c");
    CHECK(NthField("a b c", 4, "") == "");
    CHECK(NthField("a,,b", 2, ",") == "");
    CHECK(NthField("a,,b", 3, ",") == "b");
    CHECK(NthField("a,", 2, ",") == "");
    CHECK(NthField("a,", 3, ",") == "");
    CHECK(NthField("", 1, ",") == "");
    CHECK(NthField("  x  ", 1, "") == "x");
  }
}

}  // namespace
}  // namespace flow
