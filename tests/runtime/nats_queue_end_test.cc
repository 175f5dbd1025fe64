// The end of a NATS JetStream edge (runtime/nats_queue_end.cc and the
// producers' books) against a real nats-server that each test starts on
// loopback: a consumer sees the end from its producers' signals or books,
// from its producers' input's drain (looked at as soon as it is heard, and
// said by a replica for its output), not while a batch is held anywhere,
// and not after a producer failed; the books that say a producer ended are
// confirmed when it settles, the periodic ones are best effort. The rest of
// the edge: nats_queue_test.cc. Skipped, with a message, when nats-server
// is not installed.
#ifdef FLOWRUN_NATS

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/nats_queue.h"
#include "tests/runtime/nats_test_support.h"

namespace flow::nats_queue_test {

// A replica's ends: it takes edge 0 and makes edge 1, which ends on edge
// 0's drain (AlsoSayDrainedOf); edge 0's source; and the next stage, which
// does not listen to edge 0 (upstream -1) and looks at the end every 2 s
// only: edge 1's word is all it gets. Each on a connection of its own.
struct ReplicaAndNext {
  ReplicaAndNext(const Server& server, const std::string& run)
      : replica(Link(server)), source(Link(server)), next(Link(server)) {
    MakeRun(*replica, run, 2);
    input = Open(replica, run, 1, 1, 0);
    output = Open(replica, run, 1, 1, 1, 2000, 4, 0);
    input->AlsoSayDrainedOf(output.get());
    from = Open(source, run, 1, 1, 0);
    after = Open(next, run, 1, 1, 1, 2000, 4, -1);
  }
  // "a" from the source, which ends; the replica takes it, publishes "A",
  // then acknowledges "a".
  void OneRecordThrough() {
    REQUIRE(from->Push(0, Batch({"a"}, 1)) == QueueStatus::kOk);
    from->EndOfStream(0);
    Lease lease;
    REQUIRE(input->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
    REQUIRE(output->Push(0, Batch({"A"}, 1, 1)) == QueueStatus::kOk);
    input->Ack(0, &lease);
  }
  std::shared_ptr<NatsLink> replica, source, next;
  std::unique_ptr<NatsQueue> input, output, from, after;
};

// A Pop that should end, on a thread of its own (`pop`): `ended` says it
// did.
struct EndWatch {
  explicit EndWatch(std::function<void()> pop) : thread([this, pop] {
    pop();
    ended = true;
  }) {}
  // Whether it ended within `limit`. If not, and `unblock` is given, that
  // queue's producer 0 ends (the test fails, but ends). Joined either way.
  bool EndedWithin(std::chrono::milliseconds limit, NatsQueue* unblock = nullptr) {
    const bool in_time = Eventually(ended, limit);
    if (!in_time && unblock != nullptr) unblock->EndOfStream(0);
    thread.join();
    return in_time;
  }
  std::atomic<bool> ended{false};  // (before the thread, which sets it)
  std::thread thread;
};

TEST_SUITE("nats_queue_end") {
  TEST_CASE("the end of stream waits for a batch another consumer holds") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server);
    MakeRun(*link, "hold", 1);
    auto q = Open(link, "hold", 1, 2);
    REQUIRE(q->Push(0, Batch({"x"}, 1)) == QueueStatus::kOk);
    q->EndOfStream(0);
    Lease held, other;
    REQUIRE(q->Pop(0, &held, PopMode::kWait) == QueueStatus::kOk);
    CHECK(q->Pop(1, &other, PopMode::kNoWait) == QueueStatus::kEmpty);
    q->Ack(0, &held);
    // Consumer 0 first: it may hold the end hints it fetched with the batch.
    CHECK(q->Pop(0, &other, PopMode::kWait) == QueueStatus::kEnd);
    CHECK(q->Pop(1, &other, PopMode::kNoWait) == QueueStatus::kEnd);
  }

  TEST_CASE("a consumer that starts after its producers ended sees the end from their books, not a poll later") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    MakeRun(*Link(server), "late", 1);
    {
      auto producer = Open(Link(server), "late", 1, 1);
      REQUIRE(producer->Push(0, Batch({"a"}, 1)) == QueueStatus::kOk);
      REQUIRE(producer->Push(0, Batch({"b"}, 2)) == QueueStatus::kOk);
      producer->EndOfStream(0);  // its end signal goes by: nobody listens yet
    }
    // A poll of 5 s: an end seen sooner came from the books, read once
    // after the first pull request.
    auto consumer = Open(Link(server), "late", 1, 1, 0, /*poll_ms=*/5000, /*fetch_batch=*/1);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::string> got;
    Lease lease;
    QueueStatus status;
    while ((status = consumer->Pop(0, &lease, PopMode::kWait)) == QueueStatus::kOk) {
      for (const std::string& r : Contents(lease)) got.push_back(r);
      consumer->Ack(0, &lease);
    }
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(status == QueueStatus::kEnd);
    CHECK(got == std::vector<std::string>{"a", "b"});
    CHECK(took < std::chrono::milliseconds(2500));
  }

  TEST_CASE("an edge whose producers' input is drained ends without their end; their input's producers are not its own") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server), other = Link(server);
    MakeRun(*link, "up", 2);
    // Edge 1's producer works on edge 0's leases; it never says it ended.
    auto out = Open(link, "up", 1, 1, 1, 2000, 4, 0);
    auto in = Open(other, "up", 1, 1, 0);
    REQUIRE(out->Push(0, Batch({"made"}, 1)) == QueueStatus::kOk);
    Lease lease;
    REQUIRE(out->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
    out->Ack(0, &lease);
    CHECK(out->Pop(0, &lease, PopMode::kNoWait) == QueueStatus::kEmpty);
    EndWatch consumer([&] { CHECK(out->Pop(0, &lease, PopMode::kWait) == QueueStatus::kEnd); });
    // Edge 0's producer ends: its end signal names producer 0, which is
    // not edge 1's producer 0.
    in->EndOfStream(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    CHECK_FALSE(consumer.ended.load());
    // Edge 0 drained (its consumer says so to every listener): edge 1 ends
    // now, not a poll (2 s) later.
    Lease none;
    CHECK(in->Pop(0, &none, PopMode::kWait) == QueueStatus::kEnd);
    CHECK(consumer.EndedWithin(std::chrono::seconds(1), out.get()));
  }

  TEST_CASE("an upstream's drain is looked into as it is heard, by a consumer not in Pop; its siblings are told") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server), other = Link(server), third = Link(server);
    MakeRun(*link, "early", 2);
    // Consumer 0 of edge 1 listens to edge 0's drain, but is busy elsewhere
    // (no Pop) when it comes. Consumer 1 does not listen to it, and looks
    // at the end only every 2 s.
    auto looking = Open(link, "early", 1, 2, 1, 2000, 4, 0);
    auto waiting = Open(third, "early", 1, 2, 1, 2000, 4, -1);
    auto in = Open(other, "early", 1, 1, 0);
    Lease lease;
    CHECK(looking->Pop(0, &lease, PopMode::kNoWait) == QueueStatus::kEmpty);  // subscribed
    EndWatch consumer([&] {
      Lease none;
      CHECK(waiting->Pop(1, &none, PopMode::kWait) == QueueStatus::kEnd);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    in->EndOfStream(0);
    Lease none;
    CHECK(in->Pop(0, &none, PopMode::kWait) == QueueStatus::kEnd);  // edge 0 drained: its word goes out
    // The busy consumer's heartbeat looks and finds edge 1 drained, and
    // says so: consumer 1 ends now, not at its look 2 s later (where it
    // would not end either: edge 1's producer never said it ended).
    CHECK(consumer.EndedWithin(std::chrono::milliseconds(1000), looking.get()));
    CHECK(looking->Pop(0, &lease, PopMode::kWait) == QueueStatus::kEnd);
  }

  TEST_CASE("a replica that finds its input drained says first that its output, drained too, has ended; its consumer wakes at once") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    ReplicaAndNext r(server, "both");
    r.OneRecordThrough();
    std::vector<std::string> got;
    EndWatch consumer([&] { got = Drain(*r.after); });
    // The next stage takes "A" and acknowledges it; then the replica finds
    // edge 0 drained, and edge 1 too.
    Lease none;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const uint64_t published = r.next->Published();  // the next stage waits on its inbox
    CHECK(r.input->Pop(0, &none, PopMode::kWait) == QueueStatus::kEnd);
    CHECK(consumer.EndedWithin(std::chrono::milliseconds(1000), r.output.get()));
    CHECK(got == std::vector<std::string>{"A"});
    // Woken as its inbox closed: no wake relayed to it through the broker
    // (a message), no look at the end (a request).
    CHECK(r.next->Published() == published);
    // A later Pop ends as well, and the queue settles quietly.
    CHECK(r.after->Pop(0, &none, PopMode::kWait) == QueueStatus::kEnd);
    r.after->Settle(true);
    CHECK(r.after->error().empty());
  }

  TEST_CASE("an output still held downstream is not said drained with its input") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    ReplicaAndNext r(server, "held");
    r.OneRecordThrough();
    Lease downstream, none;
    REQUIRE(r.after->Pop(0, &downstream, PopMode::kWait) == QueueStatus::kOk);  // held, not acknowledged
    CHECK(r.input->Pop(0, &none, PopMode::kWait) == QueueStatus::kEnd);
    EndWatch consumer([&] {
      r.after->Ack(0, &downstream);
      CHECK(r.after->Pop(0, &none, PopMode::kWait) == QueueStatus::kEnd);
    });
    // No word for edge 1: its end comes from its producer's books, at the
    // next stage's look 2 s later, once the producer has ended.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    CHECK_FALSE(consumer.ended.load());
    r.output->EndOfStream(0);
    CHECK(consumer.EndedWithin(std::chrono::milliseconds(3000)));
  }

  TEST_CASE("an edge one of whose producers failed does not end on its input's drain") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server), other = Link(server), failing = Link(server);
    MakeRun(*link, "fail", 2);
    auto out = Open(link, "fail", 2, 1, 1, 50, 4, 0);
    auto in = Open(other, "fail", 1, 1, 0);
    // Producer 1 of edge 1 fails: what it held of edge 0 is dropped, not done.
    auto dead = Open(failing, "fail", 2, 1, 1, 50, 4, 0);
    dead->GiveUpHeld();
    in->EndOfStream(0);
    Lease none;
    CHECK(in->Pop(0, &none, PopMode::kWait) == QueueStatus::kEnd);  // edge 0 drained
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(out->Pop(0, &none, PopMode::kNoWait) == QueueStatus::kEmpty);
    // Once every producer has ended, as without the shortcut.
    out->EndOfStream(0);
    dead->EndOfStream(1);
    CHECK(out->Pop(0, &none, PopMode::kWait) == QueueStatus::kEnd);
  }

  TEST_CASE("an end confirmed at Settle: stored and read by others; refused, the queue fails") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server), other = Link(server);
    MakeRun(*link, "later", 1);
    auto q = Open(link, "later", 1, 1);
    q->ConfirmEndsAtSettle();
    REQUIRE(q->Push(0, Batch({"x"}, 1)) == QueueStatus::kOk);
    q->EndOfStream(0);
    q->Settle(false);
    CHECK(q->error() == "");
    auto reader = Open(other, "later", 1, 1);
    CHECK(reader->PublishedBy(0).ended);
    CHECK(Drain(*reader) == std::vector<std::string>{"x"});

    // The run's bucket gone before the end: the books cannot be stored.
    MakeRun(*link, "gone", 1);
    auto lost = Open(link, "gone", 1, 1);
    lost->ConfirmEndsAtSettle();
    REQUIRE(lost->Push(0, Batch({"y"}, 1)) == QueueStatus::kOk);
    std::string error;
    REQUIRE(RemoveNatsRun(*link, "gone", &error));
    lost->EndOfStream(0);
    lost->Settle(false);
    CHECK(lost->error().find("ended") != std::string::npos);
  }

  TEST_CASE("periodic books refused do not fail a producer (they may lag); its end's books refused do, at Settle") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server);
    MakeRun(*link, "small", 1);
    // The run's bucket takes no value as long as a producer's books.
    const std::string bucket_stream = "KV_" + NatsBucketName("small");
    jsStreamInfo* si = nullptr;
    REQUIRE(js_GetStreamInfo(&si, link->js(), bucket_stream.c_str(), nullptr, nullptr) == NATS_OK);
    si->Config->MaxMsgSize = 8;
    jsStreamInfo* updated = nullptr;
    REQUIRE(js_UpdateStream(&updated, link->js(), si->Config, nullptr, nullptr) == NATS_OK);
    jsStreamInfo_Destroy(updated);
    jsStreamInfo_Destroy(si);
    auto q = Open(link, "small", 1, 1);
    q->ConfirmEndsAtSettle();
    for (int64_t i = 1; i <= 3; ++i) {
      CHECK_MESSAGE(q->Push(0, Batch({"r" + std::to_string(i)}, i)) == QueueStatus::kOk, q->error());
      std::this_thread::sleep_for(std::chrono::milliseconds(250));  // the books are due at the next push
    }
    CHECK(q->error() == "");
    q->EndOfStream(0);
    q->Settle(false);
    CHECK(q->error().find("cannot record that a producer of") != std::string::npos);
    CHECK(q->error().find("ended") != std::string::npos);
  }

  TEST_CASE("books sent every 200 ms without a wait: read by others, confirmed at Settle") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server), other = Link(server);
    MakeRun(*link, "paced", 1);
    auto q = Open(link, "paced", 1, 1);
    q->ConfirmEndsAtSettle();
    REQUIRE(q->Push(0, Batch({"a"}, 1)) == QueueStatus::kOk);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    REQUIRE(q->Push(0, Batch({"b"}, 2)) == QueueStatus::kOk);  // the books are due: sent
    auto reader = Open(other, "paced", 1, 1);
    const auto sent = Clock::now();
    while (reader->PublishedBy(0).records < 2 && Seconds(sent) < 2) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(reader->PublishedBy(0).records == 2);
    CHECK_FALSE(reader->PublishedBy(0).ended);
    q->EndOfStream(0);
    q->Settle(false);
    CHECK(q->error() == "");
    CHECK(reader->PublishedBy(0).ended);
  }

  TEST_CASE("a stage's acks, then its end confirmed at Settle: the broker has read them all, no flush needed") {
    Server server;
    SKIP_WITHOUT_SERVER(server);
    auto link = Link(server), other = Link(server);
    MakeRun(*link, "read", 2);
    // A stage's two edges on one link, as in a replica: it takes from edge
    // 0, acks (buffered), publishes to edge 1, and ends there.
    auto in = Open(link, "read", 1, 1, 0);
    auto out = Open(link, "read", 1, 1, 1);
    out->ConfirmEndsAtSettle();
    auto feeder = Open(other, "read", 1, 1, 0);
    REQUIRE(feeder->Push(0, Batch({"a"}, 1)) == QueueStatus::kOk);
    REQUIRE(feeder->Push(0, Batch({"b"}, 2)) == QueueStatus::kOk);
    feeder->EndOfStream(0);
    Lease lease;
    for (int i = 0; i < 2; ++i) {
      REQUIRE(in->Pop(0, &lease, PopMode::kWait) == QueueStatus::kOk);
      REQUIRE(out->Push(0, Batch({"x"}, i + 1)) == QueueStatus::kOk);
      in->Ack(0, &lease);
    }
    CHECK(in->Pop(0, &lease, PopMode::kWait) == QueueStatus::kEnd);
    CHECK(!link->AllPublishedRead());  // acks out, nothing answered after them
    out->EndOfStream(0);
    in->Settle(false);
    out->Settle(false);
    REQUIRE(out->error() == "");
    // The books went after the acks and were answered: no flush needed.
    CHECK(link->AllPublishedRead());
    CHECK(Open(other, "read", 1, 1, 1)->PublishedBy(0).ended);
    // Anything published after the books leaves the link unconfirmed.
    natsConnection_PublishString(link->connection(), "flowrun.test.after", "x");
    CHECK(!link->AllPublishedRead());
  }
}

}  // namespace flow::nats_queue_test

#endif  // FLOWRUN_NATS
