// The hand-back book (runtime/hand_back_book.h): notes taken and forgotten,
// a full page, what a process that died without forgetting left for another
// to read, the daemon's reading of a part's memfd; and, against a real
// nats-server, a batch held by a consumer that "died" handed back by
// another connection and taken again at once, well within its ack wait.
#include <doctest/doctest.h>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "runtime/hand_back_book.h"
#include "runtime/nats_queue.h"
// Its helpers are for the queue's own tests; this one uses a few.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "tests/runtime/nats_test_support.h"
#pragma GCC diagnostic pop

namespace flow::hand_back_book_test {

// A book of `slots` pages; the test stops when it cannot be made.
std::unique_ptr<HandBackBook> NewBook(size_t slots) {
  std::string error;
  auto book = HandBackBook::Create(slots, &error);
  REQUIRE_MESSAGE(book != nullptr, error);
  return book;
}

TEST_CASE("a note lasts until it is forgotten; TakeAll reads and clears the rest") {
  auto book = NewBook(3);
  CHECK(book->slots() == 3);
  const HandBackPage page = book->page(1);
  const int a = page.Note("$JS.ACK.E0.c.1.10.10.0.5");
  const int b = page.Note("$JS.ACK.E0.c.1.11.11.0.4");
  REQUIRE(a >= 0);
  REQUIRE(b >= 0);
  CHECK(a != b);
  page.Forget(a);
  CHECK(book->page(0).TakeAll().empty());  // another slot's page
  CHECK(page.TakeAll() == std::vector<std::string>{"$JS.ACK.E0.c.1.11.11.0.4"});
  CHECK(page.TakeAll().empty());  // taken once
  page.Forget(-1);  // a batch noted nowhere: nothing to forget
}

TEST_CASE("a full page, a reply too long and the empty page note nothing") {
  auto book = NewBook(1);
  const HandBackPage page = book->page(0);
  for (size_t i = 0; i < HandBackBook::kNotesPerSlot; ++i) CHECK(page.Note(("r" + std::to_string(i)).c_str()) >= 0);
  CHECK(page.Note("one more") == -1);
  CHECK(page.TakeAll().size() == HandBackBook::kNotesPerSlot);
  CHECK(page.Note(std::string(HandBackBook::kReplyBytes + 1, 'x').c_str()) == -1);
  CHECK(page.Note(std::string(HandBackBook::kReplyBytes, 'x').c_str()) >= 0);
  CHECK(book->page(1).Note("past the last slot") == -1);
  CHECK(HandBackPage().Note("the empty page") == -1);
  CHECK(HandBackPage().TakeAll().empty());
}

TEST_CASE("what a process noted before it died is read by the one that outlives it, in the worker's memfd") {
  // As a worker's daemon does: the memfd is made here and adopted by the
  // "part" (a child), whose own child notes and dies; the daemon reads it
  // after both are gone.
  const int fd = memfd_create("test-hand-back", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  std::string error;
  CHECK(HandBackBook::Read(fd, &error) == nullptr);  // not sized yet: nothing ran
  CHECK(error.empty());
  const pid_t part = fork();
  REQUIRE(part >= 0);
  if (part == 0) {
    std::string e;
    auto book = HandBackBook::Adopt(dup(fd), 4, &e);
    if (!book) _exit(2);
    const pid_t instance = fork();
    if (instance == 0) {
      const HandBackPage page = book->page(2);
      page.Note("held and never answered");
      page.Forget(page.Note("answered"));
      _exit(0);  // dies holding the first
    }
    int status = 0;
    waitpid(instance, &status, 0);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 3);
  }
  int status = 0;
  REQUIRE(waitpid(part, &status, 0) == part);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  auto book = HandBackBook::Read(fd, &error);
  REQUIRE_MESSAGE(book != nullptr, error);
  CHECK(book->slots() == 4);
  CHECK(book->TakeAll() == std::vector<std::string>{"held and never answered"});
  CHECK(book->TakeAll().empty());
  close(fd);
}

TEST_CASE("the worker's word to leave wakes the instances that wait for it, in other processes") {
  auto book = NewBook(2);
  std::vector<pid_t> waiting;
  for (int i = 0; i < 3; ++i) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      book->WaitForLeave();
      _exit(0);
    }
    waiting.push_back(pid);
  }
  usleep(20'000);
  for (pid_t pid : waiting) CHECK(waitpid(pid, nullptr, WNOHANG) == 0);  // still waiting
  book->AskToLeave();
  for (pid_t pid : waiting) {
    int status = -1;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(status == 0);
  }
  book->WaitForLeave();  // asked already: returns at once
}

#ifdef FLOWRUN_NATS

using nats_queue_test::Batch;
using nats_queue_test::Contents;
using nats_queue_test::Link;
using nats_queue_test::MakeRun;
using nats_queue_test::Server;

// A run of one edge whose ack wait (30 s) no test waits for: a batch taken
// again within seconds was handed back.
void MakeSlowAckRun(const Server& server, const std::string& run) {
  MakeRun(*Link(server), run, 1, NatsEdgeOptions{.ack_wait_ns = 30'000'000'000});
}

// An edge of run `run` with 2 consumers that fetch one batch at a time (a
// dead one's inbox takes nothing more: nats_queue_test.cc says why), whose
// notes go to `page`.
std::unique_ptr<NatsQueue> OpenNoting(const Server& server, const std::string& run, int64_t poll_ms,
                                      const HandBackPage& page) {
  NatsQueueOptions o;
  o.run = run;
  o.consumers = 2;
  o.fetch_batch = 1;
  o.poll_ms = poll_ms;
  o.hand_back = page;
  std::string error;
  auto q = NatsQueue::Open(Link(server), o, &error);
  REQUIRE_MESSAGE(q != nullptr, error);
  return q;
}

TEST_CASE("a reply subject names its batch's place on the edge, in either form the servers use") {
  CHECK(AckSubjectSequence("$JS.ACK.FLOW_r_E0.takers.1.45.44.1796559537428267.3") == 45);
  CHECK(AckSubjectSequence("$JS.ACK.dom.ACCHASH.FLOW_r_E0.takers.2.7.9.1796559537428267.0.x1") == 7);
  CHECK(AckSubjectSequence("$JS.ACK.FLOW_r_E0.takers.1.4x.44.1.3") == 0);
  CHECK(AckSubjectSequence("_INBOX.abc.1") == 0);
  CHECK(AckSubjectSequence("") == 0);
}

TEST_CASE("a batch noted by a consumer that died is handed back by another connection and taken at once") {
  Server server;
  SKIP_WITHOUT_SERVER(server);
  MakeSlowAckRun(server, "handback");
  auto book = NewBook(2);
  auto dies = OpenNoting(server, "handback", 20, book->page(0));
  auto lives = OpenNoting(server, "handback", 3000, book->page(1));
  REQUIRE(dies->Push(0, Batch({"a", "b"}, 1, 9)) == QueueStatus::kOk);
  dies->EndOfStream(0);
  Lease first, second;
  REQUIRE(dies->Pop(0, &first, PopMode::kWait) == QueueStatus::kOk);
  dies->StopHeartbeat();  // as its death would; the queue is kept, not settled
  const std::vector<std::string> held = book->page(0).TakeAll();
  REQUIRE(held.size() == 1);
  CHECK(held[0].rfind("$JS.ACK.", 0) == 0);
  auto replacement = Link(server);
  CHECK(HandBack(*replacement, held) == 1);
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(lives->Pop(1, &second, PopMode::kWait) == QueueStatus::kOk);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(waited < 2.0);
  CHECK(second.ticket() == first.ticket());
  CHECK(second.attempt() == 2);
  CHECK(Contents(second) == std::vector<std::string>{"a", "b"});
  CHECK(book->page(1).TakeAll().size() == 1);  // the live one's note, until its ack
  lives->Ack(1, &second);
  CHECK(lives->Pop(1, &second, PopMode::kWait) == QueueStatus::kEnd);
}

TEST_CASE("a dead consumer's batches are handed back in their order on the edge, whatever order they were noted in") {
  // An [ordered] stage's turns wait for the earliest: the first pull after
  // the hand-back must get it (runtime/hand_back_book.h).
  Server server;
  SKIP_WITHOUT_SERVER(server);
  MakeSlowAckRun(server, "inorder");
  auto book = NewBook(1);
  auto dies = OpenNoting(server, "inorder", 20, book->page(0));
  auto lives = OpenNoting(server, "inorder", 3000, HandBackPage());
  for (int64_t i = 1; i <= 3; ++i) REQUIRE(dies->Push(0, Batch({"r" + std::to_string(i)}, i)) == QueueStatus::kOk);
  dies->EndOfStream(0);
  Lease first, second;
  REQUIRE(dies->Pop(0, &first, PopMode::kWait) == QueueStatus::kOk);
  REQUIRE(dies->Pop(0, &second, PopMode::kWait) == QueueStatus::kOk);
  dies->StopHeartbeat();
  std::vector<std::string> held = book->page(0).TakeAll();
  REQUIRE(held.size() == 2);
  if (AckSubjectSequence(held[0]) < AckSubjectSequence(held[1])) std::swap(held[0], held[1]);  // the later first
  CHECK(HandBack(*Link(server), held) == 2);
  Lease again;
  for (const Lease* want : {&first, &second}) {
    REQUIRE(lives->Pop(1, &again, PopMode::kWait) == QueueStatus::kOk);
    CHECK(again.ticket() == want->ticket());
    CHECK(again.attempt() == 2);
    lives->Ack(1, &again);
  }
  REQUIRE(lives->Pop(1, &again, PopMode::kWait) == QueueStatus::kOk);
  CHECK(Contents(again) == std::vector<std::string>{"r3"});
  lives->Ack(1, &again);
  CHECK(lives->Pop(1, &again, PopMode::kWait) == QueueStatus::kEnd);
}

#endif  // FLOWRUN_NATS

}  // namespace flow::hand_back_book_test
