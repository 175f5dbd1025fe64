// The process primitives, and the two faults a supervisor must survive
// without leaving a process behind: fork failing at the process limit, and
// the supervisor itself being SIGKILLed. Both run the supervisor in a child
// of the test so the test process can watch from outside.
#include "runtime/process.h"

#include <doctest/doctest.h>
#include <grp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/worker_pool.h"
#include "tests/runtime/process_test_support.h"

namespace flow {
namespace {

int BlockForever() {
  for (;;) pause();
}

struct Pipe {
  Pipe() { REQUIRE(pipe(fds) == 0); }
  ~Pipe() {
    close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
  }
  int fds[2];
};

// Starts `body` as a child of the test in the test's own group, its stderr
// captured.
Child StartHarness(const std::string& name, const std::function<int()>& body) {
  ChildOptions options;
  options.name = name;
  options.capture_stderr = true;
  Child child;
  std::string err;
  REQUIRE_MESSAGE(StartChild(options, body, &child, &err), err);
  return child;
}

// Waits, with a failure bound, until process `pid` has ended.
bool WaitUntilDead(pid_t pid) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return testing::IsDead(pid);  // already gone and reaped
  pollfd p = {pidfd, POLLIN, 0};
  int ready;
  do {
    ready = poll(&p, 1, 20000);
  } while (ready < 0 && errno == EINTR);
  close(pidfd);
  return ready == 1;
}

TEST_SUITE("process") {
  TEST_CASE("StartChild runs the body, captures its stderr and reports its exit code") {
    Child child = StartHarness("hello", [] {
      testing::WriteText(2, "hello from the child\n");
      return 7;
    });
    std::string text;
    CHECK(testing::ReadToEnd(child.stderr_fd, &text));
    close(child.stderr_fd);
    ExitStatus status;
    std::string err;
    REQUIRE(WaitForChild(child.pid, &status, &err));
    CHECK(text == "hello from the child\n");
    CHECK(status.code == 7);
    CHECK(status.signal == 0);
    CHECK(DescribeExit(status) == "exited with code 7");
  }

  TEST_CASE("a child gets the signal mask of the supervisor's caller, not the blocked one") {
    SignalWatch watch;
    std::string err;
    REQUIRE(watch.Open(&err));
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, nullptr, &now);
    CHECK(sigismember(&now, SIGINT));
    ChildOptions options;
    options.name = "mask";
    options.signal_mask = &watch.original_mask();
    int private_fds[] = {watch.fd()};
    options.close_in_child = private_fds;
    Child child;
    REQUIRE(StartChild(options,
                       [] {
                         sigset_t mask;
                         pthread_sigmask(SIG_BLOCK, nullptr, &mask);
                         return sigismember(&mask, SIGINT) || sigismember(&mask, SIGCHLD) ? 5 : 0;
                       },
                       &child, &err));
    ExitStatus status;
    REQUIRE(WaitForChild(child.pid, &status, &err));
    CHECK(status.Succeeded());
  }

  TEST_CASE("SignalWatch reads SIGCHLD and interrupts, then restores the mask") {
    {
      SignalWatch watch;
      std::string err;
      REQUIRE(watch.Open(&err));
      Child child = StartHarness("quick", [] { return 0; });
      close(child.stderr_fd);
      ExitStatus status;
      REQUIRE(WaitForChild(child.pid, &status, &err));
      REQUIRE(SendSignal(getpid(), SIGTERM, &err));
      REQUIRE(SendSignal(getpid(), SIGINT, &err));
      bool child_exited = false;
      std::vector<int> interrupts;
      REQUIRE(watch.Read(&child_exited, &interrupts, &err));
      CHECK(child_exited);
      // Standard signals come out of the signalfd lowest number first.
      CHECK(interrupts == std::vector<int>{SIGINT, SIGTERM});
    }
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, nullptr, &now);
    CHECK_FALSE(sigismember(&now, SIGINT));
    CHECK_FALSE(sigismember(&now, SIGCHLD));
  }

  TEST_CASE("kill(0) and kill(-1) are refused") {
    std::string err;
    CHECK_FALSE(SendSignal(0, SIGKILL, &err));
    CHECK(err == "refusing to signal pid 0");
    CHECK_FALSE(SignalGroup(1, SIGKILL, &err));
    CHECK(err == "refusing to signal process group 1");
    CHECK_FALSE(SignalGroup(-5, SIGKILL, &err));
  }

  TEST_CASE("a child that cannot join its group is killed and reaped, and the error says why") {
    Child gone = StartHarness("gone", [] { return 0; });
    close(gone.stderr_fd);
    ExitStatus status;
    std::string err;
    REQUIRE(WaitForChild(gone.pid, &status, &err));
    // A reaped child's pid names no process group.
    ChildOptions options;
    options.name = "lost#0";
    options.process_group = gone.pid;
    options.capture_stderr = true;
    Child child;
    CHECK_FALSE(StartChild(options, [] { return 0; }, &child, &err));
    CHECK(err == "cannot start worker 'lost#0': setpgid: Operation not permitted");
    CHECK(testing::ChildrenOf(getpid()).empty());
  }

  TEST_CASE("fork failing at RLIMIT_NPROC names the limit and leaves nothing running") {
    if (getuid() != 0) {
      // Lowering the limit for our own uid would make every other process
      // of this user fail to fork too.
      MESSAGE("skipped: the test needs root, to run as a uid of its own");
      return;
    }
    Pipe pids;
    Child harness = StartHarness("nproc", [&] {
      // A uid no other process uses, so the count is ours alone. Root
      // ignores RLIMIT_NPROC; this uid does not.
      uid_t uid = 40000 + static_cast<uid_t>(getpid() % 20000);
      if (setgroups(0, nullptr) != 0 || setgid(uid) != 0 || setuid(uid) != 0) {
        testing::WriteText(2, "cannot drop privileges\n");
        return 2;
      }
      int limit = testing::TasksOfUid(uid) + 3;  // ourselves, then the leader and two workers
      rlimit nproc = {static_cast<rlim_t>(limit), static_cast<rlim_t>(limit)};
      if (setrlimit(RLIMIT_NPROC, &nproc) != 0) return 3;
      StopOnFailurePolicy policy(nullptr, kDefaultGrace);
      WorkerPool pool(&policy);
      std::vector<WorkerSpec> specs;
      for (int i = 0; i < 6; ++i) {
        specs.push_back({"map#" + std::to_string(i), [&] {
                           pid_t me = getpid();
                           testing::WriteAll(pids.fds[1], &me, sizeof me);
                           return BlockForever();
                         }});
      }
      std::string err;
      bool started = pool.Start(std::move(specs), &err);
      std::ostringstream report;
      report << "started " << started << "\nlimit " << limit << "\nerror " << err << "\nchildren "
             << testing::ChildrenOf(getpid()).size() << "\n";
      testing::WriteText(2, report.str());
      return 0;
    });
    close(pids.fds[1]);
    pids.fds[1] = -1;
    std::string report;
    // End of file only once the harness and every worker are gone.
    CHECK(testing::ReadToEnd(harness.stderr_fd, &report));
    close(harness.stderr_fd);
    ExitStatus status;
    std::string err;
    REQUIRE(WaitForChild(harness.pid, &status, &err));
    REQUIRE_MESSAGE(status.Succeeded(), report);
    int limit = 0;
    REQUIRE(sscanf(report.c_str(), "started 0\nlimit %d\n", &limit) == 1);
    CHECK(report == "started 0\nlimit " + std::to_string(limit) +
                        "\nerror cannot start worker 'map#2': the process limit for this user "
                        "(RLIMIT_NPROC = " +
                        std::to_string(limit) + ") is reached\nchildren 0\n");
    std::string started;
    CHECK(testing::ReadToEnd(pids.fds[0], &started));
    // A worker may be killed before it got to write its pid; none may live.
    REQUIRE(started.size() <= 2 * sizeof(pid_t));
    for (size_t i = 0; i < started.size() / sizeof(pid_t); ++i) {
      pid_t pid;
      memcpy(&pid, started.data() + i * sizeof pid, sizeof pid);
      CHECK(testing::IsDead(pid));
    }
  }

  TEST_CASE("a SIGKILLed supervisor leaves no worker of its process group running") {
    struct Started {
      int is_group;
      pid_t pid;
    };
    Pipe started;
    Child supervisor = StartHarness("supervisor", [&] {
      StopOnFailurePolicy policy(nullptr, kDefaultGrace);
      WorkerPool pool(&policy);
      std::vector<WorkerSpec> specs;
      for (int i = 0; i < 3; ++i) {
        specs.push_back({"w#" + std::to_string(i), [&] {
                           Started me = {0, getpid()};
                           testing::WriteAll(started.fds[1], &me, sizeof me);
                           return BlockForever();
                         }});
      }
      std::string err;
      if (!pool.Start(std::move(specs), &err)) return 2;
      Started group = {1, pool.process_group()};
      testing::WriteAll(started.fds[1], &group, sizeof group);
      return pool.Run().exit_code;
    });
    close(supervisor.stderr_fd);
    std::vector<pid_t> workers;
    pid_t group = 0;
    for (int i = 0; i < 4; ++i) {
      Started s;
      REQUIRE(testing::ReadExactly(started.fds[0], &s, sizeof s));
      if (s.is_group) {
        group = s.pid;
      } else {
        workers.push_back(s.pid);
      }
    }
    REQUIRE(group > 0);
    REQUIRE(workers.size() == 3);
    for (pid_t w : workers) CHECK(getpgid(w) == group);
    CHECK(testing::LiveMembersOf(group).size() == 4);  // the leader and three workers

    std::string err;
    REQUIRE(SendSignal(supervisor.pid, SIGKILL, &err));
    ExitStatus status;
    REQUIRE(WaitForChild(supervisor.pid, &status, &err));
    CHECK(status.signal == SIGKILL);
    for (pid_t w : workers) CHECK(WaitUntilDead(w));
    CHECK(WaitUntilDead(group));
    std::vector<pid_t> survivors = testing::LiveMembersOf(group);
    CHECK(survivors.empty());
    for (pid_t pid : survivors) SendSignal(pid, SIGKILL, &err);  // a failed test cleans up
  }
}

}  // namespace
}  // namespace flow
