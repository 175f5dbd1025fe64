// sh("cmd"): one long-lived shell per instance, records on its stdin and
// its stdout lines back as records, with commands that buffer everything
// (sort), echo as they go (cat), stop early (head -1), print more than they
// read (yes) and fail (exit 3, a missing program, a signal).
#include <sys/wait.h>

#include <algorithm>
#include <random>

#include "stdlib/stages.h"
#include "tests/stdlib/stage_test_util.h"

namespace flow {
namespace {

using stagetest::CollectingEmitter;
using stagetest::Emitted;
using stagetest::Outcome;
using Texts = std::vector<std::string>;

std::unique_ptr<Stage> Sh(const std::string& command) {
  std::string error;
  std::unique_ptr<Stage> stage = MakeShStage(command, &error);
  INFO(error);
  REQUIRE(stage != nullptr);
  return stage;
}

Outcome Run(const std::string& command, const Texts& inputs) { return stagetest::Feed(*Sh(command), inputs); }

Texts Numbers(int from, int to) {
  Texts texts;
  for (int i = from; i <= to; ++i) texts.push_back(std::to_string(i));
  return texts;
}

}  // namespace

TEST_SUITE("sh") {
  TEST_CASE("cat gives back every record; NR counts the output lines") {
    Outcome out = Run("cat", {"a", "b c", "", "it's", "  x  "});
    CHECK(out.records == std::vector<Emitted>{{"a", 1}, {"b c", 2}, {"", 3}, {"it's", 4}, {"  x  ", 5}});
    CHECK(out.fatal == "");
    CHECK(out.fed == 5);
  }

  TEST_CASE("binary bytes pass through unchanged") {
    const std::string binary = "\x01\xff\xfe'\"\\\t\r\x7f";
    CHECK(Run("cat", {binary, binary}).Texts() == Texts{binary, binary});
  }

  TEST_CASE("sort holds everything until end of input") {
    Texts input = Numbers(1, 20000);
    std::mt19937 rng(5);
    std::shuffle(input.begin(), input.end(), rng);
    Outcome out = Run("sort -n", input);
    CHECK(out.fatal == "");
    CHECK(out.Texts() == Numbers(1, 20000));
    CHECK(out.records.back() == Emitted{"20000", 20000});
  }

  TEST_CASE("a megabyte each way through cat, written and read at the same time") {
    Texts input;
    for (int i = 0; i < 100; ++i) input.push_back(std::string(10485, static_cast<char>('a' + i % 26)));
    Outcome out = Run("cat", input);
    CHECK(out.fatal == "");
    CHECK(out.Texts() == input);
  }

  TEST_CASE("more output than input: yes | head") {
    Outcome out = Run("yes | head -n 200000", {});
    CHECK(out.fatal == "");
    REQUIRE(out.records.size() == 200000);
    CHECK(out.records.back() == Emitted{"y", 200000});
    CHECK(Run("yes | head -n 100000", Numbers(1, 100000)).records.size() == 100000);
  }

  TEST_CASE("head -1 on 100k lines: the rest is not written, no error") {
    Outcome out = Run("head -1", Numbers(1, 100000));
    CHECK(out.fatal == "");
    CHECK(out.Texts() == Texts{"1"});
    CHECK(out.fed < 100000);  // the stage was satisfied: upstream cancelled
  }

  TEST_CASE("an unterminated last line counts; no output is no record") {
    CHECK(Run("cat >/dev/null; printf 'a\\nb'", {"x", "y"}).Texts() == Texts{"a", "b"});
    Outcome none = Run("cat >/dev/null", Numbers(1, 1000));
    CHECK(none.records.empty());
    CHECK(none.fatal == "");
  }

  TEST_CASE("the command runs even with no input") {
    CHECK(Run("echo start; cat", {}).Texts() == Texts{"start"});
  }

  TEST_CASE("line by line tools: awk numbers what it reads") {
    CHECK(Run("awk '{ print NR \": \" $2 }'", {"a b", "c", "d e f"}).Texts() == Texts{"1: b", "2: ", "3: e"});
  }

  TEST_CASE("a non-zero exit, a signal, a missing program: fatal at the end") {
    Outcome exit3 = Run("cat; exit 3", {"a"});
    CHECK(exit3.Texts() == Texts{"a"});
    CHECK(exit3.fatal == "command exited with status 3");
    CHECK(Run("exit 3", Numbers(1, 100000)).fatal == "command exited with status 3");
    CHECK(Run("kill -9 $$", {"a"}).fatal == "command was killed by signal 9 (SIGKILL)");
    Outcome missing = Run("no-such-program-flowrun 2>/dev/null", Numbers(1, 10000));
    CHECK(missing.fatal == "command exited with status 127");
    CHECK(missing.records.empty());
  }

  TEST_CASE("an empty command is refused when the stage is made") {
    std::string error;
    CHECK(MakeShStage(" \n", &error) == nullptr);
    CHECK(error == "the command is empty");
  }

  TEST_CASE("when downstream wants no more, the command is ended without an error") {
    std::unique_ptr<Stage> stage = Sh("yes");
    CollectingEmitter out(10);
    StageStatus status = stage->OnRecord(RecordView{"x", 1, 0}, out);
    CHECK(status.ok());
    status = stage->Finish(out);
    CHECK(status.ok());
    CHECK(stage->Satisfied());
    CHECK(out.records.size() == 10);
  }

  TEST_CASE("a stage destroyed mid-run leaves no process behind") {
    // Children that earlier tests left to us are reaped first: a worker
    // pool test makes this process a subreaper (BecomeSubreaper), so their
    // orphaned descendants end up here, and one was once taken for the
    // shell's (CI, ASan).
    int earlier = 0;
    while (waitpid(-1, &earlier, WNOHANG) > 0) {
    }
    std::unique_ptr<Stage> stage = Sh("cat");
    CollectingEmitter out;
    CHECK(stage->OnRecord(RecordView{"x", 1, 0}, out).ok());
    stage.reset();  // ChildProcess's destructor kills and reaps the shell
    int status = 0;
    CHECK(waitpid(-1, &status, WNOHANG) <= 0);
  }
}

}  // namespace flow
