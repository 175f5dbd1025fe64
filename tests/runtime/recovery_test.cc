// Recovery in one process: the journal and redo entries, the supervisor's
// Recover after a simulated death, the replacement's redo of the dead
// worker's lease (exactly once), poison records, and the order of a lease
// that changes hands. The same through real
// processes and SIGKILL: tests/e2e/recovery_test.py and chaos_test.py.
#include "runtime/recovery.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/recovery_book.h"
#include "runtime/run_control.h"
#include "runtime/shm_queue.h"
#include "runtime/worker.h"
#include "tests/runtime/fake_stages.h"
#include "tests/runtime/process_test_support.h"
#include "tests/runtime/shm_queue_harness.h"

namespace flow {
namespace {

std::unique_ptr<ShmQueue> MakeQueue() {
  std::string error;
  auto q = ShmQueue::Create({1, 1, 100000, 16 << 20}, &error);
  REQUIRE_MESSAGE(q != nullptr, error);
  return q;
}

std::vector<std::string> Drain(Queue& q) {
  std::vector<std::string> out;
  for (;;) {
    Lease lease;
    QueueStatus status = q.Pop(0, &lease, PopMode::kNoWait);
    if (status == QueueStatus::kEnd) return out;
    REQUIRE(status == QueueStatus::kOk);
    for (size_t i = 0; i < lease.size(); ++i) out.emplace_back(lease[i].bytes);
    q.Ack(0, &lease);
  }
}

// src -> map -> sink, one instance each: pool slots 0, 1, 2.
struct Run {
  StageGraph graph;
  std::unique_ptr<ShmQueue> in = MakeQueue();
  std::unique_ptr<ShmQueue> out = MakeQueue();
  std::unique_ptr<RecoveryBook> book;
  std::unique_ptr<RunControl> control;
  InstanceCounters counters;
  int error_fd = testing::MemoryFile();

  Run() {
    std::string error;
    book = RecoveryBook::Create(3, &error);
    control = RunControl::Create(3, 2, &error);
    REQUIRE(book);
    REQUIRE(control);
    for (int n = 0; n < 3; ++n) {
      StageNode node;
      node.id = n;
      node.name = node.label = n == 0 ? "src" : n == 1 ? "map" : "sink";
      graph.nodes.push_back(node);
    }
    graph.nodes[0].outputs = {0};
    graph.nodes[1].inputs = {0};
    graph.nodes[1].outputs = {1};
    graph.nodes[2].inputs = {1};
    RecordBatch batch;
    for (int i = 1; i <= 10; ++i) batch.Add(std::to_string(i), i, i);
    REQUIRE(in->Push(0, batch) == QueueStatus::kOk);
    in->EndOfStream(0);
  }
  ~Run() { close(error_fd); }

  // The first map worker takes the lease, publishes both outputs of its
  // first `done` records and dies inside record `done` + 1.
  uint64_t DieAfter(int done) {
    Lease lease;
    REQUIRE(in->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
    const uint64_t key = RecoveryKey(0, lease.ticket());
    InstanceJournal& journal = book->journal(1);
    journal.lease.store(key + 1);
    journal.record.store(static_cast<uint64_t>(done) + 1);
    RecordBatch outputs;
    outputs.set_origin(key + 1);
    for (int i = 0; i < done; ++i) {
      std::string v(lease[static_cast<size_t>(i)].bytes);
      outputs.Add(v, i + 1, OutputPosition(static_cast<uint64_t>(i), 0));
      outputs.Add(v, i + 1, OutputPosition(static_cast<uint64_t>(i), 1));
    }
    if (done > 0) REQUIRE(out->Push(0, outputs) == QueueStatus::kOk);
    return key;
  }

  std::string Recover(int max_restarts = 10) {
    Recovery recovery(graph, {in.get(), out.get()}, {0, 1, 2, 3}, book.get(), max_restarts);
    WorkerExited event{1, "map#1", ExitStatus{0, SIGKILL}, false, 0};
    return recovery.Recover(event);
  }

  // The replacement: the same instance, wired like the runner wires it.
  int Replace(Stage& stage, int64_t retries, OnError on_error) {
    WorkerSetup setup;
    setup.name = "map#1";
    setup.location = "t.flow:1:5";
    setup.inputs = {in.get()};
    setup.outputs = {out.get()};
    setup.input_edges = {0};
    setup.book = book.get();
    setup.journal = &book->journal(1);
    setup.retries = retries;
    setup.on_error = on_error;
    setup.counters = &counters;
    setup.error_fd = error_fd;
    return RunWorker(stage, setup);
  }
};

std::vector<std::string> DoubledNumbers(int from, int to) {
  std::vector<std::string> v;
  for (int i = from; i <= to; ++i) {
    v.push_back(std::to_string(i));
    v.push_back(std::to_string(i));
  }
  return v;
}

TEST_SUITE("recovery") {
  TEST_CASE("a journal's mark is whole even when a writer dies between its two words") {
    std::string error;
    auto book = RecoveryBook::Create(2, &error);
    InstanceJournal& j = book->journal(1);
    CHECK(j.LastMark() == std::pair<uint64_t, uint64_t>{0, 0});
    j.SetMark(7, 100);
    j.SetMark(8, 250);
    CHECK(j.LastMark() == std::pair<uint64_t, uint64_t>{8, 250});
    // Half of a third mark: the count still points at the second.
    j.marks[(j.mark_count.load() + 1) % 2].lease.store(9);
    CHECK(j.LastMark() == std::pair<uint64_t, uint64_t>{8, 250});
  }

  TEST_CASE("redo entries are claimed once per lease, found by key and freed") {
    std::string error;
    auto book = RecoveryBook::Create(1, &error);
    CHECK(book->Find(RecoveryKey(2, 5)) == nullptr);
    RedoEntry* entry = book->Claim(RecoveryKey(2, 5));
    REQUIRE(entry != nullptr);
    entry->floors[0].store(12);
    CHECK(book->Claim(RecoveryKey(2, 5)) == entry);
    CHECK(book->Find(RecoveryKey(2, 5)) == entry);
    CHECK(book->Find(RecoveryKey(3, 5)) == nullptr);
    RecoveryBook::SetReason(entry, std::string(500, 'x'));
    CHECK(entry->Reason().size() == sizeof(entry->reason) - 1);
    RecoveryBook::Release(entry);
    CHECK(book->Find(RecoveryKey(2, 5)) == nullptr);
    RedoEntry* fresh = book->Claim(RecoveryKey(4, 1));
    CHECK(fresh->floors[0].load() == 0);
  }

  TEST_CASE("every claimed entry is found, the first ones freed and claimed again, and the journals stay apart") {
    std::string error;
    auto book = RecoveryBook::Create(2, &error);
    std::vector<RedoEntry*> claimed;
    for (uint64_t t = 0; t < 40; ++t) claimed.push_back(book->Claim(RecoveryKey(1, t)));
    for (uint64_t t = 0; t < 40; ++t) CHECK(book->Find(RecoveryKey(1, t)) == claimed[t]);
    // Freed at the front, claimed again there: a later entry is still found.
    RecoveryBook::Release(claimed[0]);
    RecoveryBook::Release(claimed[1]);
    CHECK(book->Claim(RecoveryKey(2, 7)) == claimed[0]);
    CHECK(book->Find(RecoveryKey(1, 39)) == claimed[39]);
    CHECK(book->Find(RecoveryKey(2, 7)) == claimed[0]);
    CHECK(book->Find(RecoveryKey(1, 1)) == nullptr);
    // The journals are not the entries, nor each other.
    book->journal(1).lease.store(99);
    CHECK(book->journal(0).lease.load() == 0);
    CHECK(book->Find(98) == nullptr);
  }

  TEST_CASE("the replacement redoes the dead worker's lease and sends nothing twice") {
    for (int done : {0, 1, 3, 9, 10}) {
      CAPTURE(done);
      Run run;
      const uint64_t key = run.DieAfter(done);
      CHECK(run.Recover() == "");
      testing::DoubleStage twice;
      CHECK(run.Replace(twice, 2, OnError::kFail) == 0);
      CHECK(Drain(*run.out) == DoubledNumbers(1, 10));
      CHECK(run.book->Find(key) == nullptr);  // freed after the redo
      CHECK(testing::ReadWhole(run.error_fd) == "");
    }
  }

  TEST_CASE("a record its workers died on more than [retries] times goes to on_error") {
    Run run;
    run.DieAfter(3);  // on record 4
    CHECK(run.Recover() == "");
    testing::DoubleStage twice;
    CHECK(run.Replace(twice, 0, OnError::kSkip) == 0);
    std::vector<std::string> expected = DoubledNumbers(1, 3);
    for (const std::string& s : DoubledNumbers(5, 10)) expected.push_back(s);
    CHECK(Drain(*run.out) == expected);
    CHECK(run.counters.skipped.load() == 1);
  }

  TEST_CASE("with retries left, the record it died on is tried again") {
    Run run;
    run.DieAfter(3);
    CHECK(run.Recover() == "");
    testing::DoubleStage twice;
    CHECK(run.Replace(twice, 1, OnError::kFail) == 0);
    CHECK(Drain(*run.out) == DoubledNumbers(1, 10));
  }

  TEST_CASE("the restart budget and stateful stages refuse a replacement") {
    Run run;
    run.DieAfter(0);
    CHECK(run.Recover(0) == "'map' was replaced 0 times already (--max-restarts 0)");
    StageSignature counting;
    counting.stateful = true;
    run.graph.nodes[1].signature = &counting;
    run.graph.nodes[1].name = "count";
    CHECK(run.Recover() ==
          "'count' keeps its state in the worker that died, so it cannot be replaced without losing it");
  }

  TEST_CASE("an order position never goes back and a past one is not waited for") {
    std::string error;
    auto control = RunControl::Create(1, 0, &error);
    OrderGate& gate = control->gate(0);
    gate.WaitTurn(0);
    gate.Done(0);
    gate.Done(1);
    CHECK(gate.next_publish.load() == 2);
    gate.Done(0);  // a redo of position 0 after its first holder's Done
    CHECK(gate.next_publish.load() == 2);
    gate.WaitTurn(1);  // returns at once: 1 is past
  }

  // Three one-record batches "a", "b", "c" in a queue that three replicas take from.
  std::unique_ptr<ShmQueue> ThreeBatches() {
    std::string error;
    auto q = ShmQueue::Create({1, 3, 100000, 16 << 20}, &error);
    REQUIRE_MESSAGE(q != nullptr, error);
    for (const char* v : {"a", "b", "c"}) {
      RecordBatch batch;
      batch.Add(v, 1, 1);
      REQUIRE(q->Push(0, batch) == QueueStatus::kOk);
    }
    return q;
  }

  TEST_CASE("an ordered lease handed out again keeps its place, and later ones keep theirs") {
    std::string error;
    auto control = RunControl::Create(1, 1, &error);
    auto q = ThreeBatches();
    OrderGate& gate = control->gate(0);
    Lease a, b, again, c;
    uint64_t position = 99;
    REQUIRE(gate.Take(*q, 0, &a, &position) == QueueStatus::kOk);
    CHECK(position == 0);
    REQUIRE(gate.Take(*q, 1, &b, &position) == QueueStatus::kOk);
    CHECK(position == 1);
    // a's holder dies: a goes back, ahead of c, in its place.
    q->RecoverConsumer(0);
    REQUIRE(gate.Take(*q, 2, &again, &position) == QueueStatus::kOk);
    CHECK(again[0].bytes == "a");
    CHECK(again.attempt() == 2);
    CHECK(position == 0);
    q->Ack(2, &again);
    REQUIRE(gate.Take(*q, 2, &c, &position) == QueueStatus::kOk);
    CHECK(c[0].bytes == "c");
    CHECK(position == 2);
  }

  // The chaos test's rare misorder (two leases' outputs swapped): a taker
  // killed after the queue handed it a lease and before it drew a position
  // left its lease to come back behind the one a sibling took meanwhile.
  TEST_CASE("a replica killed right after it was handed a lease leaves the lease its place") {
    std::string error;
    auto control = RunControl::Create(1, 1, &error);
    auto q = ThreeBatches();
    OrderGate& gate = control->gate(0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      queue_test::ArmCrash("pop", "taken", 1);
      Lease lease;
      uint64_t position = 0;
      gate.Take(*q, 0, &lease, &position);
      _exit(3);  // not reached: killed inside Take, holding the gate's lock
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    // A sibling takes before the supervisor has recovered the dead one.
    Lease b, a;
    uint64_t position = 99;
    REQUIRE(gate.Take(*q, 1, &b, &position) == QueueStatus::kOk);
    CHECK(b[0].bytes == "b");
    CHECK(position == 1);
    q->RecoverConsumer(0);
    REQUIRE(gate.Take(*q, 2, &a, &position) == QueueStatus::kOk);
    CHECK(a[0].bytes == "a");
    CHECK(position == 0);
  }
}

}  // namespace
}  // namespace flow
