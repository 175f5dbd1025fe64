// CheckProgram: names and constants, stage calls and their arguments,
// replicas, options and defined stages (contract sections 3, 6, 7;
// docs/language.md "Names and constants" and "Stages").
#include <doctest/doctest.h>

#include <limits>

#include "compiler/param_value.h"
#include "tests/compiler/check_test_util.h"

namespace flow {
namespace {

using checktest::At;
using checktest::Check;
using checktest::ErrorAt;

// The diagnostics of `text`; and, when `text` is in error, whether it is
// exactly the one `message` at the first `needle`.
std::string Errors(const std::string& text) { return Check(text).diagnostics; }
std::string One(const std::string& text, const std::string& needle, const std::string& message, int nth = 0) {
  return ErrorAt(text, needle, message, nth);
}

const StageNode& Node(const checktest::Checked& r, size_t i) {
  REQUIRE_MESSAGE(r.graph, r.diagnostics);
  REQUIRE(i < r.graph->nodes.size());
  return r.graph->nodes[i];
}

TEST_SUITE("checker") {
  TEST_CASE("a program needs a pipeline") {
    CHECK(Errors("") == "error: the program has no pipeline to run\n");
    CHECK(Errors("let a = 1\nstage s = map { $1 }\n") == "error: the program has no pipeline to run\n");
    CHECK(Errors("seq(3)\n") == "");
  }

  TEST_CASE("every builtin stage of section 6 has a signature") {
    for (const char* name : {"read", "seq", "lines", "merge", "map", "filter", "flatmap", "distinct", "head", "tail",
                             "sort", "count", "count_by", "sum", "sleep", "sha512", "exec", "sh", "whois", "tee",
                             "write", "report", "discard"})
      CHECK_MESSAGE(FindBuiltinStage(name) != nullptr, name);
    CHECK(FindBuiltinStage("nope") == nullptr);
    CHECK(FindBuiltinStage("read")->kind == StageKind::kSource);
    CHECK(FindBuiltinStage("read")->params[0].path_role == PathRole::kInputFile);
    CHECK(FindBuiltinStage("report")->params[0].path_role == PathRole::kOutputFile);
    CHECK(FindBuiltinStage("write")->kind == StageKind::kSink);
    CHECK(FindBuiltinStage("sort")->stateful);
    CHECK(FindBuiltinStage("exec")->side_effects);
    CHECK(FindBuiltinStage("merge")->variadic);
    CHECK(FindBuiltinStage("filter")->block_result == BlockResult::kBool);
    CHECK(FindBuiltinStage("distinct")->block == BlockRule::kOptional);
    CHECK(FindStageOption("queue")->type == ParamType::kIntOrSize);
    CHECK(FindStageOption("timeout")->type == ParamType::kDuration);
    CHECK(FindStageOption("nope") == nullptr);
  }

  TEST_CASE("let constants fold in order") {
    checktest::Checked r = Check("let a = 2\nlet b = a * 3 + len(\"xy\")\nseq(b)\n");
    CHECK(Node(r, 0).args.at("to") == Value::Int(8));
    std::string text = "let a = b\nlet b = 1\nseq(3)\n";
    CHECK(Errors(text) == One(text, "b\n", "'b' is defined later, at line 2; a let can only use the lets above it"));
    text = "let a = 1\nlet a = 2\nseq(3)\n";
    CHECK(Errors(text) == One(text, "a = 2", "'a' is already defined at line 1"));
    text = "let z = 1 / 0\nlet y = z + 1\nseq(y)\n";
    CHECK(Errors(text) == One(text, "/", "division by zero"));
  }

  TEST_CASE("arg reads -p, env reads the environment") {
    CheckOptions options;
    options.params = {{"n", "4"}, {"server", "10.0.0.1:43"}};
    options.getenv = [](const std::string& name) {
      return name == "HOME" ? std::optional<std::string>("/home/x") : std::nullopt;
    };
    checktest::Checked r = Check(
        "let n = int(arg(\"n\", \"1\"))\nlet m = int(arg(\"m\", \"7\"))\nlet h = env(\"HOME\", \"?\")\n"
        "let u = env(\"NOPE\", \"u\" + \"v\")\nseq(n * 10 + m) | whois(server = arg(\"server\"), fields = h + u)\n",
        options);
    CHECK(r.diagnostics == "");
    CHECK(Node(r, 0).args.at("to") == Value::Int(47));
    CHECK(Node(r, 1).args.at("server") == Value::Str("10.0.0.1:43"));
    CHECK(Node(r, 1).args.at("fields") == Value::Str("/home/xuv"));

    std::string text = "let s = arg(\"server\")\nseq(3)\n";
    CHECK(Errors(text) == One(text, "arg", "no value for 'server': pass -p server=VALUE"));
    text = "let s = env(\"NOPE\")\nseq(3)\n";
    CHECK(Errors(text) == One(text, "env", "environment variable 'NOPE' is not set and 'env' has no default"));
    text = "let s = arg(\"x\", 4)\nseq(3)\n";
    CHECK(Errors(text) == One(text, "4", "'arg' expects a str for argument 2, got int"));
  }

  TEST_CASE("a -p that is never read is a warning") {
    CheckOptions options;
    options.params = {{"used", "1"}, {"extra", "2"}};
    checktest::Checked r = Check("seq(3) | map { arg(\"used\") }\n", options);
    CHECK(r.graph);
    CHECK(r.diagnostics == "warning: -p extra=2 is never read: the program has no arg(\"extra\")\n");
    REQUIRE(r.graph->nodes[1].block->result->kind == ExprKind::kStrLit);
    CHECK(r.graph->nodes[1].block->result->text == "1");
  }

  TEST_CASE("stage arguments: count, names, types, defaults") {
    std::string text = "seq(3) | head(1, 2)\n";
    CHECK(Errors(text) == One(text, "2)", "'head' takes 1 argument, 2 given"));
    text = "seq(3) | head()\n";
    CHECK(Errors(text) == One(text, "head", "'head' takes 1 argument, 0 given"));
    text = "seq(3) | count(1)\n";
    CHECK(Errors(text) == One(text, "1)", "'count' takes no arguments, 1 given"));
    text = "read(\"a\", \"\\n\", 3)\n";
    CHECK(Errors(text) == One(text, "3", "'read' takes 1 or 2 arguments, 3 given"));
    text = "seq(1, 2, 3)\n";
    CHECK(Errors(text) == One(text, "3", "'seq' takes at most 2 arguments, 3 given"));
    text = "seq(3) | sort(revers = true)\n";
    CHECK(Errors(text) == One(text, "revers", "'sort' has no parameter 'revers'; did you mean 'reverse'?"));
    text = "seq(3) | sort(2, key = 1)\n";
    CHECK(Errors(text) == One(text, "key", "argument 'key' is given twice"));
    text = "seq(3) | sleep(\"1s\")\n";
    CHECK(Errors(text) == One(text, "\"1s\"", "'sleep' expects a duration for 'duration', got str"));
    text = "seq(3) | whois(fields = \"a\")\n";
    CHECK(Errors(text) == One(text, "whois", "'whois' is missing its argument 'server'"));
    text = "seq(3) | whois(srver = \"a\")\n";
    CHECK(Errors(text) == One(text, "srver", "'whois' has no parameter 'srver'; did you mean 'server'?"));
    text = "seq(3) | head(map { $1 })\n";
    CHECK(Errors(text) == One(text, "map", "'head' expects an int for 'n', got a pipeline"));

    checktest::Checked r = Check("seq(3) | sort(reverse = true) | sha512 | write(\"out.txt\")\n");
    CHECK(Node(r, 1).args == std::map<std::string, Value>{{"key", Value::Int(0)}, {"numeric", Value::Bool(false)},
                                                         {"reverse", Value::Bool(true)}});
    CHECK(Node(r, 2).args.at("rounds") == Value::Int(1));
    CHECK(Node(r, 3).args == std::map<std::string, Value>{{"path", Value::Str("out.txt")}, {"sep", Value::Str("\n")}});
  }

  TEST_CASE("seq binds one argument to 'to', two to 'from' and 'to'") {
    CHECK(Node(Check("seq(10)\n"), 0).args ==
          std::map<std::string, Value>{{"from", Value::Int(1)}, {"to", Value::Int(10)}});
    CHECK(Node(Check("seq(2, 5)\n"), 0).args ==
          std::map<std::string, Value>{{"from", Value::Int(2)}, {"to", Value::Int(5)}});
    CHECK(Node(Check("seq()\n"), 0).args.at("to") == Value::Int(std::numeric_limits<int64_t>::max()));
    CHECK(Node(Check("seq(from = 4)\n"), 0).args.at("from") == Value::Int(4));
  }

  TEST_CASE("an int widens where a float is wanted") {
    Value out;
    CHECK(ConvertArgument(ParamType::kFloat, Value::Int(3), &out));
    CHECK(out == Value::Float(3.0));
    CHECK_FALSE(ConvertArgument(ParamType::kInt, Value::Float(3.0), &out));
    CHECK(ConvertArgument(ParamType::kIntOrSize, Value::Bytes(Size{16}), &out));
    CHECK(DescribeParamType(ParamType::kIntOrSize) == "an int or a size");
  }

  TEST_CASE("argument values are checked") {
    std::string text = "seq(3) | map(fs = \"\") { $1 }\n";
    CHECK(Errors(text) == One(text, "\"\"", "'fs' must not be empty; leave it out to split on runs of blanks"));
    CHECK(Node(Check("seq(3) | count_by(fs = \"\\t\") { $3 }\n"), 1).args.at("fs") == Value::Str("\t"));
    text = "seq(3) | head(-1)\n";
    CHECK(Errors(text) == One(text, "-1", "'n' of 'head' must be at least 0, got -1"));
    text = "seq(3) | report(\"r\", format = \"xml\")\n";
    CHECK(Errors(text) == One(text, "\"xml\"", "'format' of 'report' must be tsv, csv, json or markdown, got 'xml'"));
    text = "read(\"\")\n";
    CHECK(Errors(text) == One(text, "\"\"", "'path' must not be empty"));
  }

  TEST_CASE("blocks: required, optional, refused") {
    std::string text = "seq(3) | map\n";
    CHECK(Errors(text) == One(text, "map", "'map' needs a block: map { ... }"));
    text = "seq(3) | head(1) { $1 }\n";
    CHECK(Errors(text) == One(text, "{", "'head' takes no block"));
    CHECK(Errors("seq(3) | distinct | distinct { $1 }\n") == "");
    CHECK(Node(Check("seq(3) | head(1)\n"), 1).block == nullptr);
  }

  TEST_CASE("unknown stages suggest builtins and defined stages") {
    std::string text = "seq(3) | whios\n";
    CHECK(Errors(text) == One(text, "whios", "unknown stage 'whios'; did you mean 'whois'?"));
    text = "stage lookup = whois(server = \"x\")\nseq(3) | lokup\n";
    CHECK(Errors(text) == One(text, "lokup", "unknown stage 'lokup'; did you mean 'lookup'?"));
  }

  TEST_CASE("replica counts") {
    std::string text = "seq(3) | map { $1 } * 0\n";
    CHECK(Errors(text) == One(text, "0", "replica count must be at least 1, got 0"));
    text = "seq(3) | map { $1 } * 2000000\n";
    CHECK(Errors(text) == One(text, "2000000", "replica count must be at most 1000000, got 2000000"));
    text = "let w = \"4\"\nseq(3) | map { $1 } * w\n";
    CHECK(Errors(text) == One(text, "w\n", "replica count 'w' must be an int, got str"));
    text = "let workers = 4\nseq(3) | map { $1 } * wrkers\n";
    CHECK(Errors(text) == One(text, "wrkers", "unknown name 'wrkers'; did you mean 'workers'?"));
    CheckOptions six_cpus;
    six_cpus.online_cpus = 6;
    checktest::Checked r = Check("let w = 3\nseq(3) | map { $1 } * w | sha512 * 5 | sleep(1ms) * auto\n", six_cpus);
    CHECK(Node(r, 1).replicas == 3);
    CHECK(Node(r, 2).replicas == 5);
    CHECK(Node(r, 3).replicas == 6);
    CHECK(Node(r, 3).replicas_auto);
    CHECK_FALSE(Node(r, 2).replicas_auto);
  }

  TEST_CASE("sources, sinks and stateful stages cannot be replicated") {
    std::string text = "read(\"a\") * 2\n";
    CHECK(Errors(text) == One(text, "2", "'read' is a source and cannot be replicated"));
    text = "seq(3) | write(\"-\") * auto\n";
    CHECK(Errors(text) == One(text, "auto", "'write' is a sink and cannot be replicated"));
    text = "seq(3) | sort * 4\n";
    CHECK(Errors(text) == One(text, "4", "'sort' keeps state across records and cannot be replicated"));
    CHECK(Errors("seq(3) * 1 | sort * 1\n") == "");
  }

  TEST_CASE("options") {
    checktest::Checked r = Check(
        "seq(3) | map { $1 } * 4 [ordered, retries = 3, timeout = 5s, on_error = skip, queue = 100]"
        " | sleep(1ms) [on_error = dead_letter, queue = 16MiB, ordered = false]\n");
    const StageOptionsSet& o = Node(r, 1).options;
    CHECK(o.ordered);
    CHECK(o.retries == 3);
    CHECK(o.timeout_ns == 5'000'000'000);
    CHECK(o.on_error == OnError::kSkip);
    CHECK(o.queue_records == 100);
    CHECK(Node(r, 2).options.on_error == OnError::kDeadLetter);
    CHECK(Node(r, 2).options.queue_bytes == 16 << 20);
    CHECK(Node(r, 0).options.retries == 2);

    std::string text = "seq(3) | map { $1 } [retrys = 1]\n";
    CHECK(Errors(text) == One(text, "retrys", "unknown option 'retrys'; did you mean 'retries'?"));
    text = "seq(3) | map { $1 } [ordered]\n";
    CHECK(Errors(text) == One(text, "ordered", "'ordered' needs a replicated stage (* N)"));
    CHECK(Errors("seq(3) | map { $1 } * auto [ordered]\n") == "");
    text = "seq(3) | map { $1 } [on_error = skp]\n";
    CHECK(Errors(text) ==
          One(text, "skp", "'on_error' must be fail, skip or dead_letter, got 'skp'; did you mean 'skip'?"));
    text = "seq(3) | map { $1 } [on_error = \"skip\"]\n";
    CHECK(Errors(text) ==
          One(text, "\"skip\"", "'on_error' must be fail, skip or dead_letter, written as a bare name"));
    text = "seq(3) | map { $1 } [retries = -1]\n";
    CHECK(Errors(text) == One(text, "-1", "'retries' must be at least 0, got -1"));
    text = "seq(3) | map { $1 } [timeout = 0s]\n";
    CHECK(Errors(text) == One(text, "0s", "'timeout' must be more than 0"));
    text = "seq(3) | map { $1 } [timeout = 5]\n";
    CHECK(Errors(text) == One(text, "5", "option 'timeout' expects a duration, got int"));
    text = "seq(3) [queue = 10]\n";
    CHECK(Errors(text) == One(text, "queue", "option 'queue' does not apply to a source: 'seq' has no input queue"));
    text = "seq(3) | map { $1 } [retries = 1, retries = 2]\n";
    CHECK(Errors(text) == One(text, "retries", "option 'retries' is given twice", 1));
    text = "seq(3) | map { $1 } [retries]\n";
    CHECK(Errors(text) == One(text, "retries", "option 'retries' needs a value (an int)"));
  }

  TEST_CASE("defined stages: parameters substituted, each use its own copy") {
    checktest::Checked r = Check(
        "let host = \"h\"\nstage lookup(server, n) = whois(server = server + \":43\") * n\n"
        "seq(3) | lookup(host, 2) | lookup(\"g\", n = 3)\n");
    CHECK(r.diagnostics == "");
    CHECK(Node(r, 1).args.at("server") == Value::Str("h:43"));
    CHECK(Node(r, 1).replicas == 2);
    CHECK(Node(r, 2).args.at("server") == Value::Str("g:43"));
    CHECK(Node(r, 2).replicas == 3);
    CHECK(Node(r, 1).loc.line == 2);

    std::string text = "stage lookup(server) = whois(server = server)\nseq(3) | lookup(\"a\", \"b\")\n";
    CHECK(Errors(text) == One(text, "\"b\"", "stage 'lookup' takes 1 argument, 2 given"));
    text = "stage lookup(server) = whois(server = server)\nseq(3) | lookup\n";
    CHECK(Errors(text) == One(text, "lookup\n", "stage 'lookup' takes 1 argument, 0 given"));
    text = "stage lookup(server) = whois(server = server)\nseq(3) | lookup(srver = \"a\")\n";
    CHECK(Errors(text) == One(text, "srver", "stage 'lookup' has no parameter 'srver'; did you mean 'server'?"));
    text = "stage lookup(server, n) = whois(server = server) * n\nseq(3) | lookup(n = 2)\n";
    CHECK(Errors(text) == One(text, "lookup(", "stage 'lookup' is missing its argument 'server'", 1));
    text = "stage s = map { $1 }\nseq(3) | s { $2 }\n";
    CHECK(Errors(text) == One(text, "{ $2", "stage 's' is a defined stage and takes no block"));
  }

  TEST_CASE("a defined stage's parameters become literals in its blocks") {
    checktest::Checked r = Check("stage tag(t) = map { t + $0 }\nseq(3) | tag(\"a\") | tag(\"b\")\n");
    const Expr& first = *Node(r, 1).block->result->children[0];
    const Expr& second = *Node(r, 2).block->result->children[0];
    REQUIRE(first.kind == ExprKind::kStrLit);
    REQUIRE(second.kind == ExprKind::kStrLit);
    CHECK(first.text == "a");
    CHECK(second.text == "b");
    std::string text = "stage tag(t) = map { t + $0 }\nseq(3) | tag(1)\n";
    CHECK(Errors(text) ==
          One(text, "+", "operator '+' needs two numbers or two strings, got int and str; convert with str()"));
  }

  TEST_CASE("the example of the contract's section 1") {
    checktest::Checked r = Check(
        "let server = arg(\"server\", \"127.0.0.1:4343\")\n\n"
        "stage ips = read(\"examples/data/access.log\") | map { $1 } | distinct\n\n"
        "ips\n"
        "  | whois(server = server, fields = \"netname,country\") * 12 [ordered, retries = 2, timeout = 5s]\n"
        "  | count_by(fs = \"\\t\") { $3 }\n"
        "  | sort(numeric = true, reverse = true, key = 2)\n"
        "  | write(\"-\")\n");
    REQUIRE_MESSAGE(r.graph, r.diagnostics);
    std::string labels;
    for (const StageNode& n : r.graph->nodes) labels += n.label + " ";
    CHECK(labels == "read map distinct whois count_by sort write ");
    CHECK(r.graph->edges.size() == 6);
    const StageNode& whois = Node(r, 3);
    CHECK(whois.replicas == 12);
    CHECK(whois.options.ordered);
    CHECK(whois.options.timeout_ns == 5'000'000'000);
    CHECK(whois.args.at("server") == Value::Str("127.0.0.1:4343"));
    CHECK(Node(r, 4).args.at("fs") == Value::Str("\t"));
    CHECK(Node(r, 5).args.at("key") == Value::Int(2));
    CHECK(Node(r, 0).loc.line == 3);
  }

  TEST_CASE("defined stages: definition errors") {
    std::string text = "stage map = filter { true }\nseq(3)\n";
    CHECK(Errors(text) == One(text, "map", "'map' is a builtin stage; choose another name"));
    text = "stage s = count\nstage s = count\nseq(3) | s\n";
    CHECK(Errors(text) == One(text, "s =", "stage 's' is already defined at line 1", 1));
    text = "stage s(a, a) = head(a)\nseq(3) | s(1, 2)\n";
    CHECK(Errors(text) == One(text, "a)", "stage 's' has two parameters named 'a'"));
  }

  TEST_CASE("a defined stage that uses itself is an error naming the cycle") {
    std::string text = "stage a = map { $1 } | a\nseq(3) | a\n";
    CHECK(Errors(text) == One(text, "a =", "stage 'a' uses itself: a -> a"));
    text = "stage a = b | count\nstage b = tee(c)\nstage c = a\nseq(3) | a\n";
    CHECK(Errors(text) == One(text, "a =", "stage 'a' uses itself: a -> b -> c -> a"));
  }

  TEST_CASE("* N and options on a defined stage") {
    std::string text = "stage ips = read(\"a\") | map { $1 } | distinct\nips * 4\n";
    CHECK(Errors(text) ==
          One(text, "4",
              "stage 'ips' is made of 3 stages and cannot be replicated; replicate one of its stages instead"));
    text = "stage two = map { $1 } | count\nseq(3) | two [retries = 1]\n";
    CHECK(Errors(text) == One(text, "retries", "stage 'two' is made of 2 stages; options apply to a single stage"));
    checktest::Checked r =
        Check("let w = 5\nstage hash = sha512(rounds = 2)\nseq(3) | hash * w [ordered, timeout = 1s]\n");
    CHECK(Node(r, 1).replicas == 5);
    CHECK(Node(r, 1).options.ordered);
    CHECK(Node(r, 1).options.timeout_ns == 1'000'000'000);
    text = "stage r = read(\"a\")\nr * 2\n";
    CHECK(Errors(text) == One(text, "2", "'read' is a source and cannot be replicated"));
  }

  TEST_CASE("an error in a defined stage is reported once, even unused or used twice") {
    std::string text = "stage bad = map { 1 + \"a\" }\nstage bad2(n) = head(n) | map { len(n) }\nseq(3) | bad | bad\n";
    CHECK(Errors(text) ==
          One(text, "+", "operator '+' needs two numbers or two strings, got int and str; convert with str()"));
    text = "stage unused(n) = head(n) | map { nope }\nseq(3)\n";
    CHECK(Errors(text) == One(text, "nope", "unknown name 'nope'"));
  }

  TEST_CASE("every error of the program in one pass") {
    std::string text = "let a = 1 + \"x\"\nseq(3) | whios\nseq(3) | head(\"2\")\nseq(3) | map { nope }\n";
    CHECK(Errors(text) ==
          One(text, "+", "operator '+' needs two numbers or two strings, got int and str; convert with str()") +
              One(text, "whios", "unknown stage 'whios'; did you mean 'whois'?") +
              One(text, "\"2\"", "'head' expects an int for 'n', got str") +
              One(text, "nope", "unknown name 'nope'"));
  }
}

}  // namespace
}  // namespace flow
