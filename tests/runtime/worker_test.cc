// The worker loop with fake stages and real shared-memory queues: in one
// process where the queues can hold everything, in forked children where
// instances must run at the same time (replicas, order, merge waits).
#include "runtime/worker.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "runtime/run_control.h"
#include "runtime/shm_queue.h"
#include "runtime/worker_output.h"
#include "tests/runtime/fake_stages.h"
#include "tests/runtime/process_test_support.h"
#include "tests/runtime/shm_queue_harness.h"

namespace flow {
namespace {

using testing::CollectSink;
using testing::PassStage;
using testing::UpperStage;
using testing::VectorSource;

std::unique_ptr<ShmQueue> MakeQueue(int producers, int consumers, int64_t records = 100000,
                                    int64_t bytes = 16 << 20) {
  std::string error;
  auto q = ShmQueue::Create({producers, consumers, records, bytes}, &error);
  REQUIRE_MESSAGE(q != nullptr, error);
  return q;
}

// Takes everything the queue holds; requires its end (no producer left).
std::vector<std::string> DrainEnded(Queue& q, int consumer = 0) {
  std::vector<std::string> out;
  for (;;) {
    Lease lease;
    QueueStatus status = q.Pop(consumer, &lease, PopMode::kNoWait);
    if (status == QueueStatus::kEnd) return out;
    REQUIRE_MESSAGE(status == QueueStatus::kOk, "queue said " << QueueStatusName(status));
    for (size_t i = 0; i < lease.size(); ++i) out.emplace_back(lease[i].bytes);
    q.Ack(consumer, &lease);
  }
}

// Blocks for everything until the end (a producer runs elsewhere).
std::vector<std::string> DrainWaiting(Queue& q, int consumer = 0) {
  std::vector<std::string> out;
  for (;;) {
    Lease lease;
    QueueStatus status = q.Pop(consumer, &lease, PopMode::kWait);
    if (status == QueueStatus::kEnd) return out;
    REQUIRE(status == QueueStatus::kOk);
    for (size_t i = 0; i < lease.size(); ++i) out.emplace_back(lease[i].bytes);
    q.Ack(consumer, &lease);
  }
}

void Fill(Queue& q, int producer, const std::vector<std::string>& records, size_t per_push = 7) {
  RecordBatch batch;
  for (size_t i = 0; i < records.size(); ++i) {
    batch.Add(records[i], static_cast<int64_t>(i + 1), static_cast<int64_t>(i + 1));
    if (batch.size() == per_push) {
      REQUIRE(q.Push(producer, batch) == QueueStatus::kOk);
      batch.Clear();
    }
  }
  if (!batch.empty()) REQUIRE(q.Push(producer, batch) == QueueStatus::kOk);
  q.EndOfStream(producer);
}

std::vector<std::string> Numbers(int from, int to) {
  std::vector<std::string> v;
  for (int i = from; i <= to; ++i) v.push_back(std::to_string(i));
  return v;
}

struct Wiring {
  WorkerSetup setup;
  InstanceCounters counters;
  int error_fd = testing::MemoryFile();

  Wiring() {
    setup.name = "map#1";
    setup.location = "t.flow:1:5";
    setup.counters = &counters;
    setup.error_fd = error_fd;
  }
  ~Wiring() { close(error_fd); }
  void In(Queue* q) { setup.inputs.push_back(q); }
  void Out(Queue* q) { setup.outputs.push_back(q); }
  std::string errors() const { return testing::ReadWhole(error_fd); }
};

// A worker between two fresh queues: `in`, which the test fills, and `out`.
struct OneInOneOut {
  std::unique_ptr<ShmQueue> in = MakeQueue(1, 1);
  std::unique_ptr<ShmQueue> out = MakeQueue(1, 1);
  Wiring w;

  OneInOneOut() {
    w.In(in.get());
    w.Out(out.get());
  }
};

// A tee's worker: `in`, holding records 1 to 100, to `main_line` and
// `branch`.
struct TeeLines {
  std::unique_ptr<ShmQueue> in = MakeQueue(1, 1);
  std::unique_ptr<ShmQueue> main_line = MakeQueue(1, 1);
  std::unique_ptr<ShmQueue> branch = MakeQueue(1, 1);
  Wiring w;
  PassStage tee;

  TeeLines() {
    Fill(*in, 0, Numbers(1, 100));
    w.In(in.get());
    w.Out(main_line.get());
    w.Out(branch.get());
  }
};

// Runs `stage` as a worker of its own wiring from `inputs` to `outputs` (a
// child's instance: number `instance`, [ordered] with `order_gate`); true
// when it returned 0.
bool RunsWell(Stage& stage, const std::vector<Queue*>& inputs, const std::vector<Queue*>& outputs,
              int instance = 0, OrderTurns* order_gate = nullptr) {
  Wiring w;
  w.setup.instance = instance;
  w.setup.order_gate = order_gate;
  for (Queue* q : inputs) w.In(q);
  for (Queue* q : outputs) w.Out(q);
  return RunWorker(stage, w.setup) == 0;
}

// Every child exited well, within 20 s.
void CheckChildrenEnd(queue_test::Children& children) {
  std::string why;
  CHECK_MESSAGE(children.WaitAll(20000, &why), why);
}

TEST_SUITE("worker") {
  TEST_CASE("a source pushes every record in order, then its end of stream") {
    auto out = MakeQueue(1, 1);
    Wiring w;
    w.Out(out.get());
    std::vector<std::string> records = Numbers(1, 5000);
    records.push_back(std::string("with\0nul", 8));
    VectorSource source(records);
    CHECK(RunWorker(source, w.setup) == 0);
    CHECK(DrainEnded(*out) == records);
    CHECK(w.counters.records_out.load() == 5001);
    CHECK(w.counters.records_in.load() == 0);
    CHECK(w.errors() == "");
  }

  TEST_CASE_FIXTURE(OneInOneOut, "a transform maps every record of its input, keeping order and counting") {
    Fill(*in, 0, {"a", "bc", "", "def"});
    UpperStage upper;
    CHECK(RunWorker(upper, w.setup) == 0);
    CHECK(DrainEnded(*out) == std::vector<std::string>{"A", "BC", "", "DEF"});
    CHECK(w.counters.records_in.load() == 4);
    CHECK(w.counters.bytes_in.load() == 6);
    CHECK(w.counters.records_out.load() == 4);
    CHECK(w.counters.bytes_out.load() == 6);
  }

  TEST_CASE_FIXTURE(OneInOneOut, "outputs that fill a batch mid-lease are pushed and the rest follows") {
    const int n = static_cast<int>(kBatchRecords) * 3 / 4;  // doubled: one and a half batches
    Fill(*in, 0, Numbers(1, n), n);  // one lease
    testing::DoubleStage twice;
    CHECK(RunWorker(twice, w.setup) == 0);
    std::vector<std::string> got = DrainEnded(*out);
    REQUIRE(got.size() == 2 * static_cast<size_t>(n));
    bool all_right = true;
    for (int i = 0; i < n; ++i) {
      all_right = all_right && got[2 * i] == std::to_string(i + 1) && got[2 * i + 1] == std::to_string(i + 1);
    }
    CHECK(all_right);
  }

  // The turns of a replica alone: every turn is its own at once; counts
  // how often it was asked for one.
  struct CountedTurns final : OrderTurns {
    int waits = 0;
    QueueStatus Take(Queue& queue, int consumer, Lease* lease, uint64_t* position) override {
      *position = 0;
      return queue.Pop(consumer, lease, PopMode::kWait);
    }
    void WaitTurn(uint64_t) override { ++waits; }
    void Done(uint64_t) override {}
    void Abandon() override {}
  };

  TEST_CASE_FIXTURE(OneInOneOut, "[ordered], held until the turn: full batches wait with the lease, then go first") {
    CountedTurns turns;
    w.setup.order_gate = &turns;
    WorkerOutput o(w.setup);
    o.HoldBatchesUntilTurn();
    o.BeginLease(1, 0);
    const size_t n = 2 * kBatchRecords + 10;
    for (size_t i = 0; i < n; ++i) {
      o.BeginRecord(i);
      REQUIRE(o.Emit(std::to_string(i), static_cast<int64_t>(i + 1)));
    }
    CHECK(turns.waits == 0);  // two batches filled: held, no wait for the turn
    CHECK(o.flushes() == 0);
    o.WaitForTurn();
    CHECK(turns.waits == 1);
    o.Flush();
    o.EndLease();
    out->EndOfStream(0);
    std::vector<std::string> got = DrainEnded(*out);
    REQUIRE(got.size() == n);
    bool in_order = true;
    for (size_t i = 0; i < n; ++i) in_order = in_order && got[i] == std::to_string(i);
    CHECK(in_order);
    CHECK(turns.waits == 1);
  }

  TEST_CASE_FIXTURE(TeeLines, "a tee's two outputs both get every record") {
    CHECK(RunWorker(tee, w.setup) == 0);
    CHECK(DrainEnded(*main_line) == Numbers(1, 100));
    CHECK(DrainEnded(*branch) == Numbers(1, 100));
    CHECK(w.counters.records_out.load() == 100);
  }

  TEST_CASE_FIXTURE(TeeLines, "a tee whose branch is cancelled goes on down its main line") {
    branch->Cancel();
    CHECK(RunWorker(tee, w.setup) == 0);
    CHECK(DrainEnded(*main_line) == Numbers(1, 100));
  }

  TEST_CASE("a merge takes every record of all its inputs, in turn") {
    auto a = MakeQueue(1, 1);
    auto b = MakeQueue(2, 1);
    auto out = MakeQueue(1, 1);
    Fill(*a, 0, {"a1", "a2"}, 1);
    Fill(*b, 0, {"b1", "b2"}, 1);
    b->EndOfStream(1);
    Wiring w;
    w.In(a.get());
    w.In(b.get());
    w.Out(out.get());
    PassStage merge;
    CHECK(RunWorker(merge, w.setup) == 0);
    std::vector<std::string> got = DrainEnded(*out);
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<std::string>{"a1", "a2", "b1", "b2"});
  }

  TEST_CASE("a merge waits on every input; producers blocked mid-push still get through") {
    // Queues of one record: a producer blocks inside Push after its first
    // record, and a large record's head waits to be taken; the merge must
    // see both without any help from the producers.
    auto a = MakeQueue(1, 1, 1, 256);
    auto b = MakeQueue(1, 1, 1, 256);
    auto out = MakeQueue(1, 1, 1, 256);
    std::string big(100000, 'b');
    queue_test::Children children;
    children.Spawn([&] {
      PassStage merge;
      return RunsWell(merge, {a.get(), b.get()}, {out.get()});
    });
    children.Spawn([&] {
      VectorSource source({"b1", big, "b3"});
      return RunsWell(source, {}, {b.get()});
    });
    children.Spawn([&] {
      VectorSource source(Numbers(1, 200));
      return RunsWell(source, {}, {a.get()});
    });
    std::vector<std::string> got = DrainWaiting(*out);
    std::vector<std::string> want = Numbers(1, 200);
    want.insert(want.end(), {"b1", big, "b3"});
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    CHECK(got == want);
    CheckChildrenEnd(children);
  }

  TEST_CASE("a satisfied merge cancels every input and stops its takers") {
    auto a = MakeQueue(1, 1, 4, 4096);
    auto b = MakeQueue(1, 1, 4, 4096);
    auto out = MakeQueue(1, 1);
    queue_test::Children children;
    for (auto* q : {a.get(), b.get()}) {
      children.Spawn([&, q] {
        testing::CountingSource counting;
        return RunsWell(counting, {}, {q});
      });
    }
    Wiring w;
    w.In(a.get());
    w.In(b.get());
    w.Out(out.get());
    testing::HeadStage head(10);
    CHECK(RunWorker(head, w.setup) == 0);
    CHECK(DrainEnded(*out).size() == 10);
    CheckChildrenEnd(children);
  }

  TEST_CASE_FIXTURE(OneInOneOut, "a satisfied stage cancels its input, then finishes its stream") {
    Fill(*in, 0, Numbers(1, 50));
    testing::HeadStage head(3);
    CHECK(RunWorker(head, w.setup) == 0);
    CHECK(DrainEnded(*out) == Numbers(1, 3));
    RecordBatch batch;
    batch.Add("late", 1, 1);
    CHECK(in->Push(0, batch) == QueueStatus::kCancelled);
  }

  TEST_CASE_FIXTURE(OneInOneOut, "head(0) cancels its input before taking anything") {
    testing::HeadStage head(0);
    CHECK(RunWorker(head, w.setup) == 0);
    CHECK(DrainEnded(*out).empty());
    RecordBatch batch;
    batch.Add("x", 1, 1);
    CHECK(in->Push(0, batch) == QueueStatus::kCancelled);
  }

  TEST_CASE_FIXTURE(OneInOneOut, "a worker whose every output is cancelled cancels its input") {
    Fill(*in, 0, Numbers(1, 10));
    out->Cancel();
    UpperStage upper;
    CHECK(RunWorker(upper, w.setup) == 0);
    RecordBatch batch;
    batch.Add("x", 1, 1);
    CHECK(in->Push(0, batch) == QueueStatus::kCancelled);
  }

  TEST_CASE("a never-ending source stops when its output is cancelled") {
    auto out = MakeQueue(1, 1, 64, 4096);
    queue_test::Children children;
    children.Spawn([&] {
      testing::CountingSource counting;
      return RunsWell(counting, {}, {out.get()});
    });
    Lease lease;
    REQUIRE(out->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
    CHECK(lease[0].bytes == "1");
    out->Ack(0, &lease);
    out->Cancel();
    CheckChildrenEnd(children);
  }

  TEST_CASE("a source stops when the run asks, and still ends its stream") {
    auto out = MakeQueue(1, 1);
    std::atomic<bool> stop{true};
    Wiring w;
    w.Out(out.get());
    w.setup.stop_requested = &stop;
    testing::CountingSource counting;
    CHECK(RunWorker(counting, w.setup) == 0);
    CHECK(DrainEnded(*out).empty());
  }

  TEST_CASE_FIXTURE(OneInOneOut, "on_error = fail: one line naming stage, place, record and error; exit 1") {
    Fill(*in, 0, {"a", "b\tx\x01", "c"});
    UpperStage upper;
    upper.fail_on = "b\tx\x01";
    CHECK(RunWorker(upper, w.setup) == 1);
    CHECK(w.errors() ==
          "t.flow:1:5: error: 'map#1' failed on record 2: t.flow:1:9: cannot convert 'b\\tx\\x01' to int; "
          "the record: \"b\\tx\\x01\"\n");
  }

  TEST_CASE_FIXTURE(OneInOneOut, "on_error = fail shows at most 200 bytes of the record") {
    std::string big(300, 'z');
    Fill(*in, 0, {big});
    UpperStage upper;
    upper.fail_on = big;
    CHECK(RunWorker(upper, w.setup) == 1);
    CHECK(w.errors().find("the record: \"" + std::string(200, 'z') + "...\"\n") != std::string::npos);
  }

  TEST_CASE_FIXTURE(OneInOneOut, "on_error = skip counts the record and goes on") {
    Fill(*in, 0, {"a", "bad", "c", "bad"});
    w.setup.on_error = OnError::kSkip;
    UpperStage upper;
    upper.fail_on = "bad";
    CHECK(RunWorker(upper, w.setup) == 0);
    CHECK(DrainEnded(*out) == std::vector<std::string>{"A", "C"});
    CHECK(w.counters.skipped.load() == 2);
    CHECK(w.errors() == "");
  }

  TEST_CASE_FIXTURE(OneInOneOut, "on_error = dead_letter appends 'reason<TAB>record' lines, escaped") {
    Fill(*in, 0, {"a", "b\nad", "c"});
    int dead = testing::MemoryFile();
    w.setup.on_error = OnError::kDeadLetter;
    w.setup.dead_letter_fd = dead;
    UpperStage upper;
    upper.fail_on = "b\nad";
    CHECK(RunWorker(upper, w.setup) == 0);
    CHECK(DrainEnded(*out) == std::vector<std::string>{"A", "C"});
    CHECK(testing::ReadWhole(dead) == "t.flow:1:9: cannot convert 'b\\nad' to int\tb\\nad\n");
    CHECK(w.counters.dead_letters.load() == 1);
    close(dead);
  }

  TEST_CASE_FIXTURE(OneInOneOut, "a stage that takes runs gets them, and a failed record alone, with on_error") {
    std::vector<std::string> records = Numbers(1, 1000);
    records[500] = "bad";
    Fill(*in, 0, records, 300);
    w.setup.on_error = OnError::kSkip;
    w.setup.retries = 1;
    testing::RunUpperStage upper;
    upper.fail_on = "bad";
    CHECK(RunWorker(upper, w.setup) == 0);
    records.erase(records.begin() + 500);
    CHECK(DrainEnded(*out) == records);
    CHECK(upper.runs > 0);
    CHECK(upper.alone == 1);  // the retry; its first try was in the run
    CHECK(w.counters.skipped.load() == 1);
    CHECK(w.counters.records_in.load() == 1000);
    CHECK(w.counters.records_out.load() == 999);
    CHECK(w.counters.bytes_in.load() == 2893);  // "501" became "bad": as long
  }

  TEST_CASE_FIXTURE(OneInOneOut, "a record that fails in a run and then passes on a retry keeps its place") {
    std::vector<std::string> records = Numbers(1, 200);
    records[70] = "flaky";
    Fill(*in, 0, records, 200);
    w.setup.retries = 2;
    testing::RunUpperStage upper;
    upper.fail_on = "flaky";
    upper.fails = 2;
    CHECK(RunWorker(upper, w.setup) == 0);
    records[70] = "FLAKY";
    CHECK(DrainEnded(*out) == records);
    CHECK(upper.alone == 2);
    CHECK(w.errors() == "");
  }

  TEST_CASE_FIXTURE(OneInOneOut, "a stage with a timeout gets its records one by one, never in runs") {
    Fill(*in, 0, {"a", "b"});
    w.setup.timeout_ns = 10'000'000'000;
    testing::RunUpperStage upper;
    CHECK(RunWorker(upper, w.setup) == 0);
    CHECK(DrainEnded(*out) == std::vector<std::string>{"A", "B"});
    CHECK(upper.runs == 0);
    CHECK(upper.alone == 2);
  }

  TEST_CASE_FIXTURE(OneInOneOut, "a fatal error stops the worker with its message") {
    Fill(*in, 0, {"a", "stop", "c"});
    UpperStage upper;
    upper.fatal_on = "stop";
    CHECK(RunWorker(upper, w.setup) == 1);
    CHECK(w.errors() == "t.flow:1:5: error: 'map#1': cannot write 'out.txt': No space left on device\n");
  }

  TEST_CASE("a record larger than the queues passes whole") {
    auto in = MakeQueue(1, 1, 16, 64 * 1024);
    auto out = MakeQueue(1, 1, 16, 64 * 1024);
    std::string big(1 << 20, 'q');
    big[12345] = '\0';
    queue_test::Children children;
    children.Spawn([&] {
      PassStage pass;
      return RunsWell(pass, {in.get()}, {out.get()});
    });
    children.Spawn([&] {
      VectorSource source({"x", big, "y"});
      return RunsWell(source, {}, {in.get()});
    });
    std::vector<std::string> got = DrainWaiting(*out);
    REQUIRE(got.size() == 3);
    CHECK(got[0] == "x");
    CHECK(got[1] == big);
    CHECK(got[2] == "y");
    CheckChildrenEnd(children);
  }

  TEST_CASE("replicas share one input: every record comes out exactly once") {
    for (int replicas : {1, 3, 8}) {
      CAPTURE(replicas);
      auto in = MakeQueue(1, replicas, 64, 4096);
      auto out = MakeQueue(replicas, 1, 64, 4096);
      queue_test::Children children;
      for (int r = 0; r < replicas; ++r) {
        children.Spawn([&, r] {
          UpperStage upper;
          return RunsWell(upper, {in.get()}, {out.get()}, r);
        });
      }
      children.Spawn([&] {
        VectorSource source(Numbers(1, 3000));
        return RunsWell(source, {}, {in.get()});
      });
      std::vector<std::string> got = DrainWaiting(*out);
      std::sort(got.begin(), got.end());
      std::vector<std::string> want = Numbers(1, 3000);
      std::sort(want.begin(), want.end());
      CHECK(got == want);
      CheckChildrenEnd(children);
    }
  }

  TEST_CASE("[ordered] replicas with uneven delays publish in input order") {
    for (int capacity : {1, 5, 64}) {
      CAPTURE(capacity);
      const int replicas = 4;
      auto in = MakeQueue(1, replicas, capacity, 4096);
      auto out = MakeQueue(replicas, 1, capacity, 4096);
      std::string error;
      auto control = RunControl::Create(1, 0, &error);
      REQUIRE(control != nullptr);
      queue_test::Children children;
      for (int r = 0; r < replicas; ++r) {
        children.Spawn([&, r] {
          UpperStage upper;
          upper.delay_ns = [](const RecordView& rec) { return static_cast<long>(rec.nr * 7919 % 13) * 20000; };
          return RunsWell(upper, {in.get()}, {out.get()}, r, &control->gate(0));
        });
      }
      children.Spawn([&] {
        VectorSource source(Numbers(1, 400));
        return RunsWell(source, {}, {in.get()});
      });
      CHECK(DrainWaiting(*out) == Numbers(1, 400));
      CheckChildrenEnd(children);
    }
  }

  TEST_CASE("a batch hint asks for leases of about a millisecond") {
    BatchHint hint;
    CHECK(hint.Get() == 1);  // until a consumer has measured anything
    hint.Report(10, 50'000'000, 4096);  // 5 ms a record
    CHECK(hint.Get() == 1);
    hint.Report(100, 1'000'000, 4096);  // 10 us a record
    CHECK(hint.Get() == 100);
    hint.Report(1000, 100'000, 4096);  // 100 ns a record
    CHECK(hint.Get() == 4096);
    hint.Report(5, 0, 4096);  // too fast to measure
    CHECK(hint.Get() == 4096);
  }

  TEST_CASE("EscapeRecord keeps printable ASCII and escapes the rest") {
    CHECK(EscapeRecord("plain text", 200) == "plain text");
    CHECK(EscapeRecord(std::string("a\tb\nc\rd\\e\"f\0g\x7f\xc3\xa9", 16), 200) ==
          "a\\tb\\nc\\rd\\\\e\\\"f\\x00g\\x7f\\xc3\\xa9");
    CHECK(EscapeRecord("abcdef", 3) == "abc...");
    CHECK(EscapeRecord("abc", 3) == "abc");
    CHECK(EscapeRecord("", 3) == "");
  }
}

}  // namespace
}  // namespace flow
