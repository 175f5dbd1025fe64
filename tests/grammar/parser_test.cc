// The parser on valid programs: the exact tree of every construct.
#include <doctest/doctest.h>

#include <string>
#include <tao/pegtl/contrib/analyze.hpp>

#include "grammar/rules.h"
#include "tests/grammar/parse_for_test.h"

namespace flow {
namespace {

using testing::Dump;
using testing::DumpOf;
using testing::ParseResult;
using testing::ParseText;

TEST_SUITE("parser") {
  TEST_CASE("the grammar has no rule that can loop without progress") {
    CHECK(tao::pegtl::analyze<grammar::program_statement>(0) == 0);
    CHECK(tao::pegtl::analyze<grammar::statement_gap>(0) == 0);
  }

  TEST_CASE("the first look example of the contract") {
    const char* program = R"(# whois.flow: which networks do the visitors of a web site come from?
let server = arg("server", "127.0.0.1:4343")

stage ips = read("examples/data/access.log") | map { $1 } | distinct

ips
  | whois(server = server, fields = "netname,country") * 12 [ordered, retries = 2, timeout = 5s]
  | count_by(fs = "\t") { $3 }
  | sort(numeric = true, reverse = true, key = 2)
  | write("-")
)";
    CHECK(Dump(program) ==
          "(program"
          " (let server (call arg (str \"server\") (str \"127.0.0.1:4343\")))"
          " (stagedef ips (pipeline (stage read (arg (str \"examples/data/access.log\"))) (stage map (block (field 1)))"
          " (stage distinct)))"
          " (pipeline (stage ips)"
          " (stage whois (arg server (name server)) (arg fields (str \"netname,country\")) (replicas 12)"
          " (options ordered (retries (int 2)) (timeout (duration 5000000000))))"
          " (stage count_by (arg fs (str \"\\t\")) (block (field 3)))"
          " (stage sort (arg numeric (bool true)) (arg reverse (bool true)) (arg key (int 2)))"
          " (stage write (arg (str \"-\")))))");
  }

  TEST_CASE("an empty file, blank lines, comments and lone ';' make no statement") {
    for (const char* text : {"", "\n\n\n", "# only a comment", "  # a\n\n\t# b\r\n", ";;\n ; ;", "\xEF\xBB\xBF"}) {
      ParseResult r = ParseText(text);
      CHECK(r.dump == "(program)");
      CHECK(r.errors == 0);
    }
  }

  TEST_CASE("integers") {
    CHECK(DumpOf("0") == "(int 0)");
    CHECK(DumpOf("42") == "(int 42)");
    CHECK(DumpOf("007") == "(int 7)");
    CHECK(DumpOf("1_000_000") == "(int 1000000)");
    CHECK(DumpOf("9223372036854775807") == "(int 9223372036854775807)");
    CHECK(DumpOf("9_223_372_036_854_775_807") == "(int 9223372036854775807)");
    // A leading '-' is the unary minus, so the smallest int is written as in C.
    CHECK(DumpOf("-7") == "(- (int 7))");
    CHECK(DumpOf("-9223372036854775807 - 1") == "(- (- (int 9223372036854775807)) (int 1))");
  }

  TEST_CASE("floats") {
    CHECK(DumpOf("1.5") == "(float 1.5)");
    CHECK(DumpOf("2e-3") == "(float 0.002)");
    CHECK(DumpOf("2E+3") == "(float 2000)");
    CHECK(DumpOf("1.5e10") == "(float 15000000000)");
    CHECK(DumpOf("0.1") == "(float 0.1)");
    CHECK(DumpOf("1_000.000_1") == "(float 1000.0001)");
    CHECK(DumpOf("1e308") == "(float 1e+308)");
    CHECK(DumpOf("-2.5") == "(- (float 2.5))");
  }

  TEST_CASE("durations and sizes") {
    CHECK(DumpOf("250ms") == "(duration 250000000)");
    CHECK(DumpOf("5s") == "(duration 5000000000)");
    CHECK(DumpOf("2m") == "(duration 120000000000)");
    CHECK(DumpOf("1h") == "(duration 3600000000000)");
    CHECK(DumpOf("0s") == "(duration 0)");
    CHECK(DumpOf("1_000ms") == "(duration 1000000000)");
    CHECK(DumpOf("12B") == "(size 12)");
    CHECK(DumpOf("64KiB") == "(size 65536)");
    CHECK(DumpOf("4MiB") == "(size 4194304)");
    CHECK(DumpOf("1GiB") == "(size 1073741824)");
    CHECK(DumpOf("2TiB") == "(size 2199023255552)");
    CHECK(DumpOf("8388607TiB") == "(size 9223370937343148032)");
  }

  TEST_CASE("strings and every escape") {
    CHECK(DumpOf(R"("")") == R"((str ""))");
    CHECK(DumpOf(R"("plain text")") == R"((str "plain text"))");
    CHECK(DumpOf(R"("a\nb\tc\rd\\e\"f\0g")") == R"((str "a\nb\tc\rd\\e\"f\0g"))");
    CHECK(DumpOf(R"("\x41\x7a\xff\x00")") == R"((str "Az\xff\0"))");
    CHECK(DumpOf(R"("\u{41}\u{e9}\u{20AC}\u{1F600}\u{10FFFF}")") ==
          R"((str "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"))");
    CHECK(DumpOf(R"("\u{0000e9}")") == R"((str "\xc3\xa9"))");
    CHECK(DumpOf("\"caf\xC3\xA9 # not a comment\"") == R"((str "caf\xc3\xa9 # not a comment"))");
    CHECK(DumpOf("\"a\tb\"") == R"((str "a\tb"))");
  }

  TEST_CASE("raw strings take no escapes") {
    CHECK(DumpOf(R"(r"")") == R"((str ""))");
    CHECK(DumpOf(R"(r"\d+\.\d+")") == R"((str "\\d+\\.\\d+"))");
    CHECK(DumpOf(R"(r"a\")") == R"((str "a\\"))");
    CHECK(DumpOf(R"(r"# x" + "y")") == R"((+ (str "# x") (str "y")))");
    // `r` alone, or before anything but a quote, is a name.
    CHECK(DumpOf("r") == "(name r)");
    CHECK(DumpOf("r(1)") == "(call r (int 1))");
    CHECK(DumpOf("rr") == "(name rr)");
  }

  TEST_CASE("booleans, names and keywords inside longer names") {
    CHECK(DumpOf("true") == "(bool true)");
    CHECK(DumpOf("false") == "(bool false)");
    CHECK(DumpOf("trueish") == "(name trueish)");
    CHECK(DumpOf("letter + stages + false_") == "(+ (+ (name letter) (name stages)) (name false_))");
    CHECK(DumpOf("_x") == "(name _x)");
    CHECK(DumpOf("NFX") == "(name NFX)");
    CHECK(DumpOf("x1_y2") == "(name x1_y2)");
  }

  TEST_CASE("fields, NF, NR and _") {
    CHECK(DumpOf("$0") == "(field 0)");
    CHECK(DumpOf("$1") == "(field 1)");
    CHECK(DumpOf("$12") == "(field 12)");
    CHECK(DumpOf("$1_0") == "(field 10)");
    CHECK(DumpOf("_") == "(field 0)");
    CHECK(DumpOf("$(NF)") == "(field (nf))");
    CHECK(DumpOf("$(NF - 1)") == "(field (- (nf) (int 1)))");
    CHECK(DumpOf("$($1)") == "(field (field 1))");
    CHECK(DumpOf("$( 2 )") == "(field (int 2))");
    CHECK(DumpOf("NR % 2 == 0") == "(== (% (nr) (int 2)) (int 0))");
  }

  TEST_CASE("function calls") {
    CHECK(DumpOf("len($1)") == "(call len (field 1))");
    CHECK(DumpOf("hash()") == "(call hash)");
    CHECK(DumpOf("substr($0, 2, 3)") == "(call substr (field 0) (int 2) (int 3))");
    CHECK(DumpOf("fmt(\"{} {}\", upper($1), int($2, 0) + 1)") ==
          "(call fmt (str \"{} {}\") (call upper (field 1)) (+ (call int (field 2) (int 0)) (int 1)))");
    CHECK(DumpOf("len (x)") == "(call len (name x))");
    // Inside the parentheses newlines and comments are blanks.
    CHECK(DumpOf("max(\n  1,  # one\n  2\n)") == "(call max (int 1) (int 2))");
  }

  TEST_CASE("operator precedence, highest first: unary; * / %; + -; < <= > >=; == !=; &&; ||; ?:") {
    CHECK(DumpOf("1 + 2 * 3") == "(+ (int 1) (* (int 2) (int 3)))");
    CHECK(DumpOf("1 * 2 + 3") == "(+ (* (int 1) (int 2)) (int 3))");
    CHECK(DumpOf("a - b % c") == "(- (name a) (% (name b) (name c)))");
    CHECK(DumpOf("a + b < c - d") == "(< (+ (name a) (name b)) (- (name c) (name d)))");
    CHECK(DumpOf("a <= b == c >= d") == "(== (<= (name a) (name b)) (>= (name c) (name d)))");
    CHECK(DumpOf("a == b && c != d") == "(&& (== (name a) (name b)) (!= (name c) (name d)))");
    CHECK(DumpOf("a || b && c") == "(|| (name a) (&& (name b) (name c)))");
    CHECK(DumpOf("a && b || c") == "(|| (&& (name a) (name b)) (name c))");
    CHECK(DumpOf("a || b ? c : d") == "(? (|| (name a) (name b)) (name c) (name d))");
    CHECK(DumpOf("-a * b") == "(* (- (name a)) (name b))");
    CHECK(DumpOf("!a && b") == "(&& (! (name a)) (name b))");
    CHECK(DumpOf("!a == b") == "(== (! (name a)) (name b))");
    CHECK(DumpOf("-(a + b)") == "(- (+ (name a) (name b)))");
    CHECK(DumpOf("(1 + 2) * 3") == "(* (+ (int 1) (int 2)) (int 3))");
    CHECK(DumpOf("1 + 2 * 3 - 4 / 5 % 6 < 7 == !a && b || c") ==
          "(|| (&& (== (< (- (+ (int 1) (* (int 2) (int 3))) (% (/ (int 4) (int 5)) (int 6))) (int 7)) (! (name a)))"
          " (name b)) (name c))");
  }

  TEST_CASE("binary operators are left-associative") {
    CHECK(DumpOf("a - b - c") == "(- (- (name a) (name b)) (name c))");
    CHECK(DumpOf("a / b / c") == "(/ (/ (name a) (name b)) (name c))");
    CHECK(DumpOf("a % b * c / d") == "(/ (* (% (name a) (name b)) (name c)) (name d))");
    CHECK(DumpOf("a + b - c + d") == "(+ (- (+ (name a) (name b)) (name c)) (name d))");
    CHECK(DumpOf("a < b < c") == "(< (< (name a) (name b)) (name c))");
    CHECK(DumpOf("a == b != c") == "(!= (== (name a) (name b)) (name c))");
    CHECK(DumpOf("a && b && c") == "(&& (&& (name a) (name b)) (name c))");
    CHECK(DumpOf("a || b || c") == "(|| (|| (name a) (name b)) (name c))");
    CHECK(DumpOf("\"a\" + \"b\" + \"c\"") == "(+ (+ (str \"a\") (str \"b\")) (str \"c\"))");
  }

  TEST_CASE("unary operators nest; '-' before a literal is an operator") {
    CHECK(DumpOf("- - 1") == "(- (- (int 1)))");
    CHECK(DumpOf("--1") == "(- (- (int 1)))");
    CHECK(DumpOf("!!true") == "(! (! (bool true)))");
    CHECK(DumpOf("-!-x") == "(- (! (- (name x))))");
    CHECK(DumpOf("1 - -1") == "(- (int 1) (- (int 1)))");
    CHECK(DumpOf("1--1") == "(- (int 1) (- (int 1)))");
    CHECK(DumpOf("-5s") == "(- (duration 5000000000))");
  }

  TEST_CASE("the conditional is right-associative and lowest") {
    CHECK(DumpOf("a ? b : c") == "(? (name a) (name b) (name c))");
    CHECK(DumpOf("a ? b : c ? d : e") == "(? (name a) (name b) (? (name c) (name d) (name e)))");
    CHECK(DumpOf("a ? b ? c : d : e") == "(? (name a) (? (name b) (name c) (name d)) (name e))");
    CHECK(DumpOf("x > 0 ? x + 1 : -x") == "(? (> (name x) (int 0)) (+ (name x) (int 1)) (- (name x)))");
    CHECK(DumpOf("(a ? b : c) + 1") == "(+ (? (name a) (name b) (name c)) (int 1))");
  }

  TEST_CASE("let and stage definitions") {
    CHECK(Dump("let x = 1") == "(program (let x (int 1)))");
    CHECK(Dump("let workers = int(arg(\"workers\", \"4\"))") ==
          "(program (let workers (call int (call arg (str \"workers\") (str \"4\")))))");
    CHECK(Dump("stage ips = read(\"a\") | distinct") ==
          "(program (stagedef ips (pipeline (stage read (arg (str \"a\"))) (stage distinct))))");
    CHECK(Dump("stage lookup(server) = whois(server = server)") ==
          "(program (stagedef lookup (params server) (pipeline (stage whois (arg server (name server))))))");
    CHECK(Dump("stage pick(a, b,\n  c) = map { $(a) + b + c }") ==
          "(program (stagedef pick (params a b c) (pipeline (stage map (block (+ (+ (field (name a)) (name b))"
          " (name c)))))))");
    CHECK(Dump("stage\tx =\tseq(3)") == "(program (stagedef x (pipeline (stage seq (arg (int 3))))))");
  }

  TEST_CASE("stage calls: with and without parentheses, arguments, blocks") {
    CHECK(Dump("seq") == "(program (pipeline (stage seq)))");
    CHECK(Dump("seq()") == "(program (pipeline (stage seq ())))");
    CHECK(Dump("seq(1, 10)") == "(program (pipeline (stage seq (arg (int 1)) (arg (int 10)))))");
    CHECK(Dump("x | sort(key = 2, reverse = true)") ==
          "(program (pipeline (stage x) (stage sort (arg key (int 2)) (arg reverse (bool true)))))");
    CHECK(Dump("x | f(1, name = 2, 3)") ==
          "(program (pipeline (stage x) (stage f (arg (int 1)) (arg name (int 2)) (arg (int 3)))))");
    CHECK(Dump("x | f(a == 1)") == "(program (pipeline (stage x) (stage f (arg (== (name a) (int 1))))))");
    CHECK(Dump("x | distinct { $2 }") == "(program (pipeline (stage x) (stage distinct (block (field 2)))))");
    CHECK(Dump("x | count_by(fs = \",\") { $1 }") ==
          "(program (pipeline (stage x) (stage count_by (arg fs (str \",\")) (block (field 1)))))");
    CHECK(Dump("x | count | discard") == "(program (pipeline (stage x) (stage count) (stage discard)))");
    CHECK(Dump("x | read (\"a\")") == "(program (pipeline (stage x) (stage read (arg (str \"a\")))))");
  }

  TEST_CASE("blocks with lets") {
    CHECK(Dump("x | map { let a = $1; let b = a + 1; b * 2 }") ==
          "(program (pipeline (stage x) (stage map (block (let a (field 1)) (let b (+ (name a) (int 1)))"
          " (* (name b) (int 2))))))");
    CHECK(Dump("x | map {\n  let a = $1;   # first\n  let b = a\n    + 1;\n\n  b\n}") ==
          "(program (pipeline (stage x) (stage map (block (let a (field 1)) (let b (+ (name a) (int 1))) (name b)))))");
    CHECK(Dump("x | filter{$1==\"a\"}") == "(program (pipeline (stage x) (stage filter (block (== (field 1) (str \"a\"))))))");
    CHECK(Dump("x | map { letter }") == "(program (pipeline (stage x) (stage map (block (name letter)))))");
  }

  TEST_CASE("replica counts: numbers (0 and negative too), names, auto") {
    CHECK(Dump("x | s * 12") == "(program (pipeline (stage x) (stage s (replicas 12))))");
    CHECK(Dump("x | s*4") == "(program (pipeline (stage x) (stage s (replicas 4))))");
    CHECK(Dump("x | s * 0") == "(program (pipeline (stage x) (stage s (replicas 0))))");
    CHECK(Dump("x | s *-3") == "(program (pipeline (stage x) (stage s (replicas -3))))");
    CHECK(Dump("x | s * -3") == "(program (pipeline (stage x) (stage s (replicas -3))))");
    CHECK(Dump("x | s * auto") == "(program (pipeline (stage x) (stage s (replicas auto))))");
    CHECK(Dump("x | s * workers") == "(program (pipeline (stage x) (stage s (replicas (name workers)))))");
    CHECK(Dump("x | s * auto_x") == "(program (pipeline (stage x) (stage s (replicas (name auto_x)))))");
    CHECK(Dump("x | s * 1_000") == "(program (pipeline (stage x) (stage s (replicas 1000))))");
    CHECK(Dump("x | map { $1 } * 4 | y") ==
          "(program (pipeline (stage x) (stage map (block (field 1)) (replicas 4)) (stage y)))");
  }

  TEST_CASE("options") {
    CHECK(Dump("x | s [ordered]") == "(program (pipeline (stage x) (stage s (options ordered))))");
    CHECK(Dump("x | s * 2 [ordered, retries = 2, on_error = skip, timeout = 5s, queue = 16MiB]") ==
          "(program (pipeline (stage x) (stage s (replicas 2) (options ordered (retries (int 2)) (on_error (name skip))"
          " (timeout (duration 5000000000)) (queue (size 16777216))))))");
    CHECK(Dump("x | s[queue=4096]") == "(program (pipeline (stage x) (stage s (options (queue (int 4096))))))");
    CHECK(Dump("x | s(1) { $1 } * auto [\n  ordered,\n  retries = 1 + 1\n]") ==
          "(program (pipeline (stage x) (stage s (arg (int 1)) (block (field 1)) (replicas auto)"
          " (options ordered (retries (+ (int 1) (int 1)))))))");
  }

  TEST_CASE("pipelines over several lines: trailing '|'") {
    CHECK(Dump("read(\"a\") |\n  map { $1 } |  # why\n\n  # a comment\n  write(\"b\")\nlet x = 1") ==
          "(program (pipeline (stage read (arg (str \"a\"))) (stage map (block (field 1))) (stage write (arg (str \"b\"))))"
          " (let x (int 1)))");
  }

  TEST_CASE("pipelines over several lines: leading '|'") {
    CHECK(Dump("read(\"a\")\n  | map { $1 }   # why\n\n  # a comment, then a blank line\n\n  | write(\"b\")\nlet x = 1") ==
          "(program (pipeline (stage read (arg (str \"a\"))) (stage map (block (field 1))) (stage write (arg (str \"b\"))))"
          " (let x (int 1)))");
    CHECK(Dump("stage s = a\n| b\n| c\ns | d") ==
          "(program (stagedef s (pipeline (stage a) (stage b) (stage c))) (pipeline (stage s) (stage d)))");
  }

  TEST_CASE("statements end at a newline or ';'") {
    CHECK(Dump("a | b\nc | d") == "(program (pipeline (stage a) (stage b)) (pipeline (stage c) (stage d)))");
    CHECK(Dump("let a = 1; let b = 2;c | d;") ==
          "(program (let a (int 1)) (let b (int 2)) (pipeline (stage c) (stage d)))");
    CHECK(Dump("let a = 1\r\nlet b = 2\r\n") == "(program (let a (int 1)) (let b (int 2)))");
    CHECK(Dump("let a = 1 # one\nlet b = 2 # two") == "(program (let a (int 1)) (let b (int 2)))");
  }

  TEST_CASE("inside any bracket, newlines are blanks") {
    CHECK(Dump("whois(\n  server = \"h:43\",\n  fields = \"a\"\n)\n| write(\"-\")") ==
          "(program (pipeline (stage whois (arg server (str \"h:43\")) (arg fields (str \"a\"))) (stage write (arg (str \"-\")))))");
    CHECK(Dump("let x = (1\n+\n2)") == "(program (let x (+ (int 1) (int 2))))");
    CHECK(Dump("x | map { $1\n  ? \"a\"\n  : \"b\" }") ==
          "(program (pipeline (stage x) (stage map (block (? (field 1) (str \"a\") (str \"b\"))))))");
  }

  TEST_CASE("stage arguments that are pipelines (tee, merge)") {
    // A plain call or name stays an expression: the checker makes it a stage.
    CHECK(Dump("x | tee(write(\"x\"))") == "(program (pipeline (stage x) (stage tee (arg (call write (str \"x\"))))))");
    CHECK(Dump("x | tee(discard)") == "(program (pipeline (stage x) (stage tee (arg (name discard)))))");
    CHECK(Dump("x | tee(map { $1 } | write(\"x\"))") ==
          "(program (pipeline (stage x) (stage tee (arg (pipeline (stage map (block (field 1))) (stage write (arg (str \"x\"))))))))");
    CHECK(Dump("merge(read(\"a\"), read(\"b\") | map { $0 })") ==
          "(program (pipeline (stage merge (arg (call read (str \"a\")))"
          " (arg (pipeline (stage read (arg (str \"b\"))) (stage map (block (field 0))))))))");
    CHECK(Dump("x | tee(distinct { $1 })") == "(program (pipeline (stage x) (stage tee (arg (pipeline (stage distinct (block (field 1))))))))");
    CHECK(Dump("x | tee(sort(key = 2))") ==
          "(program (pipeline (stage x) (stage tee (arg (pipeline (stage sort (arg key (int 2))))))))");
    CHECK(Dump("x | tee(count [ordered])") == "(program (pipeline (stage x) (stage tee (arg (pipeline (stage count (options ordered)))))))");
    CHECK(Dump("x | tee(s * auto | t)") ==
          "(program (pipeline (stage x) (stage tee (arg (pipeline (stage s (replicas auto)) (stage t))))))");
    // `s * 4` alone also reads as an expression (a product): the checker decides.
    CHECK(Dump("x | tee(s * 4)") == "(program (pipeline (stage x) (stage tee (arg (* (name s) (int 4))))))");
    CHECK(Dump("x | tee(branch = map { $1 }\n  | write(\"x\"))") ==
          "(program (pipeline (stage x) (stage tee (arg branch (pipeline (stage map (block (field 1))) (stage write (arg (str \"x\"))))))))");
    CHECK(Dump("x | tee(tee(map { 1 } | discard) | write(\"y\"))") ==
          "(program (pipeline (stage x) (stage tee (arg (pipeline (stage tee (arg (pipeline (stage map (block (int 1)))"
          " (stage discard)))) (stage write (arg (str \"y\"))))))))");
    CHECK(Dump("merge(\n  read(\"a\")\n    | map { $1 },\n  seq(3)\n)") ==
          "(program (pipeline (stage merge (arg (pipeline (stage read (arg (str \"a\"))) (stage map (block (field 1)))))"
          " (arg (call seq (int 3))))))");
  }

  TEST_CASE("source locations") {
    ParseResult r = ParseText("let x = 1 + $2 * -y\nread(\"a\")\n  | map(fs = \",\") { f($1) } * 4 [ordered, retries = 2]", true);
    CHECK(r.errors == 0);
    CHECK(r.dump ==
          "(program (let@1:5 x (+@1:11 (int@1:9 1) (*@1:16 (field@1:13 2) (-@1:18 (name@1:19 y)))))"
          " (pipeline@2:1 (stage@2:1 read (arg@2:6 (str@2:6 \"a\")))"
          " (stage@3:5 map (arg@3:9 fs (str@3:14 \",\")) (block@3:19 (call@3:21 f (field@3:23 1)))"
          " (replicas@3:31 4) (options ordered@3:34 (retries@3:43 (int@3:53 2))))))");
    ParseResult d = ParseText("stage s(a, b) = x | tee(y | z)\nx | map { let q = $1 ? 1 : 2; q }", true);
    CHECK(d.dump ==
          "(program (stagedef@1:7 s (params a@1:9 b@1:12) (pipeline@1:17 (stage@1:17 x)"
          " (stage@1:21 tee (arg@1:25 (pipeline@1:25 (stage@1:25 y) (stage@1:29 z))))))"
          " (pipeline@2:1 (stage@2:1 x) (stage@2:5 map (block@2:9 (let@2:15 q (?@2:22 (field@2:19 1) (int@2:24 1) (int@2:28 2)))"
          " (name@2:31 q)))))");
  }

  TEST_CASE("a 10,000-statement program") {
    std::string text;
    for (int i = 0; i < 2500; ++i) {
      const std::string n = std::to_string(i);
      text += "let c" + n + " = " + n + " * 2 + len(\"x" + n + "\")\n";
      text += "stage s" + n + "(p) = map { let a = $1; a + p } | filter { $2 != \"" + n + "\" && NF > 1 }\n";
      text += "read(\"in" + n + ".log\")\n  | s" + n + "(c" + n + ") * 4 [ordered, retries = 2]\n  | count_by { $(1 + NR % 3) }\n";
      text += "merge(seq(" + n + "), lines(\"a\\nb\") | map { upper(_) }) | tee(write(\"t\")) | write(\"-\")\n";
    }
    SourceFile file("big.flow", text);
    DiagnosticSink sink(&file);
    Program program = ParseProgram(file, sink);
    CHECK(sink.error_count() == 0);
    CHECK(program.statements.size() == 10000);
  }

  TEST_CASE("a 10 MB string literal and a 100,000-stage pipeline") {
    ParseResult s = ParseText("let x = \"" + std::string(10'000'000, 'a') + "\"\nlet y = 1");
    CHECK(s.errors == 0);
    CHECK(s.dump.size() == 10'000'000 + 42);
    std::string stages = "read(\"a\")";
    for (int i = 0; i < 100'000; ++i) stages += " | x";
    SourceFile file("long.flow", stages);
    DiagnosticSink sink(&file);
    Program program = ParseProgram(file, sink);
    REQUIRE(program.statements.size() == 1);
    CHECK(std::get<Pipeline>(program.statements[0]).stages.size() == 100'001);
  }

  TEST_CASE("a long argument list and a long but shallow chain") {
    std::string args = "let x = f(1";
    for (int i = 0; i < 100'000; ++i) args += ", 1";
    ParseResult r = ParseText(args + ")");
    CHECK(r.errors == 0);
    // 1023 operators make a tree 1024 deep: the most the parser builds.
    std::string chain = "let x = 1";
    for (int i = 0; i < 1023; ++i) chain += " + 1";
    CHECK(ParseText(chain).errors == 0);
    std::string mixed = "let x = 1";
    for (int i = 0; i < 100'000; ++i) mixed += i % 2 ? " * 1" : " + 1";  // (1+1*1)+1*1 ...: height grows by one per '+'
    CHECK(ParseText(mixed).errors == 1);
  }
}

}  // namespace
}  // namespace flow
