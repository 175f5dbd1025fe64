// The NATS JetStream edge against a real nats-server that each test starts
// on loopback (a free port, a temporary store) and stops: the batch round
// trip, exactly once with several producers and consumers, pulls asked
// ahead, redelivery after the ack wait, duplicates dropped, cancel and
// close, large records, and a broker that is absent or lost (the end of
// stream: nats_queue_end_test.cc; a run's life: nats_run_test.cc).
// Skipped, with a message, when nats-server is not installed.
#ifdef FLOWRUN_NATS

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "runtime/nats_queue.h"
#include "runtime/poison_watch.h"
#include "tests/runtime/nats_test_support.h"

namespace flow::nats_queue_test {

TEST_SUITE("nats_queue") {
  TEST_CASE("a batch goes through whole: NUL bytes, empty records, nr, seq and origin") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server);
    MakeRun(*link, "r1", 1);
    auto q = Open(link, "r1", 1, 1);
    RecordBatch b;
    b.set_origin(42);
    CHECK(b.Add("a\0b"s, 1, 10));
    CHECK(b.Add("", 2, 11));
    CHECK(b.Add("\0"s, 3, -5));
    CHECK(b.Add("last", INT64_MAX, INT64_MIN));
    REQUIRE(q->Push(0, b) == QueueStatus::kOk);
    ProducerProgress p = q->PublishedBy(0);
    CHECK(p.records == 4);
    CHECK(p.last_nr == INT64_MAX);
    CHECK(p.last_seq == INT64_MIN);
    CHECK(p.origin == 42);
    CHECK_FALSE(p.ended);
    Lease lease;
    REQUIRE(q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
    CHECK(Contents(lease) == std::vector<std::string>{"a\0b"s, "", "\0"s, "last"});
    CHECK(lease[0].nr == 1);
    CHECK(lease[1].seq == 11);
    CHECK(lease[2].seq == -5);
    CHECK(lease[3].nr == INT64_MAX);
    CHECK(lease[3].seq == INT64_MIN);
    CHECK(lease.ticket() == 1);  // the stream sequence
    CHECK(lease.attempt() == 1);
    CHECK(lease.first() == 0);
    CHECK(q->Pop(0, &lease, PopMode::kNoWait) == QueueStatus::kEmpty);  // held, not acknowledged, not ended
    q->Ack(0, &lease);
    CHECK(q->Pop(0, &lease, PopMode::kNoWait) == QueueStatus::kEmpty);  // the producer has not ended
    q->EndOfStream(0);
    q->EndOfStream(0);  // harmless again
    CHECK(q->PublishedBy(0).ended);
    CHECK(q->PublishedBy(0).records == 4);
    CHECK(q->Pop(0, &lease, PopMode::kNoWait) == QueueStatus::kEnd);
    CHECK(q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kEnd);
    CHECK(q->error() == "");
  }

  TEST_CASE("3 producers and 2 consumers on their own connections: every record once, both consumers end") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    MakeRun(*Link(server), "many", 1, NatsEdgeOptions{.capacity_messages = 8});
    constexpr int kProducers = 3, kBatches = 40, kPerBatch = 250;
    std::vector<std::thread> threads;
    for (int p = 0; p < kProducers; ++p) {
      threads.emplace_back([&server, p] {
        auto q = Open(Link(server), "many", kProducers, 2);
        for (int b = 0; b < kBatches; ++b) {
          std::vector<std::string> records;
          for (int i = 0; i < kPerBatch; ++i) records.push_back(std::to_string(p) + ":" + std::to_string(b * kPerBatch + i));
          CHECK(q->Push(p, Batch(records, b * kPerBatch + 1)) == QueueStatus::kOk);
        }
        q->EndOfStream(p);
      });
    }
    std::vector<std::string> got[2];
    for (int c = 0; c < 2; ++c) {
      threads.emplace_back([&server, &got, c] {
        auto q = Open(Link(server), "many", kProducers, 2);
        got[c] = Drain(*q, c);
      });
    }
    for (std::thread& t : threads) t.join();
    std::map<std::string, int> seen;
    for (auto& g : got) for (const std::string& r : g) ++seen[r];
    CHECK(seen.size() == static_cast<size_t>(kProducers * kBatches * kPerBatch));
    int twice = 0;
    for (auto& [r, n] : seen) twice += n != 1;
    CHECK(twice == 0);
    CHECK(!got[0].empty());
    CHECK(!got[1].empty());
  }

  TEST_CASE("a lease is acknowledged from another thread while the consumer's next Pop waits") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server);
    MakeRun(*link, "behind", 1);
    // A long poll: a Pop that kept its consumer locked while waiting would
    // hold the Ack back for that long.
    auto q = Open(link, "behind", 1, 1, 0, 2000, 1);
    REQUIRE(q->Push(0, Batch({"first"}, 1)) == QueueStatus::kOk);
    Lease first;
    REQUIRE(q->Pop(0, &first, PopMode::kWait) == QueueStatus::kOk);
    std::atomic<bool> popped{false};
    Lease second;
    std::thread taker([&] {
      CHECK(q->Pop(0, &second, PopMode::kWait) == QueueStatus::kOk);
      popped = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the Pop waits now
    std::atomic<bool> acked{false};
    std::thread acker([&] {
      q->Ack(0, &first);
      acked = true;
    });
    CHECK(Eventually(acked, std::chrono::milliseconds(500)));
    CHECK_FALSE(popped.load());
    REQUIRE(q->Push(0, Batch({"second"}, 2)) == QueueStatus::kOk);  // (frees a held-back Ack: the test ends)
    taker.join();
    acker.join();
    CHECK(Contents(second) == std::vector<std::string>{"second"});
    q->Ack(0, &second);
    q->EndOfStream(0);
    Lease none;
    CHECK(q->Pop(0, &none, PopMode::kWait) == QueueStatus::kEnd);
  }

  TEST_CASE("a pull asked ahead goes out when due, and brings the next batch while the lease is worked on") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server), observer = Link(server);
    MakeRun(*link, "ahead", 1);
    auto q = Open(link, "ahead", 1, 1, 0, 2000, 1);
    for (int64_t i = 1; i <= 4; ++i) REQUIRE(q->Push(0, Batch({"r" + std::to_string(i)}, i)) == QueueStatus::kOk);
    const auto delivered = [&] {  // batches handed to the consumer, not acknowledged
      jsConsumerInfo* ci = nullptr;
      REQUIRE(js_GetConsumerInfo(&ci, observer->js(), NatsStreamName("ahead", 0).c_str(), kNatsConsumerName, nullptr,
                                 nullptr) == NATS_OK);
      const int64_t n = ci->NumAckPending;
      jsConsumerInfo_Destroy(ci);
      return n;
    };
    Lease first;
    REQUIRE(q->Pop(0, &first, PopMode::kWait) == QueueStatus::kOk);
    CHECK(delivered() == 1);
    q->AskAheadIn(0, 150'000);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(delivered() == 1);  // not yet due
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(delivered() == 2);  // asked for and delivered while the first is held
    const auto asked = Clock::now();
    q->Ack(0, &first);
    Lease second;
    REQUIRE(q->Pop(0, &second, PopMode::kWait) == QueueStatus::kOk);
    CHECK(Seconds(asked) < 0.5);
    CHECK(Contents(second) == std::vector<std::string>{"r2"});
    // An ask that Pop's own request overtook sends nothing more.
    q->AskAheadIn(0, 100'000);
    q->Ack(0, &second);
    Lease third;
    REQUIRE(q->Pop(0, &third, PopMode::kWait) == QueueStatus::kOk);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    CHECK(delivered() == 1);  // the fourth stays on the edge
    q->Ack(0, &third);
    q->EndOfStream(0);
    CHECK(Drain(*q) == std::vector<std::string>{"r4"});
  }

  TEST_CASE("a producer added mid-run publishes under its number, and the end waits for the first ones only") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server);
    MakeRun(*link, "grow", 1);
    NatsQueueOptions o;
    o.run = "grow";
    o.producers = 3;  // producers 0 and 1 from the start, 2 added (a worker that joined)
    o.counted_producers = 2;
    o.consumers = 1;
    o.poll_ms = 20;
    std::string error;
    auto q = NatsQueue::Open(link, o, &error);
    REQUIRE_MESSAGE(q != nullptr, error);
    REQUIRE(q->Push(2, Batch({"added"}, 1, 7)) == QueueStatus::kOk);
    CHECK(q->PublishedBy(2).records == 1);
    REQUIRE(q->Push(0, Batch({"first"}, 1)) == QueueStatus::kOk);
    q->EndOfStream(0);
    Lease lease;
    REQUIRE(q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
    q->Ack(0, &lease);
    REQUIRE(q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
    q->Ack(0, &lease);
    CHECK(q->Pop(0, &lease, PopMode::kNoWait) == QueueStatus::kEmpty);  // producer 1 goes on
    q->EndOfStream(1);
    // Producer 2 never ended: not waited for.
    CHECK(q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kEnd);
  }

  TEST_CASE("an acknowledgement lost with a broken connection is sent again once the link reconnects") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    MakeRun(*Link(server), "lostack", 1, NatsEdgeOptions{.ack_wait_ns = 1'000'000'000});
    auto q = Open(Link(server), "lostack", 1, 1, 0, 20, /*fetch_batch=*/1);
    REQUIRE(q->Push(0, Batch({"a"}, 1, 1)) == QueueStatus::kOk);
    q->EndOfStream(0);
    Lease lease;
    REQUIRE(q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
    // The ack goes nowhere, as one written just before the broker went.
    q->LoseNextAckForTests();
    q->Ack(0, &lease);
    server.Restart();
    // Once reconnected, the ack is sent again: the batch never comes back
    // (it would, as attempt 2, an ack wait after the restart), and the
    // edge ends.
    const auto start = Clock::now();
    Lease again;
    const QueueStatus status = q->Pop(0, &again, PopMode::kWait);
    CHECK(status == QueueStatus::kEnd);
    if (status == QueueStatus::kOk) CHECK(again.attempt() == 1);
    CHECK(Seconds(start) < 10);
  }

  TEST_CASE("a batch never acknowledged goes to another consumer after the ack wait, as attempt 2") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    MakeRun(*Link(server), "slow", 1, NatsEdgeOptions{.ack_wait_ns = 1'000'000'000});
    // It asks for one batch: a pull request with room left would still
    // take the redelivery into the inbox of a process that is only playing
    // dead (a dead one's inbox is gone with its connection).
    auto dies = Open(Link(server), "slow", 1, 2, 0, 20, /*fetch_batch=*/1);
    // One pull request that outlasts the ack wait: nats-server 2.9.10 takes
    // a redelivery that meets an expired request for a new message (its
    // consumer.go: "o.sseq--"), and reports it as delivery 1.
    auto lives = Open(Link(server), "slow", 1, 2, 0, /*poll_ms=*/3000);
    REQUIRE(dies->Push(0, Batch({"a", "b"}, 1, 9)) == QueueStatus::kOk);
    dies->EndOfStream(0);
    Lease first, second;
    REQUIRE(dies->Pop(0, &first, PopMode::kWait) == QueueStatus::kOk);
    dies->StopHeartbeat();  // as its death would
    const auto start = Clock::now();
    REQUIRE(lives->Pop(1, &second, PopMode::kWait) == QueueStatus::kOk);
    const double waited = Seconds(start);
    CHECK(waited > 0.9);
    CHECK(waited < 2.5);
    CHECK(second.attempt() == 2);
    CHECK(second.ticket() == first.ticket());
    CHECK(Contents(second) == std::vector<std::string>{"a", "b"});
    lives->Ack(1, &second);
    dies->Ack(0, &first);  // too late, and harmless
    CHECK(dies->Pop(0, &first, PopMode::kWait) == QueueStatus::kEnd);
  }

  TEST_CASE("a dead consumer's batch that came back into a waiting consumer's request is found there, and taken first") {
    // As an [ordered] replica whose lease waits for the turn of a position
    // that a dead sibling held (runtime/worker.cc, "one more").
    Server server;
    SKIP_WITHOUT_SERVER(server);
    MakeRun(*Link(server), "back", 1, NatsEdgeOptions{.ack_wait_ns = 1'000'000'000});
    auto dies = Open(Link(server), "back", 1, 2, 0, 20, /*fetch_batch=*/1);
    // Its request for 3 batches stays out once the first came.
    auto waits = Open(Link(server), "back", 1, 2, 0, /*poll_ms=*/3000, /*fetch_batch=*/3);
    REQUIRE(dies->Push(0, Batch({"a"}, 1)) == QueueStatus::kOk);
    REQUIRE(dies->Push(0, Batch({"b"}, 2)) == QueueStatus::kOk);
    Lease lost, held;
    REQUIRE(dies->Pop(0, &lost, PopMode::kWait) == QueueStatus::kOk);
    dies->StopHeartbeat();  // as its death would
    const auto died = Clock::now();
    REQUIRE(waits->Pop(1, &held, PopMode::kWait) == QueueStatus::kOk);
    REQUIRE(held.ticket() == lost.ticket() + 1);
    REQUIRE(dies->Push(0, Batch({"c"}, 3)) == QueueStatus::kOk);  // brought by the request, after the held one
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK_FALSE(waits->HoldsEarlier(1, held.ticket()));
    while (!waits->HoldsEarlier(1, held.ticket()) && Seconds(died) < 5)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const double found = Seconds(died);
    CHECK(found > 0.9);  // after the ack wait
    CHECK(found < 2.5);
    CHECK_FALSE(waits->HoldsEarlier(1, lost.ticket()));  // nothing before the lost one
    Lease back, later;
    REQUIRE(waits->Pop(1, &back, PopMode::kWait) == QueueStatus::kOk);  // before "c", which came first
    CHECK(back.ticket() == lost.ticket());
    CHECK(back.attempt() == 2);
    CHECK(Contents(back) == std::vector<std::string>{"a"});
    REQUIRE(waits->Pop(1, &later, PopMode::kWait) == QueueStatus::kOk);
    CHECK(Contents(later) == std::vector<std::string>{"c"});
    waits->Ack(1, &held);
    waits->Ack(1, &back);
    waits->Ack(1, &later);
    dies->EndOfStream(0);
    CHECK(waits->Pop(1, &later, PopMode::kWait) == QueueStatus::kEnd);
  }

  TEST_CASE("a batch its holders died on max_deliver times is taken out by the poison watch; the edge then ends") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    MakeRun(*Link(server), "poison", 1, NatsEdgeOptions{.ack_wait_ns = 1'000'000'000, .max_deliver = 2});
    StageGraph graph;  // what the watch reads of it: edge 0 goes into node 1, not [ordered]
    graph.nodes.resize(2);
    graph.edges.resize(1);
    graph.edges[0].to = 1;
    auto watch_link = Link(server);
    std::string error;
    PoisonWatch watch(*watch_link, graph, "poison", &error);
    REQUIRE_MESSAGE(error.empty(), error);
    auto producer = Open(Link(server), "poison", 1, 1);
    REQUIRE(producer->Push(0, Batch({"x\ty", "z"}, 7)) == QueueStatus::kOk);
    producer->EndOfStream(0);
    // Two consumers take it and die holding it (kept open, without their
    // heartbeat: a destructor would give the batch back at once). Each asks
    // for one batch, and its pull request outlasts the test (poll_ms): a
    // redelivery meeting an expired one would count as a first delivery
    // (nats_queue.cc).
    std::vector<std::unique_ptr<NatsQueue>> dead;
    for (uint32_t delivery = 1; delivery <= 2; ++delivery) {
      dead.push_back(Open(Link(server), "poison", 1, 1, 0, /*poll_ms=*/60000, /*fetch_batch=*/1));
      Lease lease;
      REQUIRE(dead.back()->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
      CHECK(lease.attempt() == delivery);
      dead.back()->StopHeartbeat();
    }
    // The broker gives up on it one ack wait after the last delivery, when
    // it would hand it to a waiting consumer: then that one sees the end.
    auto after = Open(Link(server), "poison", 1, 1);
    std::atomic<int> after_status{-1};
    std::thread waiting([&] {
      Lease lease;
      after_status = static_cast<int>(after->Pop(0, &lease, PopMode::kWait));
    });
    std::vector<std::string> lines;
    const auto start = Clock::now();
    while (lines.empty() && Seconds(start) < 10) {
      lines = watch.Check();
      if (lines.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::string got;
    for (const std::string& line : lines) got += line + "|";
    CHECK(got == "poison 1 2 7 x\\ty|poison 1 2 8 z|");
    CHECK(watch.Check(true).empty());  // once only
    waiting.join();
    CHECK(after_status == static_cast<int>(QueueStatus::kEnd));
    // Taken out of the stream: nothing is left for anyone.
    auto last = Open(Link(server), "poison", 1, 1);
    Lease lease;
    CHECK(last->Pop(0, &lease, PopMode::kWait) == QueueStatus::kEnd);
  }

  TEST_CASE("progress keeps a slow lease, and the batches fetched with it, past the ack wait") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    MakeRun(*Link(server), "busy", 1, NatsEdgeOptions{.ack_wait_ns = 1'000'000'000});
    auto slow = Open(Link(server), "busy", 1, 2);
    auto other = Open(Link(server), "busy", 1, 2);
    REQUIRE(slow->Push(0, Batch({"one"}, 1)) == QueueStatus::kOk);
    REQUIRE(slow->Push(0, Batch({"two"}, 2)) == QueueStatus::kOk);
    slow->EndOfStream(0);
    Lease first, second;
    REQUIRE(slow->Pop(0, &first, PopMode::kWait) == QueueStatus::kOk);  // fetches both
    const auto start = Clock::now();
    while (Seconds(start) < 2.2) {
      slow->Progress(0, first, 0);
      CHECK(other->Pop(1, &second, PopMode::kNoWait) == QueueStatus::kEmpty);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    slow->Ack(0, &first);
    REQUIRE(slow->Pop(0, &second, PopMode::kWait) == QueueStatus::kOk);
    CHECK(Contents(second) == std::vector<std::string>{"two"});
    CHECK(second.attempt() == 1);
    slow->Ack(0, &second);
    // It may hold an end hint it fetched with the batches: a consumer
    // looks at the end only with nothing left in hand, as a worker does.
    CHECK(slow->Pop(0, &second, PopMode::kWait) == QueueStatus::kEnd);
    CHECK(other->Pop(1, &second, PopMode::kWait) == QueueStatus::kEnd);
  }

  TEST_CASE("a lease taken as it is delivered is not told InProgress at once; held past half its ack wait, it is") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    MakeRun(*Link(server), "fresh", 1, NatsEdgeOptions{.ack_wait_ns = 2'000'000'000});
    // What the consumers tell the broker about their batches, as it sees it.
    auto watcher = Link(server);
    natsSubscription* told = nullptr;
    REQUIRE(natsConnection_SubscribeSync(&told, watcher->connection(), "$JS.ACK.>") == NATS_OK);
    REQUIRE(natsConnection_Flush(watcher->connection()) == NATS_OK);
    const auto in_progress_heard = [told](int64_t within_ms) {
      int heard = 0;
      const auto until = Clock::now() + std::chrono::milliseconds(within_ms);
      for (auto now = Clock::now(); now < until; now = Clock::now()) {
        natsMsg* msg = nullptr;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
        if (natsSubscription_NextMsg(&msg, told, std::max<int64_t>(1, left)) != NATS_OK) continue;
        heard += std::string(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))) == "+WPI";
        natsMsg_Destroy(msg);
      }
      return heard;
    };
    auto producer = Open(Link(server), "fresh", 1, 2);
    auto consumer = Open(Link(server), "fresh", 1, 2);
    auto other = Open(Link(server), "fresh", 1, 2);
    REQUIRE(producer->Push(0, Batch({"one"}, 1)) == QueueStatus::kOk);
    producer->EndOfStream(0);
    Lease lease;
    REQUIRE(consumer->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
    // Its ack wait began after the pull request: nothing to say for half
    // of it (the heartbeat looks every 500 ms, and before told at once).
    CHECK(in_progress_heard(600) == 0);
    // Then it is kept, by the heartbeat alone: nobody else gets it.
    CHECK(in_progress_heard(1400) >= 1);
    Lease none;
    CHECK(other->Pop(1, &none, PopMode::kNoWait) == QueueStatus::kEmpty);
    CHECK(Contents(lease) == std::vector<std::string>{"one"});
    CHECK(lease.attempt() == 1);
    consumer->Ack(0, &lease);
    CHECK(consumer->Pop(0, &lease, PopMode::kWait) == QueueStatus::kEnd);
    natsSubscription_Destroy(told);
  }

  TEST_CASE("a batch published again is dropped: by a restarted producer or by another replica redoing a lease") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server);
    MakeRun(*link, "dup", 1);
    {
      auto first = Open(link, "dup", 3, 1);
      REQUIRE(first->Push(0, Batch({"s1", "s2"}, 1)) == QueueStatus::kOk);
      REQUIRE(first->Push(1, Batch({"m1", "m2"}, 1, 77)) == QueueStatus::kOk);
    }
    auto again = Open(link, "dup", 3, 1);
    REQUIRE(again->Push(0, Batch({"s1", "s2"}, 1)) == QueueStatus::kOk);       // the same source batch
    REQUIRE(again->Push(2, Batch({"m1", "m2"}, 1, 77)) == QueueStatus::kOk);   // lease 77 redone by replica 2
    REQUIRE(again->Push(2, Batch({"m3"}, 3, 77)) == QueueStatus::kOk);         // what the first attempt had not sent
    for (int p = 0; p < 3; ++p) again->EndOfStream(p);
    CHECK(again->PublishedBy(0).records == 4);  // the books count what was pushed (written by the end at the latest)
    CHECK(Drain(*again) == std::vector<std::string>{"s1", "s2", "m1", "m2", "m3"});
  }

  TEST_CASE("a replacement continues its predecessor's books; a producer that starts fresh reads none") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server);
    MakeRun(*link, "books", 1);
    {
      auto dead = Open(link, "books", 2, 1);
      REQUIRE(dead->Push(0, Batch({"a", "b", "c"}, 1)) == QueueStatus::kOk);
      dead->EndOfStream(0);  // its books written
    }
    auto replacement = Open(Link(server), "books", 2, 1);
    CHECK(replacement->PublishedBy(0).records == 3);
    CHECK(replacement->PublishedBy(0).ended);
    // Told it is the first as producer 1 (the runner knows: no restart, no
    // takeover), a queue trusts that and asks nothing; as producer 0 it
    // would be wrong, which is why only the runner may say so.
    auto first = Open(Link(server), "books", 2, 1);
    first->StartsFresh(1);
    CHECK(first->PublishedBy(1).records == 0);
    REQUIRE(first->Push(1, Batch({"d"}, 1, 5)) == QueueStatus::kOk);
    first->EndOfStream(1);
    CHECK(replacement->PublishedBy(1).records == 1);
    auto wrong = Open(Link(server), "books", 2, 1);
    wrong->StartsFresh(0);
    CHECK(wrong->PublishedBy(0).records == 0);  // not read: the bucket says 3
  }

  TEST_CASE("cancel reaches a producer blocked on a full edge; close stops every call") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    MakeRun(*Link(server), "full", 2, NatsEdgeOptions{.capacity_messages = 2});
    std::atomic<int> pushed{0};
    std::atomic<QueueStatus> last{QueueStatus::kOk};
    std::thread producer([&] {
      auto q = Open(Link(server), "full", 1, 1);
      for (int i = 1; i < 100; ++i) {
        const QueueStatus s = q->Push(0, Batch({"r"}, i));
        if (s != QueueStatus::kOk) {
          last = s;
          return;
        }
        ++pushed;
      }
    });
    auto consumer = Open(Link(server), "full", 1, 1);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (pushed < 2 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(pushed == 2);
    consumer->Cancel();
    const auto start = Clock::now();
    producer.join();
    CHECK(Seconds(start) < 1.0);
    CHECK(last == QueueStatus::kCancelled);
    CHECK(pushed == 2);
    Lease lease;
    CHECK(consumer->Pop(0, &lease, PopMode::kWait) == QueueStatus::kCancelled);

    auto closing = Open(Link(server), "full", 1, 1, 1);
    auto other = Open(Link(server), "full", 1, 1, 1);
    closing->Close();
    closing->Cancel();  // does not turn the close into a cancel
    CHECK(closing->Push(0, Batch({"r"}, 1)) == QueueStatus::kClosed);
    CHECK(other->Pop(0, &lease, PopMode::kWait) == QueueStatus::kClosed);
    CHECK(other->Push(0, Batch({"r"}, 1)) == QueueStatus::kClosed);
    CHECK(other->error() == "");  // stopped, not failed
  }

  TEST_CASE("a stop is heard at once on other connections; one unheard is read from the bucket a second later") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    MakeRun(*Link(server), "sig", 2);
    // poll_ms of 5 s: only the signal can make these calls see the stop
    // sooner. A producer listens from its first push, a consumer from its
    // first pop.
    auto producer = Open(Link(server), "sig", 1, 1, 0, 5000);
    REQUIRE(producer->Push(0, Batch({"r"}, 1)) == QueueStatus::kOk);
    auto waiting = Open(Link(server), "sig", 1, 1, 1, 5000);
    std::atomic<QueueStatus> popped{QueueStatus::kOk};
    std::atomic<double> popped_after{-1};
    const auto start = Clock::now();
    std::thread consumer([&] {
      Lease lease;
      popped = waiting->Pop(0, &lease, PopMode::kWait);  // edge 1 is empty: blocks
      popped_after = Seconds(start);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto stopper = Open(Link(server), "sig", 1, 1, 0, 5000);
    auto closer = Open(Link(server), "sig", 1, 1, 1, 5000);
    const auto stopped = Clock::now();
    stopper->Cancel();
    closer->Close();
    QueueStatus pushed = QueueStatus::kOk;
    while (pushed == QueueStatus::kOk && Seconds(stopped) < 3) {
      pushed = producer->Push(0, Batch({"r"}, 2));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    consumer.join();
    CHECK(pushed == QueueStatus::kCancelled);
    CHECK(Seconds(stopped) < 0.5);
    CHECK(popped == QueueStatus::kClosed);
    CHECK(popped_after < 0.6);

    // The flag written by hand, as a signal lost with a connection would
    // leave it: seen at the next look, kStopLookMs after the last one.
    MakeRun(*Link(server), "unheard", 1);
    auto lonely = Open(Link(server), "unheard", 1, 1, 0, 20);
    REQUIRE(lonely->Push(0, Batch({"r"}, 1)) == QueueStatus::kOk);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(lonely->Push(0, Batch({"r"}, 2)) == QueueStatus::kOk);  // its first look, a poll_ms after listening
    auto link = Link(server);
    std::string missing;
    kvStore* kv = link->Bucket(NatsBucketName("unheard"), &missing);
    REQUIRE_MESSAGE(kv != nullptr, missing);
    REQUIRE(kvStore_PutString(nullptr, kv, "e0.stop", "cancelled") == NATS_OK);
    const auto written = Clock::now();
    QueueStatus later = QueueStatus::kOk;
    while (later == QueueStatus::kOk && Seconds(written) < 3) {
      later = lonely->Push(0, Batch({"r"}, 3));  // the same batch: dropped as a copy, the edge never fills
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(later == QueueStatus::kCancelled);
    CHECK(Seconds(written) > 0.5);  // not read at every push: no signal came
    CHECK(Seconds(written) < 1.5);
  }

  TEST_CASE("a record larger than a message travels in pieces, and its pieces go with the ack") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server);
    CHECK(link->max_payload() == 1 << 20);  // the server's default
    MakeRun(*link, "big", 1);
    auto q = Open(link, "big", 1, 1);
    std::string large(2'500'000, 'x');
    for (size_t i = 0; i < large.size(); i += 1000) large[i] = '\0';
    // Alone it fits one message (the limit is 1 MiB less 512 bytes for
    // headers); beside "after" it does not.
    const std::string fits(1'048'000, 'y');
    RecordBatch b;
    b.set_origin(5);
    b.Add("before", 1, 1);
    b.Add(large, 2, 2);
    b.Add("after", 3, 3);
    b.Add(fits, 4, 4);
    REQUIRE(q->Push(0, b) == QueueStatus::kOk);
    REQUIRE(q->Push(0, b) == QueueStatus::kOk);  // a redo: dropped, pieces and all
    q->EndOfStream(0);
    std::vector<std::vector<std::string>> leases;
    Lease lease;
    while (q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk) {
      leases.push_back(Contents(lease));
      if (lease.size() == 1 && lease[0].bytes.size() == large.size()) {
        CHECK(lease[0].nr == 2);
        CHECK(lease[0].seq == 2);
      }
      q->Ack(0, &lease);
    }
    CHECK(leases == std::vector<std::vector<std::string>>{{"before"}, {large}, {"after"}, {fits}});
    jsStreamInfo* si = nullptr;
    REQUIRE(js_GetStreamInfo(&si, link->js(), NatsStreamName("big", 0).c_str(), nullptr, nullptr) == NATS_OK);
    CHECK(si->State.Msgs == 0);
    jsStreamInfo_Destroy(si);
  }

  TEST_CASE("no broker, no JetStream, a lost broker: clear errors, quickly, no credentials shown") {
    Server server(/*jetstream=*/false);
    SKIP_WITHOUT_SERVER(server);
    const int port = FreePort();
    NatsLinkOptions o;
    o.broker.url = "nats://user:secret@127.0.0.1:" + std::to_string(port);
    std::string error;
    const auto start = Clock::now();
    CHECK(NatsLink::Connect(o, &error) == nullptr);
    CHECK(Seconds(start) < 1.0);
    CHECK(error == "cannot reach the broker at 'nats://***@127.0.0.1:" + std::to_string(port) +
                       "': no server available for connection");
    CHECK(RedactedUrl("nats://tok@a:1,nats://b:2") == "nats://***@a:1,nats://b:2");

    auto plain = Link(server);
    CHECK(!CreateNatsRun(*plain, "nojs", 1'000'000'000, &error));
    CHECK(error == "JetStream is not enabled on the broker at '" + server.url() + "' (start nats-server with -js)");
    CHECK(!CreateNatsRun(*plain, "bad_id", 1'000'000'000, &error));
    CHECK(error == "invalid run id 'bad_id' (1 to 32 letters and digits)");

    Server js;
    auto link = Link(js, /*broker_wait_ms=*/500);
    MakeRun(*link, "lost", 1);
    auto q = Open(link, "lost", 1, 1);
    js.Stop(SIGKILL);
    Lease lease;
    const auto lost = Clock::now();
    CHECK(q->Pop(0, &lease, PopMode::kWait) == QueueStatus::kClosed);
    CHECK(Seconds(lost) < 1.5);  // a request that was under way, then the broker's wait
    CHECK(q->error() == "lost the broker at '" + js.url() + "' for more than 500 ms");
    CHECK(q->Push(0, Batch({"r"}, 1)) == QueueStatus::kClosed);
  }

  // Not a check: the figures for issue 8 (run with --no-skip).
  TEST_CASE("throughput: batches of 4096 records against one message per record" * doctest::skip()) {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    MakeRun(*Link(server), "rate", 2);
    const std::string record(100, 'r');
    constexpr int kRecords = 1'000'000;
    auto run = [&](size_t edge, int per_batch, int records) {
      const auto start = Clock::now();
      std::thread producer([&] {
        auto q = Open(Link(server), "rate", 1, 1, edge);
        RecordBatch b;
        for (int i = 1; i <= records; ++i) {
          b.Add(record, i, i);
          if (static_cast<int>(b.size()) == per_batch || i == records) {
            REQUIRE(q->Push(0, b) == QueueStatus::kOk);
            b.Clear();
          }
        }
        q->EndOfStream(0);
      });
      auto q = Open(Link(server), "rate", 1, 1, edge);
      size_t n = Drain(*q).size();
      producer.join();
      CHECK(n == static_cast<size_t>(records));
      return records / Seconds(start);
    };
    MESSAGE("NatsQueue, batches of 4096 records of 100 bytes: " << run(0, 4096, kRecords) << " records/s");
    MESSAGE("NatsQueue, one record per batch: " << run(1, 1, 20'000) << " records/s");
    MESSAGE("plain JetStream, one message per record: " << OneMessagePerRecord(server, 200'000) << " records/s");
  }
}

}  // namespace flow::nats_queue_test

#endif  // FLOWRUN_NATS
