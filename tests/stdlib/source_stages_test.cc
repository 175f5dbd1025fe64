// read, seq and lines: the sources.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <limits>
#include <random>

#include "stdlib/stages.h"
#include "tests/stdlib/stage_test_util.h"

namespace flow {
namespace {

using stagetest::Emitted;
using stagetest::Outcome;
using stagetest::TempDir;

Outcome ReadText(const TempDir& dir, const std::string& bytes, const std::string& sep = "\n") {
  std::string path = dir.Write("in.txt", bytes);
  return stagetest::Produce(*MakeReadStage(path, sep, nullptr));
}

std::vector<std::string> Texts(const Outcome& outcome) { return outcome.Texts(); }

// The records of `text` split on `sep` the slow, obvious way.
std::vector<std::string> ReferenceSplit(const std::string& text, const std::string& sep) {
  std::vector<std::string> records;
  size_t start = 0;
  while (start < text.size()) {
    size_t at = text.find(sep, start);
    if (at == std::string::npos) at = text.size();
    records.push_back(text.substr(start, at - start));
    start = at + sep.size();
  }
  return records;
}

}  // namespace

TEST_SUITE("stages") {
  TEST_CASE("read splits a file on newlines, numbering records from 1") {
    TempDir dir;
    Outcome out = ReadText(dir, "alpha\nbeta\ngamma\n");
    CHECK(out.fatal == "");
    CHECK(out.records == std::vector<Emitted>{{"alpha", 1}, {"beta", 2}, {"gamma", 3}});
  }

  TEST_CASE("read: a last record without a separator, empty records, an empty file") {
    TempDir dir;
    CHECK(Texts(ReadText(dir, "a\nb")) == std::vector<std::string>{"a", "b"});
    CHECK(Texts(ReadText(dir, "")).empty());
    CHECK(Texts(ReadText(dir, "\n")) == std::vector<std::string>{""});
    CHECK(Texts(ReadText(dir, "\n\nx\n\n")) == std::vector<std::string>{"", "", "x", ""});
  }

  TEST_CASE("read keeps a trailing \\r and is binary-safe") {
    TempDir dir;
    CHECK(Texts(ReadText(dir, "a\r\nb\r\n")) == std::vector<std::string>{"a\r", "b\r"});
    std::string binary("x\0y\n\0\n\xff\xfe\0", 9);
    CHECK(Texts(ReadText(dir, binary)) ==
          std::vector<std::string>{std::string("x\0y", 3), std::string("\0", 1), std::string("\xff\xfe\0", 3)});
  }

  TEST_CASE("read with a custom separator, any byte string") {
    TempDir dir;
    CHECK(Texts(ReadText(dir, "a||b||||c", "||")) == std::vector<std::string>{"a", "b", "", "c"});
    CHECK(Texts(ReadText(dir, "a|b||", "||")) == std::vector<std::string>{"a|b"});
    CHECK(Texts(ReadText(dir, "one\r\ntwo\nthree", "\r\n")) == std::vector<std::string>{"one", "two\nthree"});
    CHECK(Texts(ReadText(dir, std::string("a\0b\0", 4), std::string("\0", 1))) ==
          std::vector<std::string>{"a", "b"});
  }

  TEST_CASE("read: separators straddling the read blocks, over several MiB") {
    TempDir dir;
    std::mt19937 rng(7);
    for (std::string sep : {std::string("\n"), std::string("<SEP>"), std::string("abab")}) {
      std::string text;
      while (text.size() < (5 << 20)) {
        size_t length = rng() % 3000;
        for (size_t i = 0; i < length; ++i) text += static_cast<char>('a' + rng() % 3);
        text += sep;
        if (rng() % 5 == 0) text += sep;  // an empty record
      }
      text += "tail";
      CAPTURE(sep);
      Outcome out = ReadText(dir, text, sep);
      std::vector<std::string> expected = ReferenceSplit(text, sep);
      REQUIRE(out.records.size() == expected.size());
      CHECK(Texts(out) == expected);
      CHECK(out.records.back().nr == static_cast<int64_t>(expected.size()));
    }
  }

  TEST_CASE("read: a 64 MiB record in one piece") {
    TempDir dir;
    std::string big(64 << 20, 'x');
    for (size_t i = 0; i < big.size(); i += 4099) big[i] = static_cast<char>('a' + i % 26);
    Outcome out = ReadText(dir, "first\n" + big + "\nlast");
    REQUIRE(out.records.size() == 3);
    CHECK(out.records[0] == Emitted{"first", 1});
    CHECK(out.records[1].bytes.size() == big.size());
    CHECK(out.records[1].bytes == big);
    CHECK(out.records[2] == Emitted{"last", 3});
  }

  TEST_CASE("read: a glob reads each match in byte order, NR going on across files") {
    TempDir dir;
    dir.Write("b.log", "b1\nb2\n");
    dir.Write("a.log", "a1\n");
    dir.Write("C.log", "c1");
    dir.Write("skip.txt", "no\n");
    Outcome out = stagetest::Produce(*MakeReadStage(dir.File("*.log"), "\n", nullptr));
    CHECK(out.fatal == "");
    CHECK(out.records == std::vector<Emitted>{{"c1", 1}, {"a1", 2}, {"b1", 3}, {"b2", 4}});
  }

  TEST_CASE("read: a missing file, a glob with no match and a directory are fatal errors naming them") {
    TempDir dir;
    std::string missing = dir.File("missing.txt");
    CHECK(stagetest::Produce(*MakeReadStage(missing, "\n", nullptr)).fatal ==
          "cannot read '" + missing + "': No such file or directory");
    std::string pattern = dir.File("*.none");
    CHECK(stagetest::Produce(*MakeReadStage(pattern, "\n", nullptr)).fatal == "no file matches '" + pattern + "'");
    CHECK(stagetest::Produce(*MakeReadStage(dir.path(), "\n", nullptr)).fatal ==
          "cannot read '" + dir.path() + "': Is a directory");
  }

  TEST_CASE("read \"-\" reads stdin") {
    TempDir dir;
    std::string path = dir.Write("stdin.txt", "from\nstdin");
    int saved = dup(STDIN_FILENO);
    int fd = open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    dup2(fd, STDIN_FILENO);
    close(fd);
    Outcome out = stagetest::Produce(*MakeReadStage("-", "\n", nullptr));
    dup2(saved, STDIN_FILENO);
    close(saved);
    CHECK(out.records == std::vector<Emitted>{{"from", 1}, {"stdin", 2}});
  }

  TEST_CASE("read stops when Emit returns false and when a stop is requested") {
    TempDir dir;
    std::string path = dir.Write("in.txt", "1\n2\n3\n4\n5\n");
    CHECK(stagetest::Produce(*MakeReadStage(path, "\n", nullptr), 2).records.size() == 2);
    std::atomic<bool> stop{true};
    Outcome out = stagetest::Produce(*MakeReadStage(path, "\n", &stop));
    CHECK(out.fatal == "");
    CHECK(out.records.empty());
  }

  TEST_CASE("read from a pipe that stays open notices a stop request without any signal") {
    int ends[2];
    REQUIRE(pipe(ends) == 0);
    REQUIRE(write(ends[1], "a\n", 2) == 2);
    int saved = dup(STDIN_FILENO);
    dup2(ends[0], STDIN_FILENO);
    close(ends[0]);
    std::atomic<bool> stop{false};
    std::promise<void> finished;
    // The stop comes while the stage waits for more; the writer stays open,
    // so only the stage's own look at the flag can end the wait. (The
    // writer is closed after 10 s so a failing stage cannot hang the test.)
    std::thread stopper([&, done = finished.get_future()] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      stop.store(true);
      done.wait_for(std::chrono::seconds(10));
      close(ends[1]);
    });
    auto start = std::chrono::steady_clock::now();
    Outcome out = stagetest::Produce(*MakeReadStage("-", "\n", &stop));
    auto elapsed = std::chrono::steady_clock::now() - start;
    finished.set_value();
    stopper.join();
    dup2(saved, STDIN_FILENO);
    close(saved);
    CHECK(out.fatal == "");
    CHECK(out.records == std::vector<Emitted>{{"a", 1}});
    CHECK(elapsed < std::chrono::seconds(2));
  }

  TEST_CASE("read through the factory, with its default separator") {
    TempDir dir;
    std::string path = dir.Write("in.txt", "x y\nz");
    stagetest::TestProgram program("read(\"" + path + "\") | discard");
    CHECK(Texts(stagetest::Produce(*program.Make("read"))) == std::vector<std::string>{"x y", "z"});
    stagetest::TestProgram with_sep("read(\"" + path + "\", sep = \" \") | discard");
    CHECK(Texts(stagetest::Produce(*with_sep.Make("read"))) == std::vector<std::string>{"x", "y\nz"});
  }

  TEST_CASE("seq counts from..to inclusive, NR being the position") {
    CHECK(stagetest::Produce(*MakeSeqStage(1, 3, nullptr)).records ==
          std::vector<Emitted>{{"1", 1}, {"2", 2}, {"3", 3}});
    CHECK(Texts(stagetest::Produce(*MakeSeqStage(-3, 2, nullptr))) ==
          std::vector<std::string>{"-3", "-2", "-1", "0", "1", "2"});
    CHECK(Texts(stagetest::Produce(*MakeSeqStage(98, 101, nullptr))) ==
          std::vector<std::string>{"98", "99", "100", "101"});
    CHECK(stagetest::Produce(*MakeSeqStage(5, 4, nullptr)).records.empty());
    CHECK(Texts(stagetest::Produce(*MakeSeqStage(-5, -4, nullptr))) == std::vector<std::string>{"-5", "-4"});
  }

  TEST_CASE("seq writes every number as to_string would") {
    Outcome out = stagetest::Produce(*MakeSeqStage(-1000, 1'000'000, nullptr));
    REQUIRE(out.records.size() == 1'001'001);
    bool all_equal = true;
    for (size_t i = 0; i < out.records.size() && all_equal; ++i) {
      int64_t value = -1000 + static_cast<int64_t>(i);
      all_equal = out.records[i] == Emitted{std::to_string(value), static_cast<int64_t>(i + 1)};
      if (!all_equal) CHECK(out.records[i] == Emitted{std::to_string(value), static_cast<int64_t>(i + 1)});
    }
    CHECK(all_equal);
  }

  TEST_CASE("seq at the top and bottom of the int range ends without overflowing") {
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    CHECK(Texts(stagetest::Produce(*MakeSeqStage(kMax - 2, kMax, nullptr))) ==
          std::vector<std::string>{"9223372036854775805", "9223372036854775806", "9223372036854775807"});
    CHECK(Texts(stagetest::Produce(*MakeSeqStage(kMax, kMax, nullptr))) ==
          std::vector<std::string>{"9223372036854775807"});
    CHECK(Texts(stagetest::Produce(*MakeSeqStage(kMin, kMin + 1, nullptr))) ==
          std::vector<std::string>{"-9223372036854775808", "-9223372036854775807"});
  }

  TEST_CASE("seq() never ends by itself: it stops when Emit returns false or on a stop request") {
    stagetest::TestProgram program("seq() | head(3) | discard");
    Outcome out = stagetest::Produce(*program.Make("seq"), 1000);
    REQUIRE(out.records.size() == 1000);
    CHECK(out.records.back() == Emitted{"1000", 1000});
    std::atomic<bool> stop{true};
    CHECK(stagetest::Produce(*MakeSeqStage(1, std::numeric_limits<int64_t>::max(), &stop)).records.empty());
  }

  TEST_CASE("seq through the factory: one argument is `to`") {
    stagetest::TestProgram program("seq(3) | discard");
    CHECK(Texts(stagetest::Produce(*program.Make("seq"))) == std::vector<std::string>{"1", "2", "3"});
    stagetest::TestProgram both("seq(7, 8) | discard");
    CHECK(Texts(stagetest::Produce(*both.Make("seq"))) == std::vector<std::string>{"7", "8"});
  }

  TEST_CASE("lines splits its string as flatmap does") {
    CHECK(stagetest::Produce(*MakeLinesStage("a\nb\n")).records == std::vector<Emitted>{{"a", 1}, {"b", 2}});
    CHECK(stagetest::Produce(*MakeLinesStage("")).records.empty());
    CHECK(Texts(stagetest::Produce(*MakeLinesStage("x\r\n\ny"))) == std::vector<std::string>{"x\r", "", "y"});
    stagetest::TestProgram program("lines(\"one\\ntwo\") | discard");
    CHECK(Texts(stagetest::Produce(*program.Make("lines"))) == std::vector<std::string>{"one", "two"});
  }
}

}  // namespace flow
