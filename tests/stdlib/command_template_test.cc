// exec's command templates: placeholders, shell quoting, and which
// templates start their program directly instead of through /bin/sh.
#include "stdlib/command_template.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace flow {
namespace {

using Argv = std::vector<std::string>;

std::string Quoted(std::string_view value) {
  std::string out;
  AppendShellQuoted(value, &out);
  return out;
}

// The argv `text` expands to for `record`; fails the test if it cannot.
Argv Expand(const std::string& text, std::string_view record, bool* direct = nullptr) {
  CommandTemplate command;
  std::string error;
  REQUIRE(command.Parse(text, &error));
  if (direct != nullptr) *direct = command.direct();
  Argv argv;
  INFO(error);
  REQUIRE(command.Expand(record, &argv, &error));
  return argv;
}

Argv Shell(const std::string& text) { return {"/bin/sh", "-c", text}; }

}  // namespace

TEST_SUITE("command_template") {
  TEST_CASE("shell quoting: single quotes, ' as '\\''") {
    CHECK(Quoted("") == "''");
    CHECK(Quoted("a b") == "'a b'");
    CHECK(Quoted("it's") == "'it'\\''s'");
    CHECK(Quoted("''") == "''\\'''\\'''");
    CHECK(Quoted("$HOME `x` \\ \"q\" *\n") == "'$HOME `x` \\ \"q\" *\n'");
  }

  TEST_CASE("an empty command is refused") {
    CommandTemplate command;
    std::string error;
    CHECK_FALSE(command.Parse("", &error));
    CHECK(error == "the command is empty");
    error.clear();
    CHECK_FALSE(command.Parse(" \t\n", &error));
    CHECK(error == "the command is empty");
  }

  TEST_CASE("plain words and placeholders start the program directly") {
    bool direct = false;
    CHECK(Expand("echo {}", "a b", &direct) == Argv{"echo", "a b"});
    CHECK(direct);
    CHECK(Expand("echo {}", "") == Argv{"echo", ""});
    CHECK(Expand("echo {}", "it's") == Argv{"echo", "it's"});
    CHECK(Expand("echo\t{1}-{2}  x{3}y", " p \tq ") == Argv{"echo", "p-q", "xy"});
    CHECK(Expand("./run.sh --name={} {0}", "r") == Argv{"./run.sh", "--name=r", "r"});
    CHECK(Expand("true {}", "1", &direct) == Argv{"true", "1"});
    CHECK(direct);
  }

  TEST_CASE("a field past the last is empty, however large its number") {
    CHECK(Expand("echo {3} {2}", "a b") == Argv{"echo", "", "b"});
    CHECK(Expand("echo {99999999999999999999999}", "a b") == Argv{"echo", ""});
    CHECK(Expand("echo [{3}]", "a b") == Shell("echo ['']"));
  }

  TEST_CASE("a template with no placeholder gets the record appended") {
    bool direct = false;
    CHECK(Expand("wc -c", "x y", &direct) == Argv{"wc", "-c", "x y"});
    CHECK(direct);
    CHECK(Expand("tr a b | cat", "it's") == Shell("tr a b | cat 'it'\\''s'"));
    // A field placeholder counts: nothing is appended.
    CHECK(Expand("echo {2}", "a b") == Argv{"echo", "b"});
  }

  TEST_CASE("shell syntax goes through /bin/sh with every value quoted") {
    bool direct = true;
    CHECK(Expand("echo {} | tr a-z A-Z", "a b", &direct) == Shell("echo 'a b' | tr a-z A-Z"));
    CHECK_FALSE(direct);
    CHECK(Expand("echo \"{1}\" > out.txt", "x'y z") == Shell("echo \"'x'\\''y'\" > out.txt"));
    CHECK(Expand("echo $HOME {}", "") == Shell("echo $HOME ''"));
    CHECK(Expand("ls *.txt {}", "a") == Shell("ls *.txt 'a'"));
    CHECK(Expand("echo {}\necho again", "n") == Shell("echo 'n'\necho again"));
    CHECK(Expand("echo {} # comment", "c") == Shell("echo 'c' # comment"));
    CHECK(Expand("echo ~ {}", "t") == Shell("echo ~ 't'"));
  }

  TEST_CASE("braces that are no placeholder are literal: awk programs, {''}") {
    CHECK(Expand("awk '{print $1}'", "a b") == Shell("awk '{print $1}' 'a b'"));
    CHECK(Expand("echo {''} {}", "r") == Shell("echo {''} 'r'"));
    CHECK(Expand("echo {x} {1", "r") == Shell("echo {x} {1 'r'"));
    CHECK(Expand("echo {{}}", "r") == Shell("echo {'r'}"));
  }

  TEST_CASE("the shell's own words and assignments go through the shell") {
    bool direct = true;
    CHECK(Expand("exit {}", "3", &direct) == Shell("exit '3'"));
    CHECK_FALSE(direct);
    CHECK(Expand("cd {}", "/tmp") == Shell("cd '/tmp'"));
    CHECK(Expand("export X={}", "1") == Shell("export X='1'"));
    CHECK(Expand("LC_ALL=C sort {}", "f") == Shell("LC_ALL=C sort 'f'"));
    CHECK(Expand(": {}", "x") == Shell(": 'x'"));
    CHECK(Expand("if {}", "x") == Shell("if 'x'"));
    // A program named by a placeholder is run by the shell, as it would be.
    CHECK(Expand("{} --version", "prog", &direct) == Shell("'prog' --version"));
    CHECK_FALSE(direct);
  }

  TEST_CASE("binary bytes pass as they are; a NUL byte cannot") {
    const std::string binary = "\x01\xff\xfe'\t\r";
    CHECK(Expand("printf %s {}", binary) == Argv{"printf", "%s", binary});
    CHECK(Expand("printf %s {} | cat", binary) == Shell("printf %s '\x01\xff\xfe'\\''\t\r' | cat"));

    CommandTemplate command;
    std::string error;
    REQUIRE(command.Parse("echo {}", &error));
    Argv argv;
    CHECK_FALSE(command.Expand(std::string("a\0b", 3), &argv, &error));
    CHECK(error == "the record holds a NUL byte, which a command line cannot carry");
    // Only substituted values count: {1} of "a b\0c" is "a".
    REQUIRE(command.Parse("echo {1}", &error));
    CHECK(command.Expand(std::string("a b\0c", 5), &argv, &error));
    CHECK(argv == Argv{"echo", "a"});
  }

  TEST_CASE("one template expands record after record") {
    CommandTemplate command;
    std::string error;
    REQUIRE(command.Parse("echo {2} {1}", &error));
    Argv argv;
    REQUIRE(command.Expand("a b c", &argv, &error));
    CHECK(argv == Argv{"echo", "b", "a"});
    REQUIRE(command.Expand("z", &argv, &error));
    CHECK(argv == Argv{"echo", "", "z"});
  }
}

}  // namespace flow
