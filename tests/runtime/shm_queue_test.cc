// The shared-memory queue: behaviour in one process, bounds and blocking
// across processes, and exactly-once delivery after a producer or consumer
// is SIGKILLed at each named point of the queue's code.
#include <doctest/doctest.h>
#include <sched.h>

#include <algorithm>
#include <chrono>

#include "tests/runtime/shm_queue_crash.h"

namespace flow::queue_test {
namespace {

std::unique_ptr<ShmQueue> MakeQueue(int producers, int consumers, int64_t records, int64_t bytes) {
  std::string error;
  auto q = ShmQueue::Create({producers, consumers, records, bytes}, &error);
  REQUIRE_MESSAGE(q != nullptr, error);
  return q;
}

// Waits, yielding the CPU, until `done()` (a state another process moves
// to); fails after 30 s instead of hanging.
template <class F>
bool WaitFor(F done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    sched_yield();
  }
  return true;
}

std::vector<std::string> Contents(const Lease& lease) {
  std::vector<std::string> out;
  for (size_t i = 0; i < lease.size(); ++i) out.emplace_back(lease[i].bytes);
  return out;
}

}  // namespace

TEST_SUITE("shm_queue") {
  TEST_CASE("a batch goes through whole: NUL bytes, empty records, nr and seq") {
    auto q = MakeQueue(1, 1, 16, 4096);
    RecordBatch b;
    using namespace std::string_literals;
    CHECK(b.Add("a\0b"s, 1, 10));
    CHECK(b.Add("", 2, 11));
    CHECK(b.Add("\0"s, 3, 12));
    REQUIRE(q->Push(0, b) == QueueStatus::kOk);
    Lease lease;
    REQUIRE(q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
    REQUIRE(lease.size() == 3);
    CHECK(Contents(lease) == std::vector<std::string>{"a\0b"s, "", "\0"s});
    CHECK(lease[1].nr == 2);
    CHECK(lease[2].seq == 12);
    CHECK(lease.attempt() == 1);
    CHECK(q->Stats().records == 3);
    q->Ack(0, &lease);
    CHECK(q->Stats().records == 0);
    CHECK(q->Stats().bytes == 0);
  }

  TEST_CASE("options are checked") {
    std::string error;
    CHECK(ShmQueue::Create({0, 1, 10, 100}, &error) == nullptr);
    CHECK(error == "a queue needs 1 to 4096 producers and consumers");
    CHECK(ShmQueue::Create({1, 1, 0, 100}, &error) == nullptr);
    CHECK(error == "a queue's capacity must be at least one record and one byte");
    CHECK(ShmQueue::Create({1, 1, 10, int64_t{1} << 32}, &error) == nullptr);
    CHECK(error == "a queue's capacity must be less than 4GiB");
    auto q = MakeQueue(1, 1, 10, 1);
    CHECK(q->capacity_bytes() == uint64_t(kMinQueueBytes));
  }

  TEST_CASE("the memory a queue takes: capacity, a lane per consumer, descriptors") {
    ShmQueueOptions options{2, 3, 8192, 4 << 20};
    const uint64_t bytes = ShmQueueMemoryBytes(options);
    const uint64_t floor = (4u << 20) + 3 * (64u << 10) + 1024 * 128;
    CHECK(bytes >= floor);
    CHECK(bytes < floor + 16 * 1024);
    std::string error;
    auto q = ShmQueue::Create(options, &error);
    REQUIRE(q);
    CHECK(q->mapped_bytes() == bytes + (4u << 20));  // the arena is mapped twice
    CHECK(ShmQueueMemoryBytes({1, 1, 0, 10}) == 0);
  }

  TEST_CASE("a record longer than 4GiB - 1 is refused by the batch") {
    // Address space only: Add looks at the length and touches no byte.
    const size_t len = kMaxRecordBytes + 1;
    void* p = mmap(nullptr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(p != MAP_FAILED);
    RecordBatch b;
    CHECK_FALSE(b.Add(std::string_view(static_cast<const char*>(p), len), 1, 1));
    CHECK(b.empty());
    munmap(p, len);
  }

  TEST_CASE("pop without waiting is empty; the end needs every producer's marker") {
    auto q = MakeQueue(2, 1, 16, 4096);
    Lease lease;
    CHECK(q->Pop(0, &lease, PopMode::kNoWait) == QueueStatus::kEmpty);
    q->EndOfStream(0);
    q->EndOfStream(0);  // twice is once
    CHECK(q->Pop(0, &lease, PopMode::kNoWait) == QueueStatus::kEmpty);
    CHECK(q->PublishedBy(0).ended);
    q->EndOfStream(1);
    CHECK(q->Pop(0, &lease, PopMode::kNoWait) == QueueStatus::kEnd);
    CHECK(q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kEnd);
  }

  TEST_CASE("the end waits for records another consumer holds") {
    auto q = MakeQueue(1, 2, 16, 4096);
    RecordBatch b;
    b.Add("x", 1, 0);
    q->Push(0, b);
    q->EndOfStream(0);
    Lease held;
    REQUIRE(q->Pop(0, &held, PopMode::kWait) == QueueStatus::kOk);
    Lease other;
    CHECK(q->Pop(1, &other, PopMode::kNoWait) == QueueStatus::kEmpty);
    // Its own unacknowledged lease does not keep a consumer from ending.
    CHECK(q->Pop(0, &other, PopMode::kNoWait) == QueueStatus::kEnd);
    q->Ack(0, &held);
    CHECK(q->Pop(1, &other, PopMode::kNoWait) == QueueStatus::kEnd);
  }

  TEST_CASE("a batch is cut into runs of at most a quarter of the queue") {
    auto q = MakeQueue(1, 1, 8, 1 << 20);
    RecordBatch b;
    for (int i = 0; i < 5; ++i) b.Add(std::to_string(i), i + 1, i);
    Children children;
    children.Spawn([&] { return q->Push(0, b) == QueueStatus::kOk; });
    std::vector<size_t> sizes;
    std::vector<std::string> all;
    while (all.size() < 5) {
      Lease lease;
      REQUIRE(q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
      sizes.push_back(lease.size());
      for (auto& s : Contents(lease)) all.push_back(s);
      q->Ack(0, &lease);
    }
    CHECK(sizes == std::vector<size_t>{2, 2, 1});
    CHECK(all == std::vector<std::string>{"0", "1", "2", "3", "4"});
    std::string why;
    CHECK_MESSAGE(children.WaitAll(30000, &why), why);
  }

  TEST_CASE("a producer blocks at the record capacity and goes on when a batch leaves") {
    auto q = MakeQueue(1, 1, 3, 4096);
    Children children;
    children.Spawn([&] {
      for (int i = 0; i < 10; ++i) {
        RecordBatch b;
        b.Add(std::to_string(i), i + 1, i);
        if (q->Push(0, b) != QueueStatus::kOk) return false;
      }
      q->EndOfStream(0);
      return true;
    });
    REQUIRE(WaitFor([&] { return q->Stats().waiting_producers == 1; }));
    CHECK(q->Stats().records == 3);
    std::vector<std::string> all;
    for (;;) {
      Lease lease;
      QueueStatus status = q->Pop(0, &lease, PopMode::kWait);
      if (status == QueueStatus::kEnd) break;
      REQUIRE(status == QueueStatus::kOk);
      CHECK(q->Stats().records <= 3);
      for (auto& s : Contents(lease)) all.push_back(s);
      q->Ack(0, &lease);
    }
    CHECK(all.size() == 10);
    CHECK(all.back() == "9");
    std::string why;
    CHECK_MESSAGE(children.WaitAll(30000, &why), why);
  }

  TEST_CASE("a producer blocks at the byte capacity") {
    // Each 30-byte record takes 56 bytes: three fit in 200, a fourth does not.
    auto q = MakeQueue(1, 1, 100, 200);
    Children children;
    children.Spawn([&] {
      for (int i = 0; i < 4; ++i) {
        RecordBatch b;
        b.Add(std::string(30, char('a' + i)), i + 1, i);
        if (q->Push(0, b) != QueueStatus::kOk) return false;
      }
      q->EndOfStream(0);
      return true;
    });
    REQUIRE(WaitFor([&] { return q->Stats().waiting_producers == 1; }));
    CHECK(q->Stats().records == 3);
    CHECK(q->Stats().bytes == 3 * QueueFootprint(1, 30));
    int taken = 0;
    for (Lease lease; q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk; q->Ack(0, &lease)) {
      CHECK(lease[0].bytes == std::string(30, char('a' + taken)));
      ++taken;
    }
    CHECK(taken == 4);
    std::string why;
    CHECK_MESSAGE(children.WaitAll(30000, &why), why);
  }

  TEST_CASE("a record larger than the queue arrives whole, between its neighbours") {
    auto q = MakeQueue(1, 1, 4, 64);
    RecordSpec spec;
    std::string big(100000, '\0');
    FillRecord(7, big.data(), big.size());
    Children children;
    children.Spawn([&] {
      RecordBatch b;
      b.Add("before", 1, 0);
      b.Add(big, 2, 1);
      b.Add("after", 3, 2);
      return q->Push(0, b) == QueueStatus::kOk;
    });
    std::vector<std::string> got;
    std::vector<int64_t> nrs;
    while (got.size() < 3) {
      Lease lease;
      REQUIRE(q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
      for (size_t i = 0; i < lease.size(); ++i) nrs.push_back(lease[i].nr);
      for (auto& s : Contents(lease)) got.push_back(s);
      q->Ack(0, &lease);
    }
    CHECK(got[0] == "before");
    CHECK(got[1].size() == big.size());
    CHECK(got[1] == big);
    CHECK(got[2] == "after");
    CHECK(nrs == std::vector<int64_t>{1, 2, 3});
    CHECK(q->PublishedBy(0).records == 3);
    std::string why;
    CHECK_MESSAGE(children.WaitAll(30000, &why), why);
  }

  TEST_CASE("cancel wakes a blocked producer, and pops stop") {
    auto q = MakeQueue(1, 1, 2, 4096);
    Children children;
    children.Spawn([&] {
      for (int i = 0;; ++i) {  // a source that never ends
        RecordBatch b;
        b.Add("r", i + 1, i);
        QueueStatus status = q->Push(0, b);
        if (status != QueueStatus::kOk) return status == QueueStatus::kCancelled;
      }
    });
    REQUIRE(WaitFor([&] { return q->Stats().waiting_producers == 1; }));
    q->Cancel();
    std::string why;
    CHECK_MESSAGE(children.WaitAll(30000, &why), why);
    Lease lease;
    CHECK(q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kCancelled);
    RecordBatch b;
    b.Add("late", 1, 0);
    CHECK(q->Push(0, b) == QueueStatus::kCancelled);
  }

  TEST_CASE("close wakes a blocked consumer") {
    auto q = MakeQueue(1, 1, 2, 4096);
    Children children;
    children.Spawn([&] {
      Lease lease;
      return q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kClosed;
    });
    REQUIRE(WaitFor([&] { return q->Stats().waiting_consumers == 1; }));
    q->Close();
    std::string why;
    CHECK_MESSAGE(children.WaitAll(30000, &why), why);
  }

  TEST_CASE("a dead consumer's lease comes back without its finished records") {
    auto q = MakeQueue(1, 2, 64, 4096);
    RecordBatch b;
    for (int i = 0; i < 5; ++i) b.Add(std::to_string(i), i + 1, i);
    q->Push(0, b);
    q->EndOfStream(0);
    Lease lease;
    REQUIRE(q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
    q->Progress(0, lease, 2);
    const uint64_t ticket = lease.ticket();
    RecoveryReport report = q->RecoverConsumer(0);  // as if consumer 0 had died
    REQUIRE(report.requeued.size() == 1);
    CHECK(report.requeued[0].ticket == ticket);
    CHECK(report.requeued[0].first == 2);
    CHECK(report.requeued[0].records == 3);
    CHECK(report.lost.empty());
    Lease again;
    REQUIRE(q->Pop(1, &again, PopMode::kWait) == QueueStatus::kOk);
    CHECK(again.ticket() == ticket);
    CHECK(again.first() == 2);
    CHECK(again.attempt() == 2);
    CHECK(Contents(again) == std::vector<std::string>{"2", "3", "4"});
    CHECK(again[0].nr == 3);
    q->Ack(1, &again);
    CHECK(q->Pop(1, &again, PopMode::kNoWait) == QueueStatus::kEnd);
    CHECK(q->Stats().records == 0);
  }

  TEST_CASE("recovered batches come back ahead of newer ones, in their order") {
    auto q = MakeQueue(1, 2, 16, 4096);
    for (int i = 0; i < 3; ++i) {
      RecordBatch b;
      b.Add("b" + std::to_string(i), i + 1, i);
      q->Push(0, b);
    }
    Lease first, second;
    q->Pop(0, &first, PopMode::kWait);
    q->Pop(0, &second, PopMode::kWait);
    CHECK(q->RecoverConsumer(0).requeued.size() == 2);
    std::vector<std::string> order;
    for (int i = 0; i < 3; ++i) {
      Lease lease;
      REQUIRE(q->Pop(1, &lease, PopMode::kNoWait) == QueueStatus::kOk);
      order.push_back(std::string(lease[0].bytes));
      q->Ack(1, &lease);
    }
    CHECK(order == std::vector<std::string>{"b0", "b1", "b2"});
  }

  TEST_CASE("a consumer that finished everything before dying gives nothing back") {
    auto q = MakeQueue(1, 1, 16, 4096);
    RecordBatch b;
    b.Add("a", 1, 0);
    b.Add("b", 2, 1);
    q->Push(0, b);
    Lease lease;
    q->Pop(0, &lease, PopMode::kWait);
    q->Progress(0, lease, 2);
    RecoveryReport report = q->RecoverConsumer(0);
    CHECK(report.requeued.empty());
    CHECK(q->Stats().records == 0);
  }

  TEST_CASE("a producer killed inside a locked section: rolled back, then recovered") {
    auto q = MakeQueue(1, 1, 16, 4096);
    Children children;
    pid_t victim = children.Spawn([&] {
      ArmCrash("push.publish", "set", 2);  // the record count is set, the rest is not
      RecordBatch b;
      b.Add("lost", 1, 0);
      q->Push(0, b);
      return true;
    });
    pid_t pid;
    int status;
    REQUIRE(children.WaitAny(30000, &pid, &status));
    CHECK(pid == victim);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    // The next locker rolls the half-done publish back.
    CHECK(q->PublishedBy(0).records == 0);
    Lease lease;
    CHECK(q->Pop(0, &lease, PopMode::kNoWait) == QueueStatus::kEmpty);
    RecoveryReport report = q->RecoverProducer(0);
    CHECK(report.dropped_runs == 1);
    CHECK(q->Stats().records == 0);
    CHECK(q->Stats().bytes == 0);
    RecordBatch b;
    b.Add("again", 1, 0);
    REQUIRE(q->Push(0, b) == QueueStatus::kOk);
    REQUIRE(q->Pop(0, &lease, PopMode::kNoWait) == QueueStatus::kOk);
    CHECK(lease[0].bytes == "again");
  }
}

}  // namespace flow::queue_test

// --- crash and recovery (scenarios in shm_queue_crash.h) -------------------

namespace flow::queue_test {
namespace {

const CrashPlan kConsumerCrashes[] = {
    {true, "pop.take", "set", 1},        {true, "pop.take", "set", 3},
    {true, "pop.take", "set", 6},        {true, "pop.take", "commit", 2},
    {true, "pop.take", "committed", 2},  {true, "pop", "taken", 3},
    {true, "pop.wait", "set", 1, true},  {true, "pop.wait", "sleeping", 1, true},
    {true, "pop.lane", "set", 1},        {true, "pop.lane", "commit", 2},
    {true, "pop.lane", "committed", 3},  {true, "pop.lane", "received", 1},
    {true, "consumer", "journaled", 5},  {true, "consumer", "journaled", 40},
    {true, "consumer", "finished", 4},   {true, "ack", "begin", 2},
    {true, "ack", "set", 1},             {true, "ack", "set", 4},
    {true, "ack", "commit", 3},          {true, "ack", "committed", 3},
    {true, "consumer", "journaled", 9, false, true},
};

const CrashPlan kProducerCrashes[] = {
    {false, "push.reserve", "set", 1},        {false, "push.reserve", "set", 7},
    {false, "push.reserve", "commit", 2},     {false, "push.reserve", "committed", 2},
    {false, "push.copy", "half", 2},          {false, "push.publish", "set", 1},
    {false, "push.publish", "set", 3},        {false, "push.publish", "commit", 2},
    {false, "push.publish", "committed", 2},  {false, "push", "published", 2},
    {false, "push.wait", "set", 1, true},     {false, "push.wait", "sleeping", 1, true},
    {false, "push.lane", "set", 2},           {false, "push.lane", "commit", 1},
    {false, "push.lane", "committed", 1},     {false, "push.lane", "sent", 2},
    {false, "eos", "set", 1},                 {false, "eos", "committed", 1},
    {false, "push.copy", "half", 5, false, true},
};

}  // namespace

TEST_SUITE("shm_queue") {
  TEST_CASE("a consumer killed at any point: every record exactly once after recovery") {
    for (auto [producers, consumers] : {std::pair{1, 1}, std::pair{2, 2}}) {
      for (const CrashPlan& plan : kConsumerCrashes) {
        CAPTURE(Describe(plan, producers, consumers));
        CHECK(RunCrash(plan, producers, consumers) == "");
      }
    }
  }

  TEST_CASE("a producer killed at any point: its replacement resumes, nothing doubled") {
    for (auto [producers, consumers] : {std::pair{1, 1}, std::pair{2, 2}}) {
      for (const CrashPlan& plan : kProducerCrashes) {
        CAPTURE(Describe(plan, producers, consumers));
        CHECK(RunCrash(plan, producers, consumers) == "");
      }
    }
  }
}

}  // namespace flow::queue_test
