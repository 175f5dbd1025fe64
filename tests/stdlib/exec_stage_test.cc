// exec("cmd {}"): real commands, run per record; outputs, record errors,
// signals the command gets back, and no child left behind. Also the
// ChildProcess underneath (stdlib/child_process.h).
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "stdlib/child_process.h"
#include "stdlib/stages.h"
#include "tests/stdlib/stage_test_util.h"

namespace flow {
namespace {

using stagetest::Emitted;
using stagetest::Outcome;
using Texts = std::vector<std::string>;

std::unique_ptr<Stage> Exec(const std::string& command) {
  std::string error;
  std::unique_ptr<Stage> stage = MakeExecStage(command, &error);
  INFO(error);
  REQUIRE(stage != nullptr);
  return stage;
}

Outcome Run(const std::string& command, const Texts& inputs) { return stagetest::Feed(*Exec(command), inputs); }

// This process's children, zombies included, read from /proc.
int ChildCount() {
  int count = 0;
  const std::string me = std::to_string(getpid());
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (ppid == me) ++count;
  }
  return count;
}

}  // namespace

TEST_SUITE("exec") {
  TEST_CASE("each record runs the command; its lines come out with the record's NR") {
    const int children = ChildCount();
    Outcome out = Run("echo {}", {"a", "b c", "", "it's", "  x  "});
    CHECK(out.records == std::vector<Emitted>{{"a", 1}, {"b c", 2}, {"", 3}, {"it's", 4}, {"  x  ", 5}});
    CHECK(out.record_errors.empty());
    CHECK(out.fatal == "");
    CHECK(ChildCount() == children);
  }

  TEST_CASE("through the shell: quoting keeps the record one word") {
    Outcome out = Run("echo {} | tr a-z A-Z", {"ab", "x'y", "a  b;c", "$HOME `id`"});
    CHECK(out.Texts() == Texts{"AB", "X'Y", "A  B;C", "$HOME `ID`"});
    CHECK(Run("printf '%s|%s|%s\\n' {1} {2} {3}", {" p \tq ", ""}).Texts() == Texts{"p|q|", "||"});
    CHECK(Run("echo [{3}]", {"a b"}).Texts() == Texts{"[]"});
  }

  TEST_CASE("lines: several, an unterminated last one, none") {
    CHECK(Run("printf '%s\\n%s' {1} {2}", {"p q"}).records == std::vector<Emitted>{{"p", 1}, {"q", 1}});
    CHECK(Run("printf 'a\\n\\nb\\n' {}", {"r"}).Texts() == Texts{"a", "", "b"});
    Outcome none = Run("true {}", {"1", "2"});
    CHECK(none.records.empty());
    CHECK(none.record_errors.empty());
    CHECK(Run("echo {}", {}).records.empty());
  }

  TEST_CASE("binary bytes go to the command and come back unchanged") {
    const std::string binary = "\x01\xff\xfe'\"\\\t\r\x7f";
    CHECK(Run("printf %s {}", {binary}).Texts() == Texts{binary});
    CHECK(Run("printf %s {} | cat", {binary}).Texts() == Texts{binary});
  }

  TEST_CASE("a record with a NUL byte is a record error") {
    Outcome out = Run("echo {}", {std::string("a\0b", 3), "ok"});
    CHECK(out.record_errors == Texts{"the record holds a NUL byte, which a command line cannot carry"});
    CHECK(out.Texts() == Texts{"ok"});
  }

  TEST_CASE("a megabyte of output") {
    Outcome out = Run("head -c 1048576 /dev/zero | tr '\\0' x; echo; echo {}", {"end"});
    REQUIRE(out.records.size() == 2);
    CHECK(out.records[0].bytes == std::string(1 << 20, 'x'));
    CHECK(out.records[1].bytes == "end");
    Outcome lines = Run("yes abcdefghijklmno | head -c 1048576 # {}", {"r"});
    CHECK(lines.records.size() == 65536);
    CHECK(lines.records.back().bytes == "abcdefghijklmno");
  }

  TEST_CASE("a non-zero exit is a record error, and what it printed is dropped") {
    Outcome out = Run("echo partial {}; exit {}", {"3", "0", "1"});
    CHECK(out.record_errors == Texts{"command exited with status 3", "command exited with status 1"});
    CHECK(out.records == std::vector<Emitted>{{"partial 0", 2}});
    CHECK(Run("false {}", {"x"}).record_errors == Texts{"command exited with status 1"});
  }

  TEST_CASE("a death by a signal is a record error naming the signal") {
    CHECK(Run("kill -9 $$ # {}", {"x"}).record_errors == Texts{"command was killed by signal 9 (SIGKILL)"});
    CHECK(Run("kill -TERM $$ # {}", {"x"}).record_errors == Texts{"command was killed by signal 15 (SIGTERM)"});
  }

  TEST_CASE("a program that does not exist") {
    // Started directly: the spawn fails.
    Outcome direct = Run("no-such-program-flowrun {}", {"a", "b"});
    CHECK(direct.record_errors == Texts{"cannot run 'no-such-program-flowrun': No such file or directory",
                                        "cannot run 'no-such-program-flowrun': No such file or directory"});
    // Through the shell: its exit status 127.
    Outcome shell = Run("no-such-program-flowrun {} 2>/dev/null", {"a"});
    CHECK(shell.record_errors == Texts{"command exited with status 127"});
  }

  TEST_CASE("an empty command is refused when the stage is made") {
    std::string error;
    CHECK(MakeExecStage("  ", &error) == nullptr);
    CHECK(error == "the command is empty");
  }

  TEST_CASE("the command's stdin is /dev/null") {
    // What fd 0 is, not what it reads: a bare root's /dev/null may be a
    // plain file that earlier redirections wrote into.
    CHECK(Run("readlink /proc/self/fd/0; echo {}", {"r"}).Texts() == Texts{"/dev/null", "r"});
  }

  TEST_CASE("the command gets default signal actions and an empty mask") {
    // A worker ignores SIGPIPE; the command must not inherit that.
    struct sigaction ignore {}, old_action {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    REQUIRE(sigaction(SIGPIPE, &ignore, &old_action) == 0);
    sigset_t term, old_mask;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    REQUIRE(pthread_sigmask(SIG_BLOCK, &term, &old_mask) == 0);
    Outcome pipe = Run("kill -PIPE $$; echo alive {}", {"x"});
    Outcome blocked = Run("kill -TERM $$; echo alive {}", {"x"});
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    sigaction(SIGPIPE, &old_action, nullptr);
    CHECK(pipe.record_errors == Texts{"command was killed by signal 13 (SIGPIPE)"});
    CHECK(blocked.record_errors == Texts{"command was killed by signal 15 (SIGTERM)"});
  }

  TEST_CASE("the worker's own descriptors are not inherited") {
    int fds[2];
    REQUIRE(pipe(fds) == 0);  // not close-on-exec
    std::string fd = std::to_string(fds[1]);
    Outcome out = Run("test -e /proc/self/fd/" + fd + " && echo leaked || echo closed # {}", {"x"});
    close(fds[0]);
    close(fds[1]);
    CHECK(out.Texts() == Texts{"closed"});
  }
}

TEST_SUITE("exec") {
  TEST_CASE("ChildProcess: a child still running is killed and reaped by the destructor") {
    const int children = ChildCount();
    pid_t pid = -1;
    {
      ChildProcess child;
      std::string error;
      REQUIRE(child.Start({"sleep", "30"}, SpawnOptions{}, &error));
      pid = child.pid();
      CHECK(pid > 0);
      CHECK(kill(pid, 0) == 0);
      CHECK(ChildCount() == children + 1);
    }
    CHECK(kill(pid, 0) == -1);
    CHECK(ChildCount() == children);
  }

  TEST_CASE("FindProgram looks along PATH as execvp does") {
    const std::string sh = FindProgram("sh");
    CHECK(sh.size() > 3);
    CHECK(sh.substr(sh.size() - 3) == "/sh");
    CHECK(access(sh.c_str(), X_OK) == 0);
    CHECK(FindProgram("no-such-program-flowrun") == "");
    CHECK(FindProgram("./relative/x") == "./relative/x");
  }

  TEST_CASE("ChildProcess: writing to a command that exited gives EPIPE, not SIGPIPE") {
    ChildProcess child;
    std::string error;
    SpawnOptions options;
    options.pipe_stdin = true;
    REQUIRE(child.Start({"true"}, options, &error));
    std::string out;
    REQUIRE(child.ReadStdoutToEnd(&out, &error));
    ExitStatus status;
    REQUIRE(child.Wait(&status, &error));
    CHECK(status.Succeeded());
    errno = 0;
    CHECK(child.WriteStdin("x\n") == -1);
    CHECK(errno == EPIPE);
  }
}

}  // namespace flow
