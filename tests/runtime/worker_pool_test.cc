// The supervisor's loop with real processes and fake worker bodies. Every
// wait is on a pipe or on the pool itself; bounds on time are failure
// bounds, never a way to let something happen.
#include "runtime/worker_pool.h"

#include <doctest/doctest.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "tests/runtime/process_test_support.h"

namespace flow {
namespace {

using std::chrono::milliseconds;

struct SeenExit {
  size_t slot;
  std::string name;
  ExitStatus status;
  bool timed_out;
  int restarts;
};

class FakePolicy : public WorkerPolicy {
 public:
  Decision OnWorkerExited(const WorkerExited& event) override {
    exits.push_back({event.slot, std::string(event.name), event.status, event.timed_out, event.restarts});
    return on_exit ? on_exit(event) : Decision::CarryOn();
  }
  Decision OnInterrupted(const Interrupted& event) override {
    interrupts.push_back(event.signal);
    return Decision::Stop(128 + event.signal, "interrupted");
  }

  std::function<Decision(const WorkerExited&)> on_exit;
  std::vector<SeenExit> exits;
  std::vector<int> interrupts;
};

// Blocks until killed; pause() returns only for a caught signal.
int BlockForever() {
  for (;;) pause();
}

// Pipes a test uses to hear from its workers.
struct Pipe {
  Pipe() { REQUIRE(pipe(fds) == 0); }
  ~Pipe() {
    close(fds[0]);
    CloseWrite();
  }
  int read_end() const { return fds[0]; }
  int write_end() const { return fds[1]; }
  void CloseWrite() {
    if (fds[1] >= 0) close(fds[1]);
    fds[1] = -1;
  }
  int fds[2];
};

struct Run {
  WorkerPool::Result result;
  std::string log;
};

TEST_SUITE("process") {
  TEST_CASE("worker pool: a worker that exits 0 ends the run with 0") {
    FakePolicy policy;
    int log = testing::MemoryFile();
    WorkerPool pool(&policy, log);
    std::string err;
    REQUIRE(pool.Start({{"ok#0", [] { return 0; }}}, &err));
    pid_t group = pool.process_group();
    CHECK(group > 0);
    WorkerPool::Result result = pool.Run();
    CHECK(result.exit_code == 0);
    CHECK(result.reason.empty());
    REQUIRE(policy.exits.size() == 1);
    CHECK(policy.exits[0].slot == 0);
    CHECK(policy.exits[0].name == "ok#0");
    CHECK(policy.exits[0].status.Succeeded());
    CHECK(testing::IsDead(group));  // the group's leader is reaped too
    CHECK(testing::ReadWhole(log).empty());
    close(log);
  }

  TEST_CASE("worker pool: exit 3 stops the run with exit 1 and kills the others") {
    StopOnFailurePolicy policy(nullptr, kDefaultGrace);
    int log = testing::MemoryFile();
    WorkerPool pool(&policy, log);
    std::string err;
    REQUIRE(pool.Start({{"fail#0", [] { return 3; }}, {"block#1", BlockForever}}, &err));
    pid_t blocked = pool.pid(1);
    WorkerPool::Result result = pool.Run();
    CHECK(result.exit_code == 1);
    CHECK(result.reason == "worker 'fail#0' exited with code 3");
    CHECK(pool.pid(1) == 0);
    CHECK(testing::IsDead(blocked));
    close(log);
  }

  TEST_CASE("worker pool: a crash and a SIGKILL are reported as signals") {
    FakePolicy policy;
    int log = testing::MemoryFile();
    WorkerPool pool(&policy, log);
    std::string err;
    REQUIRE(pool.Start({{"abort#0",
                         [] {
                           rlimit no_core = {0, 0};  // no core file in the test's directory
                           setrlimit(RLIMIT_CORE, &no_core);
                           std::abort();
                           return 0;
                         }},
                        {"kill#1",
                         [] {
                           raise(SIGKILL);
                           return 0;
                         }},
                        {"throw#2", []() -> int { throw std::runtime_error("boom"); }}},
                       &err));
    CHECK(pool.Run().exit_code == 0);
    REQUIRE(policy.exits.size() == 3);
    std::vector<SeenExit> by_slot(3);
    for (const SeenExit& e : policy.exits) by_slot[e.slot] = e;
    CHECK(by_slot[0].status.signal == SIGABRT);
    CHECK(by_slot[1].status.signal == SIGKILL);
    CHECK(by_slot[2].status.signal == 0);
    CHECK(by_slot[2].status.code == 1);
    // The aborted one says so, with its stack (runtime/crash_report.h);
    // the SIGKILLed one cannot say anything.
    const std::string text = testing::ReadWhole(log);
    CHECK(text.find("[throw#2] flowrun: worker 'throw#2' failed: boom\n") != std::string::npos);
    CHECK(text.find("[kill#1]") == std::string::npos);
    CHECK(text.find("[abort#0] crash: SIGABRT (Aborted); the stack") != std::string::npos);
    close(log);
  }

  TEST_CASE("worker pool: 16 workers writing partial lines at once, every line whole") {
    constexpr int kWorkers = 16;
    constexpr int kLines = 40;
    FakePolicy policy;
    int log = testing::MemoryFile();
    WorkerPool pool(&policy, log);
    Pipe ready, go;
    std::vector<WorkerSpec> specs;
    for (int w = 0; w < kWorkers; ++w) {
      specs.push_back({"mix#" + std::to_string(w), [&, w] {
                         // Start together, so the writes really interleave.
                         char c = 'r';
                         testing::WriteAll(ready.write_end(), &c, 1);
                         if (!testing::ReadExactly(go.read_end(), &c, 1)) return 2;
                         for (int k = 0; k < kLines; ++k) {
                           std::string line = "line " + std::to_string(k) + " of worker " +
                                              std::to_string(w) + std::string(w * 7, '.') + "\n";
                           // In three writes, yielding between them.
                           size_t third = line.size() / 3;
                           testing::WriteText(2, line.substr(0, third));
                           sched_yield();
                           testing::WriteText(2, line.substr(third, third));
                           sched_yield();
                           testing::WriteText(2, line.substr(2 * third));
                         }
                         return 0;
                       }});
    }
    int seen_ready = 0;
    pool.Watch(ready.read_end(), [&] {
      char buffer[kWorkers];
      ssize_t n = read(ready.read_end(), buffer, sizeof buffer);
      seen_ready += n > 0 ? static_cast<int>(n) : 0;
      if (seen_ready == kWorkers) {
        std::string go_bytes(kWorkers, 'g');
        testing::WriteText(go.write_end(), go_bytes);
      }
      return Decision::CarryOn();
    });
    std::string err;
    REQUIRE(pool.Start(std::move(specs), &err));
    CHECK(pool.Run().exit_code == 0);
    CHECK(policy.exits.size() == kWorkers);

    std::vector<int> next(kWorkers, 0);
    std::istringstream lines(testing::ReadWhole(log));
    std::string line;
    int count = 0;
    while (std::getline(lines, line)) {
      ++count;
      int w = -1;
      REQUIRE(sscanf(line.c_str(), "[mix#%d] ", &w) == 1);
      REQUIRE(w >= 0);
      REQUIRE(w < kWorkers);
      std::string expected = "[mix#" + std::to_string(w) + "] line " + std::to_string(next[w]++) +
                             " of worker " + std::to_string(w) + std::string(w * 7, '.');
      CHECK(line == expected);
    }
    CHECK(count == kWorkers * kLines);
    close(log);
  }

  TEST_CASE("worker pool: a 1 MiB line comes out in 64 KiB pieces, a last line without newline gets one") {
    FakePolicy policy;
    int log = testing::MemoryFile();
    WorkerPool pool(&policy, log);
    std::string err;
    REQUIRE(pool.Start({{"big#0",
                         [] {
                           testing::WriteText(2, std::string(1024 * 1024, 'x') + "\n");
                           return 0;
                         }}},
                       &err));
    CHECK(pool.Run().exit_code == 0);
    std::string piece = "[big#0] " + std::string(kMaxLogLine, 'x') + "\n";
    std::string expected;
    for (int i = 0; i < 16; ++i) expected += piece;
    std::string got = testing::ReadWhole(log);
    CHECK(got.size() == expected.size());
    CHECK(got == expected);
    close(log);

    FakePolicy policy2;
    int log2 = testing::MemoryFile();
    WorkerPool pool2(&policy2, log2);
    REQUIRE(pool2.Start({{"tail#0",
                          [] {
                            testing::WriteText(2, "first\nsecond");
                            return 0;
                          }}},
                        &err));
    CHECK(pool2.Run().exit_code == 0);
    CHECK(testing::ReadWhole(log2) == "[tail#0] first\n[tail#0] second\n");
    close(log2);
  }

  TEST_CASE("worker pool: a restarted slot keeps its slot and name in a new process") {
    FakePolicy policy;
    int log = testing::MemoryFile();
    WorkerPool pool(&policy, log);
    int attempt = 0;  // read by each new child as it was at its fork
    policy.on_exit = [&](const WorkerExited& event) {
      if (event.status.code != 3) return Decision::CarryOn();
      ++attempt;
      return Decision::Restart();
    };
    std::string err;
    REQUIRE(pool.Start({{"flaky#0",
                         [&] {
                           testing::WriteText(2, "attempt " + std::to_string(attempt) + " pid " +
                                                     std::to_string(getpid()) + "\n");
                           return attempt == 0 ? 3 : 0;
                         }}},
                       &err));
    CHECK(pool.Run().exit_code == 0);
    CHECK(pool.restarts(0) == 1);
    REQUIRE(policy.exits.size() == 2);
    CHECK(policy.exits[0].name == "flaky#0");
    CHECK(policy.exits[0].status.code == 3);
    CHECK(policy.exits[0].restarts == 0);
    CHECK(policy.exits[1].name == "flaky#0");
    CHECK(policy.exits[1].slot == 0);
    CHECK(policy.exits[1].status.code == 0);
    CHECK(policy.exits[1].restarts == 1);
    int first_pid = 0, second_pid = 0;
    std::string text = testing::ReadWhole(log);
    REQUIRE(sscanf(text.c_str(), "[flaky#0] attempt 0 pid %d\n[flaky#0] attempt 1 pid %d\n", &first_pid,
                   &second_pid) == 2);
    CHECK(first_pid != second_pid);
    CHECK(text == "[flaky#0] attempt 0 pid " + std::to_string(first_pid) + "\n[flaky#0] attempt 1 pid " +
                      std::to_string(second_pid) + "\n");
    close(log);
  }

  TEST_CASE("worker pool: a slot past its deadline is killed and reported as timed out") {
    FakePolicy policy;
    int log = testing::MemoryFile();
    WorkerPool pool(&policy, log);
    Pipe release;
    policy.on_exit = [&](const WorkerExited& event) {
      // The stuck worker is gone: let the patient one finish.
      if (event.slot == 0) release.CloseWrite();
      return Decision::CarryOn();
    };
    std::string err;
    REQUIRE(pool.Start({{"stuck#0", BlockForever},
                        {"patient#1",
                         [&] {
                           release.CloseWrite();
                           char c;
                           return read(release.read_end(), &c, 1) == 0 ? 0 : 4;
                         }}},
                       &err));
    auto start = WorkerPool::Clock::now();
    pool.SetDeadline(0, start + milliseconds(50));
    pool.SetDeadline(1, start + milliseconds(1));
    pool.ClearDeadline(1);
    CHECK(pool.Run().exit_code == 0);
    CHECK(WorkerPool::Clock::now() - start >= milliseconds(50));
    REQUIRE(policy.exits.size() == 2);
    CHECK(policy.exits[0].slot == 0);
    CHECK(policy.exits[0].timed_out);
    CHECK(policy.exits[0].status.signal == SIGKILL);
    CHECK(policy.exits[1].slot == 1);
    CHECK_FALSE(policy.exits[1].timed_out);
    CHECK(policy.exits[1].status.Succeeded());
    close(log);
  }

  // Runs `workers` slots that each say they are ready, then behave as
  // `body`; once all are ready the supervisor gets `signal`.
  WorkerPool::Result RunInterrupted(WorkerPolicy* policy, int workers, int signal,
                                    const std::function<int()>& body, std::vector<pid_t>* pids,
                                    WorkerPool::Clock::time_point* signalled) {
    Pipe ready;
    WorkerPool pool(policy, STDERR_FILENO);
    std::vector<WorkerSpec> specs;
    for (int i = 0; i < workers; ++i) {
      specs.push_back({"src#" + std::to_string(i), [&] {
                         char c = 'r';
                         testing::WriteAll(ready.write_end(), &c, 1);
                         return body();
                       }});
    }
    int seen = 0;
    pool.Watch(ready.read_end(), [&] {
      char buffer[16];
      ssize_t n = read(ready.read_end(), buffer, sizeof buffer);
      seen += n > 0 ? static_cast<int>(n) : 0;
      if (seen == workers) {
        pool.Unwatch(ready.read_end());
        *signalled = WorkerPool::Clock::now();
        std::string err;
        SendSignal(getpid(), signal, &err);  // blocked: it waits in the signalfd
      }
      return Decision::CarryOn();
    });
    std::string err;
    REQUIRE(pool.Start(std::move(specs), &err));
    for (int i = 0; i < workers; ++i) pids->push_back(pool.pid(static_cast<size_t>(i)));
    return pool.Run();
  }

  TEST_CASE("worker pool: SIGINT stops the sources, waits the grace period, kills, exits 130") {
    int stop_calls = 0;
    StopOnFailurePolicy policy([&] { ++stop_calls; }, milliseconds(200));
    std::vector<pid_t> pids;
    WorkerPool::Clock::time_point signalled;
    WorkerPool::Result result = RunInterrupted(&policy, 2, SIGINT, BlockForever, &pids, &signalled);
    CHECK(result.exit_code == 130);
    CHECK(result.reason == "interrupted by SIGINT");
    CHECK(stop_calls == 1);
    CHECK(WorkerPool::Clock::now() - signalled >= milliseconds(200));
    for (pid_t pid : pids) CHECK(testing::IsDead(pid));
  }

  TEST_CASE("worker pool: SIGTERM with workers that stop when told ends before the grace period, 143") {
    Pipe stop;
    int stop_calls = 0;
    StopOnFailurePolicy policy(
        [&] {
          ++stop_calls;
          stop.CloseWrite();
        },
        std::chrono::seconds(60));
    std::vector<pid_t> pids;
    WorkerPool::Clock::time_point signalled;
    WorkerPool::Result result = RunInterrupted(
        &policy, 3, SIGTERM,
        [&] {
          stop.CloseWrite();
          char c;
          return read(stop.read_end(), &c, 1) == 0 ? 0 : 4;  // end of file: told to stop
        },
        &pids, &signalled);
    CHECK(result.exit_code == 143);
    CHECK(stop_calls == 1);
    CHECK(WorkerPool::Clock::now() - signalled < std::chrono::seconds(30));
  }

  TEST_CASE("worker pool: a second interrupt while draining kills at once") {
    int stop_calls = 0;
    StopOnFailurePolicy policy(
        [&] {
          ++stop_calls;
          std::string err;
          SendSignal(getpid(), SIGINT, &err);
        },
        std::chrono::seconds(60));
    std::vector<pid_t> pids;
    WorkerPool::Clock::time_point signalled;
    WorkerPool::Result result = RunInterrupted(&policy, 2, SIGINT, BlockForever, &pids, &signalled);
    CHECK(result.exit_code == 130);
    CHECK(stop_calls == 1);
    CHECK(WorkerPool::Clock::now() - signalled < std::chrono::seconds(30));
    for (pid_t pid : pids) CHECK(testing::IsDead(pid));
  }

  TEST_CASE("worker pool: a pool destroyed without running kills and reaps its workers") {
    FakePolicy policy;
    std::vector<pid_t> pids;
    pid_t group = 0;
    {
      WorkerPool pool(&policy);
      std::string err;
      REQUIRE(pool.Start({{"a#0", BlockForever}, {"b#1", BlockForever}}, &err));
      pids = {pool.pid(0), pool.pid(1)};
      group = pool.process_group();
      CHECK(testing::LiveMembersOf(group).size() == 3);
    }
    for (pid_t pid : pids) CHECK(testing::ProcessState(pid) == 0);  // dead and reaped
    CHECK(testing::ProcessState(group) == 0);
    CHECK(policy.exits.empty());
  }

  TEST_CASE("worker pool: no slots, nothing to run") {
    FakePolicy policy;
    WorkerPool pool(&policy);
    std::string err;
    REQUIRE(pool.Start({}, &err));
    CHECK(pool.Run().exit_code == 0);
  }
}

}  // namespace
}  // namespace flow
