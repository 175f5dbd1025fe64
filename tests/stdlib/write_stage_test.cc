// write: to the supervisor's temporary path and to stdout, and its errors
// (a full device, a closed stdout, a file-size limit), the last two in a
// forked child so the test process keeps its own signals and limits.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "stdlib/stages.h"
#include "tests/stdlib/sink_test_util.h"
#include "tests/stdlib/stage_test_util.h"

namespace flow {
namespace {

using stagetest::Outcome;
using stagetest::TempDir;

// Runs `body` in a child process; returns what it wrote to the pipe it is
// given (its verdict).
std::string InChild(const std::function<std::string()>& body) {
  int verdict[2];
  REQUIRE(pipe(verdict) == 0);
  std::fflush(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(verdict[0]);
    std::string text = body();
    ssize_t ignored = write(verdict[1], text.data(), text.size());
    (void)ignored;
    _exit(0);
  }
  close(verdict[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = read(verdict[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(verdict[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  return text;
}

}  // namespace

TEST_SUITE("stages") {
  TEST_CASE("write puts a separator after every record, binary-safe, into the temporary path") {
    TempDir dir;
    std::string temp = dir.File("out.txt.tmp");
    std::string error;
    std::unique_ptr<Stage> stage = MakeWriteStage("out.txt", temp, "\n", &error);
    REQUIRE(stage != nullptr);
    std::string binary("a\0b\r", 4);
    std::string big(3 << 20, 'z');
    Outcome out = stagetest::Feed(*stage, {"one", binary, "", big, "last"});
    CHECK(out.fatal == "");
    CHECK(out.records.empty());
    CHECK(stagetest::ReadFile(temp) == "one\n" + binary + "\n\n" + big + "\nlast\n");
  }

  TEST_CASE("write with a custom separator, and an empty input makes an empty file") {
    TempDir dir;
    std::string error;
    std::string temp = dir.File("a.tmp");
    CHECK(stagetest::Feed(*MakeWriteStage("a", temp, "||", &error), {"x", "y"}).fatal == "");
    CHECK(stagetest::ReadFile(temp) == "x||y||");
    std::string empty = dir.File("b.tmp");
    CHECK(stagetest::Feed(*MakeWriteStage("b", empty, "\n", &error), {}).fatal == "");
    struct stat info {};
    REQUIRE(stat(empty.c_str(), &info) == 0);
    CHECK(info.st_size == 0);
  }

  TEST_CASE("a replacement write cuts the file back to its predecessor's last sync and carries on") {
    TempDir dir;
    std::string temp = dir.Write("taken.tmp", "kept\nhalf-writ");
    std::string error;
    std::unique_ptr<Stage> stage = MakeWriteStage("out.txt", temp, "\n", &error);
    REQUIRE(stage != nullptr);
    CHECK(stage->Resume(5, 0));
    stagetest::CollectingEmitter sink;
    CHECK(stage->OnRecord(RecordView{"next", 2, 0}, sink).ok());
    uint64_t token = 0;
    CHECK(stage->Sync(&token));
    CHECK(token == 10);
    CHECK(stagetest::ReadFile(temp) == "kept\nnext\n");
    CHECK(stage->Finish(sink).ok());
  }

  TEST_CASE("write creates its file with mode 0666 less the umask") {
    TempDir dir;
    std::string error;
    mode_t old_mask = umask(027);
    std::string fresh = dir.File("fresh.tmp");
    std::unique_ptr<Stage> stage = MakeWriteStage("out.txt", fresh, "\n", &error);
    umask(old_mask);
    REQUIRE(stage != nullptr);
    struct stat info {};
    REQUIRE(stat(fresh.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0640);
  }

  TEST_CASE("write \"-\" writes to stdout") {
    Outcome out;
    std::string written = stagetest::FeedToStdout(
        [] {
          std::string error;
          return MakeWriteStage("-", "", "\n", &error);
        },
        {"a", "b"}, &out);
    CHECK(out.fatal == "");
    CHECK(written == "a\nb\n");
  }

  TEST_CASE("write to a full device is a fatal error, and stays one") {
    std::string first;
    std::string again;
    auto make = [] {
      std::string error;
      return MakeWriteStage("-", "", "\n", &error);
    };
    if (!stagetest::FailOnFullStdout(make, &first, &again)) return;  // no /dev/full here
    CHECK(first == "cannot write to stdout: No space left on device");
    CHECK(again == first);
  }

  TEST_CASE("write to a closed stdout says \"stdout closed\"") {
    std::string verdict = InChild([] {
      signal(SIGPIPE, SIG_IGN);  // as the worker does
      int ends[2];
      if (pipe(ends) != 0) return std::string("pipe failed");
      close(ends[0]);
      dup2(ends[1], STDOUT_FILENO);
      std::string error;
      return stagetest::Feed(*MakeWriteStage("-", "", "\n", &error), {"a", "b"}).fatal;
    });
    CHECK(verdict == "stdout closed");
  }

  TEST_CASE("write past RLIMIT_FSIZE is a fatal error naming the target") {
    TempDir dir;
    std::string temp = dir.File("big.tmp");
    std::string verdict = InChild([&] {
      signal(SIGXFSZ, SIG_IGN);  // as the worker does: EFBIG instead of death
      rlimit limit{100000, 100000};
      if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return std::string("setrlimit failed");
      std::string error;
      std::unique_ptr<Stage> stage = MakeWriteStage("results.txt", temp, "\n", &error);
      if (!stage) return error;
      std::vector<std::string> records(3000, std::string(99, 'r'));
      return stagetest::Feed(*stage, records).fatal;
    });
    CHECK(verdict == "cannot write 'results.txt': File too large");
  }

  TEST_CASE("write through the factory writes to the context's temporary path") {
    TempDir dir;
    stagetest::TestProgram program("lines(\"\") | write(\"out.txt\", sep = \";\")");
    StageContext context;
    context.temp_path = dir.File("out.txt.flowrun-tmp");
    Outcome out = stagetest::Feed(*program.Make("write", context), {"a", "b"});
    CHECK(out.fatal == "");
    CHECK(stagetest::ReadFile(context.temp_path) == "a;b;");
    std::string error;
    CHECK(program.Make("write", StageContext{}, &error) == nullptr);
    CHECK(error == "internal error: no temporary path to write 'out.txt' to");
  }
}

}  // namespace flow
