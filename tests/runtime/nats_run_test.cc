// A run's life on a real nats-server (runtime/nats_run.h): two runs kept
// apart, a stale run swept, the run-made handshake between a keeper and the
// instances offered its run, and the turns of an [ordered] stage across
// connections (runtime/broker_order_gate.h). Skipped, with a message, when
// nats-server is not installed.
#ifdef FLOWRUN_NATS

#include "runtime/broker_board.h"
#include "runtime/broker_order_gate.h"
#include "runtime/nats_subscription.h"
#include "runtime/run_bucket.h"
#include "tests/runtime/nats_test_support.h"

namespace flow::nats_queue_test {

TEST_SUITE("nats_run") {
  TEST_CASE("a run's bucket without its lookup reads and writes what a kvStore does") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server);
    MakeRun(*link, "kv", 0);
    std::string missing;
    kvStore* kv = link->Bucket(NatsBucketName("kv"), &missing);
    REQUIRE_MESSAGE(kv != nullptr, missing);
    RunBucket bucket(*link, NatsBucketName("kv"));
    std::string value = "untouched";
    CHECK(bucket.Get("nothing", &value) == NATS_NOT_FOUND);
    CHECK(value == "untouched");
    // Written here, read by the kvStore, and the other way round.
    REQUIRE(bucket.Put("a", "one") == NATS_OK);
    kvEntry* entry = nullptr;
    REQUIRE(kvStore_Get(&entry, kv, "a") == NATS_OK);
    CHECK(std::string(kvEntry_ValueString(entry)) == "one");
    kvEntry_Destroy(entry);
    REQUIRE(kvStore_PutString(nullptr, kv, "b", "two") == NATS_OK);
    REQUIRE(bucket.Get("b", &value) == NATS_OK);
    CHECK(value == "two");
    REQUIRE(bucket.Put("b", "") == NATS_OK);  // an empty value is a value
    REQUIRE(bucket.Get("b", &value) == NATS_OK);
    CHECK(value.empty());
    // Deleted or purged: no value.
    REQUIRE(kvStore_Delete(kv, "a") == NATS_OK);
    CHECK(bucket.Get("a") == NATS_NOT_FOUND);
    REQUIRE(kvStore_Purge(kv, "b", nullptr) == NATS_OK);
    CHECK(bucket.Get("b") == NATS_NOT_FOUND);
    // Created once only.
    CHECK(bucket.Create("c", "first") == NATS_OK);
    CHECK(bucket.Create("c", "second") != NATS_OK);
    REQUIRE(bucket.Get("c", &value) == NATS_OK);
    CHECK(value == "first");
    // A bucket that is not there: every call fails.
    RunBucket none(*link, NatsBucketName("absent"));
    CHECK(none.Get("a") != NATS_OK);
    CHECK(none.Put("a", "x") != NATS_OK);
  }

  TEST_CASE("a job offer says that its run is made; an offer that does not say so is read as not made") {
    int taken = 0;
    std::string job, place;
    bool made = false;
    REQUIRE(ReadJobOffer(JobOffer(3, "the job", "the place", true), &taken, &job, &place, &made));
    CHECK(taken == 3);
    CHECK(job == "the job");
    CHECK(place == "the place");
    CHECK(made);
    REQUIRE(ReadJobOffer(JobOffer(2, "job", "place"), &taken, &job, &place, &made));
    CHECK(!made);  // its instances look for the mark (AwaitNatsRunMade)
    CHECK(!ReadJobOffer("3", &taken, &job, &place, &made));  // a bare count: not an offer
  }

  TEST_CASE("a stop put on a job key is told from an offer, and is no offer") {
    CHECK(IsJobStop(JobStop()));
    CHECK(!IsJobStop(JobOffer(3, "the job", "the place", true)));
    CHECK(!IsJobStop("3"));
    CHECK(!IsJobStop(""));
    // A worker of an earlier flowrun reads it as no offer (and, having
    // the run's part already, ignores it): its part ends with the run.
    CHECK(!ReadJobOffer(JobStop(), nullptr, nullptr, nullptr));
  }

  TEST_CASE("an instance offered a run waits until its keeper marks it made, and no longer than the broker wait") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto keeper = Link(server);
    MakeRun(*keeper, "made", 0);
    auto instance = Link(server, 600);
    std::string error;
    // Marked while it waits: the message wakes it.
    const auto began = Clock::now();
    std::thread mark([&keeper] {
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      std::string ignored;
      MarkNatsRunMade(*keeper, "made", &ignored);
    });
    CHECK_MESSAGE(AwaitNatsRunMade(*instance, "made", &error), error);
    mark.join();
    CHECK(Seconds(began) < 0.5);
    // Marked before it looks: the key says so.
    auto late = Link(server, 600);
    CHECK_MESSAGE(AwaitNatsRunMade(*late, "made", &error), error);
    // Never marked: a clear error after the broker wait.
    MakeRun(*keeper, "never", 0);
    const auto waited = Clock::now();
    CHECK_FALSE(AwaitNatsRunMade(*late, "never", &error));
    CHECK(Seconds(waited) >= 0.55);
    CHECK(error.find("were not made within 600 ms") != std::string::npos);
  }

  TEST_CASE("[ordered] replicas on their own connections: a turn waits for the one before, and one passed early is found") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto a = Link(server), b = Link(server);
    MakeRun(*a, "turns", 1);
    auto qa = Open(a, "turns", 1, 2), qb = Open(b, "turns", 1, 2);
    std::string error;
    auto first = BrokerOrderGate::Open(*a, "turns", 1, qa.get(), false);
    REQUIRE_MESSAGE(first != nullptr, error);
    auto second = BrokerOrderGate::Open(*b, "turns", 1, qb.get(), false);
    REQUIRE_MESSAGE(second != nullptr, error);
    // Position 1 waits for position 0.
    std::atomic<bool> went{false};
    std::thread waiter([&] {
      second->WaitTurn(1);
      went = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK_FALSE(went.load());
    const auto done = Clock::now();
    first->Done(0);
    waiter.join();
    CHECK(went.load());
    CHECK(Seconds(done) < 0.09);  // heard, not found at the 100 ms look
    // Passed before the next one looks: its key says so at once.
    second->Done(1);
    const auto late = Clock::now();
    first->WaitTurn(2);
    CHECK(Seconds(late) < 0.09);
    // A replica that gives up on the order lets every waiting one go: by
    // its key, a look or two later (each listens to its own position's
    // turn only).
    std::atomic<bool> freed{false};
    std::thread stuck([&] {
      second->WaitTurn(7);
      freed = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto abandoned = Clock::now();
    first->Abandon();
    stuck.join();
    CHECK(freed.load());
    CHECK(Seconds(abandoned) < 0.5);
  }

  TEST_CASE("[ordered] on a broker: a turn passed while the lease is worked on is heard, with no look at the bucket") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto a = Link(server), b = Link(server);
    MakeRun(*a, "heard", 1);
    // One batch a fetch: each replica's lease is one delivery, one position.
    auto qa = Open(a, "heard", 1, 2, 0, 20, 1), qb = Open(b, "heard", 1, 2, 0, 20, 1);
    REQUIRE(qa->Push(0, Batch({"zero"}, 1)) == QueueStatus::kOk);
    REQUIRE(qa->Push(0, Batch({"one"}, 2)) == QueueStatus::kOk);
    std::string error;
    auto first = BrokerOrderGate::Open(*a, "heard", 1, qa.get(), false);
    REQUIRE_MESSAGE(first != nullptr, error);
    auto second = BrokerOrderGate::Open(*b, "heard", 1, qb.get(), false);
    REQUIRE_MESSAGE(second != nullptr, error);
    Lease la, lb;
    uint64_t pa = 9, pb = 9;
    REQUIRE(first->Take(*qa, 0, &la, &pa) == QueueStatus::kOk);
    REQUIRE(second->Take(*qb, 1, &lb, &pb) == QueueStatus::kOk);
    CHECK(pa == 0);
    CHECK(pb == 1);
    // Position 0 is done while position 1's stage works (its subscription
    // reached the broker: the round trip below), and its key is then
    // deleted, so that only the message can tell the waiter.
    REQUIRE(natsConnection_Flush(b->connection()) == NATS_OK);
    first->Done(0);
    kvStore* kv = a->Bucket(NatsBucketName("heard"), &error);
    REQUIRE_MESSAGE(kv != nullptr, error);
    CHECK(kvStore_Delete(kv, "o1.done.0") == NATS_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::atomic<bool> went{false};
    std::thread waiter([&] {
      second->WaitTurn(1);
      went = true;
    });
    CHECK(Eventually(went, std::chrono::milliseconds(90)));
    first->Abandon();  // frees a waiter that missed the message (the test fails, but ends)
    waiter.join();
    qa->Ack(0, &la);
    qb->Ack(1, &lb);
  }

  TEST_CASE("[ordered] on a broker: a replica takes its next lease while the last one waits for its turn") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto a = Link(server);
    MakeRun(*a, "ahead", 1);
    auto q = Open(a, "ahead", 1, 1, 0, 20, 1);
    for (int i = 0; i < 3; ++i) REQUIRE(q->Push(0, Batch({std::to_string(i)}, i + 1)) == QueueStatus::kOk);
    std::string error;
    auto gate = BrokerOrderGate::Open(*a, "ahead", 1, q.get(), false);
    REQUIRE_MESSAGE(gate != nullptr, error);
    CHECK(gate->TakesWhileWaiting());
    Lease l0, l1, l2;
    uint64_t p0 = 9, p1 = 9, p2 = 9;
    REQUIRE(gate->Take(*q, 0, &l0, &p0) == QueueStatus::kOk);
    REQUIRE(gate->Take(*q, 0, &l1, &p1) == QueueStatus::kOk);
    CHECK(p0 == 0);
    CHECK(p1 == 1);
    // Position 1's turn is waited for on a thread (a finisher's), while
    // this one takes position 2 and then passes position 0 on.
    std::atomic<bool> went{false};
    std::thread finisher([&] {
      gate->WaitTurn(1);
      went = true;
    });
    REQUIRE(gate->Take(*q, 0, &l2, &p2) == QueueStatus::kOk);
    CHECK(p2 == 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    CHECK_FALSE(went.load());
    gate->Done(0);
    CHECK(Eventually(went, std::chrono::seconds(2)));
    if (!went.load()) gate->Abandon();  // the test fails, but ends
    finisher.join();
    gate->Done(1);
    gate->WaitTurn(2);  // passed on this replica: at once
    gate->Done(2);
    for (Lease* l : {&l0, &l1, &l2}) q->Ack(0, l);
  }

  TEST_CASE("[ordered] on a broker: a batch back from a dead replica keeps its place, and its replacement waits for it") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto a = Link(server), d = Link(server), c = Link(server);
    NatsEdgeOptions options;
    options.ack_wait_ns = 1'000'000'000;
    MakeRun(*a, "back", 1, options);
    // One batch a fetch, as [ordered] replicas take them. `a` also
    // produces; `d` dies holding position 0; `c` replaces it.
    auto qa = Open(a, "back", 1, 1, 0, 20, 1), qd = Open(d, "back", 1, 1, 0, 20, 1), qc = Open(c, "back", 1, 1, 0, 20, 1);
    for (int i = 0; i < 3; ++i) REQUIRE(qa->Push(0, Batch({std::to_string(i)}, i + 1)) == QueueStatus::kOk);
    std::string error;
    auto live = BrokerOrderGate::Open(*a, "back", 1, qa.get(), false);
    REQUIRE_MESSAGE(live != nullptr, error);
    auto dead = BrokerOrderGate::Open(*d, "back", 1, qd.get(), false);
    REQUIRE_MESSAGE(dead != nullptr, error);
    auto spare = BrokerOrderGate::Open(*c, "back", 1, qc.get(), true);
    REQUIRE_MESSAGE(spare != nullptr, error);
    Lease ld, l1, lc, l2;
    uint64_t pd = 9, p1 = 9, pc = 9, p2 = 9;
    REQUIRE(dead->Take(*qd, 0, &ld, &pd) == QueueStatus::kOk);
    CHECK(pd == 0);
    qd->StopHeartbeat();  // its holder is dead: nothing keeps its batch
    REQUIRE(live->Take(*qa, 0, &l1, &p1) == QueueStatus::kOk);
    CHECK(p1 == 1);
    std::atomic<bool> went{false};
    std::thread waiter([&] {
      live->WaitTurn(1);
      went = true;
    });
    // The replacement asks only once the dead one's batch is back: the
    // broker gives it that batch, not the next one, at the place it had.
    const auto replaced = Clock::now();
    REQUIRE(spare->Take(*qc, 0, &lc, &pc) == QueueStatus::kOk);
    CHECK(Seconds(replaced) >= 1.0);
    CHECK(lc.ticket() == ld.ticket());
    CHECK(lc.attempt() == 2);
    CHECK(pc == 0);
    CHECK_FALSE(went.load());
    spare->WaitTurn(0);
    spare->Done(0);
    CHECK(Eventually(went, std::chrono::seconds(2)));
    if (!went.load()) live->Abandon();  // the test fails, but ends
    waiter.join();
    qc->Ack(0, &lc);
    live->Done(1);
    qa->Ack(0, &l1);
    // Its later takes do not wait.
    const auto next = Clock::now();
    REQUIRE(spare->Take(*qc, 0, &l2, &p2) == QueueStatus::kOk);
    CHECK(Seconds(next) < 0.5);
    CHECK(p2 == 2);
    spare->WaitTurn(2);
    spare->Done(2);
    qc->Ack(0, &l2);
  }

  TEST_CASE("[ordered] on a broker: a position taken out by the keeper is skipped, once the ones before it are done") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto a = Link(server);
    MakeRun(*a, "skips", 1);
    auto q = Open(a, "skips", 1, 1);
    std::string error;
    auto gate = BrokerOrderGate::Open(*a, "skips", 1, q.get(), false);
    REQUIRE_MESSAGE(gate != nullptr, error);
    REQUIRE_MESSAGE(BrokerOrderGate::Skip(*a, "skips", 1, 2, &error), error);
    std::atomic<bool> went{false};
    std::thread waiter([&] {
      gate->WaitTurn(3);
      went = true;
    });
    // Position 1 is neither done nor skipped; then skipped, but 0 is not done.
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    CHECK_FALSE(went.load());
    REQUIRE_MESSAGE(BrokerOrderGate::Skip(*a, "skips", 1, 1, &error), error);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    CHECK_FALSE(went.load());
    gate->Done(0);
    CHECK(Eventually(went, std::chrono::seconds(1)));
    if (!went.load()) gate->Abandon();  // the test fails, but ends
    waiter.join();
  }

  TEST_CASE("subscriptions dropped while messages for them arrive: nothing is used after it was freed") {
    // libnats's reader thread delivers to a subscription it looked up
    // without holding it (NatsLink::Retire). A publisher floods each
    // subject while its subscription is made and dropped, on two threads at
    // once. Dropped at once, as before Retire, one of them was freed under
    // the reader thread in each of 6 runs under ASan with the cores busy.
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server);
    auto sender = Link(server);
    std::atomic<bool> done{false};
    std::atomic<int> subject{0};
    std::thread flood([&] {
      while (!done.load()) {
        const std::string name = "drop." + std::to_string(subject.load());
        for (int k = 0; k < 8; ++k) natsConnection_PublishString(sender->connection(), name.c_str(), "x");
        natsConnection_Flush(sender->connection());
      }
    });
    // Counted here, checked on the test's thread: a REQUIRE that fails on
    // another thread would end the process.
    std::atomic<int> heard{0}, refused{0};
    const auto drop = [&](int first) {
      for (int i = first; i < 3000; i += 2) {
        subject.store(i);
        NatsSubscription sub(*link, "drop." + std::to_string(i));
        if (!sub.ok()) ++refused;
        std::string value;
        if (sub.Next(&value, 2)) ++heard;
      }
    };
    std::thread other(drop, 1);
    drop(0);
    other.join();
    done = true;
    flood.join();
    CHECK(refused.load() == 0);
    CHECK(heard.load() > 0);  // the flood reached subscriptions while they lived
    CHECK(link->connected());
  }

  TEST_CASE("two runs on one broker do not see each other's records") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server);
    MakeRun(*link, "runa", 1);
    MakeRun(*link, "runb", 1);
    auto a = Open(link, "runa", 1, 1);
    auto b = Open(link, "runb", 1, 1);
    REQUIRE(a->Push(0, Batch({"for a"}, 1)) == QueueStatus::kOk);
    a->EndOfStream(0);
    Lease lease;
    CHECK(b->Pop(0, &lease, PopMode::kNoWait) == QueueStatus::kEmpty);
    CHECK(b->PublishedBy(0).records == 0);
    b->EndOfStream(0);
    CHECK(b->Pop(0, &lease, PopMode::kWait) == QueueStatus::kEnd);
    CHECK(Drain(*a) == std::vector<std::string>{"for a"});
    std::string error;
    CHECK(RemoveNatsRun(*link, "runb", &error));
    CHECK(!CreateNatsRun(*link, "runa", 1'000'000'000, &error));
    CHECK(error == "run 'runa' exists already on the broker at '" + server.url() + "'");
  }

  TEST_CASE("a run without a heartbeat is swept; a live one stays") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server);
    std::string error;
    REQUIRE(CreateNatsRun(*link, "gone", 100'000'000, &error));
    REQUIRE(AddNatsEdge(*link, "gone", 0, {}, &error));
    MakeRun(*link, "live", 1);
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    int swept = 0;
    while (swept == 0 && Clock::now() < deadline) swept = SweepStaleNatsRuns(*link, &error);
    CHECK(swept == 1);
    jsStreamInfo* si = nullptr;
    CHECK(js_GetStreamInfo(&si, link->js(), NatsStreamName("gone", 0).c_str(), nullptr, nullptr) == NATS_NOT_FOUND);
    REQUIRE(js_GetStreamInfo(&si, link->js(), NatsStreamName("live", 0).c_str(), nullptr, nullptr) == NATS_OK);
    jsStreamInfo_Destroy(si);
    CHECK(TouchNatsRun(*link, "live", &error));
    CHECK(!TouchNatsRun(*link, "gone", &error));
    CHECK(RemoveNatsRun(*link, "live", &error));
    CHECK(SweepStaleNatsRuns(*link, &error) == 0);
    // An edge without its bucket in its first minute is a run being made
    // (its keeper makes both at once), not the remains of a removal.
    REQUIRE(AddNatsEdge(*link, "young", 0, {}, &error));
    CHECK(SweepStaleNatsRuns(*link, &error) == 0);
    REQUIRE(js_GetStreamInfo(&si, link->js(), NatsStreamName("young", 0).c_str(), nullptr, nullptr) == NATS_OK);
    jsStreamInfo_Destroy(si);
  }
}

}  // namespace flow::nats_queue_test

#endif  // FLOWRUN_NATS
