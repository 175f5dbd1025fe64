// What each stage instance on a broker holds and has not acknowledged, kept
// where its death does not take it: the reply subjects of the batches it
// fetched, in shared memory that its supervisor (and, on a worker, the
// worker's daemon) keeps mapped.
//
// Why: a batch whose holder dies goes to another consumer only after the
// edge's ack wait (5 s, or the stage's [timeout] when longer), since the broker
// cannot tell a dead consumer from a slow one. Whoever outlives the holder
// and has a connection hands its batches back at once with a NAK (an
// acknowledgement is a message to the batch's reply subject, which any
// connection may send):
//   - a replacement instance, as it starts, for the one it replaces
//     (a crash, the OOM killer, a [timeout]);
//   - `flowrun worker`, for a part that is gone (SIGTERM to the worker, a
//     part killed by a signal), whose instances the origin takes back.
// A note missed (the holder died between a fetch and its note, or the book
// was full) only leaves that batch to its ack wait, as before. An ask
// ahead (NatsQueue::AskAheadIn) is answered while the instance works on its
// lease: its heartbeat notes the answer as it comes (NatsQueue::
// NoteAnswersDue), within a millisecond or so. A worker that stops
// (SIGTERM) closes what is left of that gap first: it asks
// its parts' instances to leave (AskToLeave), and each notes what came
// and asks for nothing more (NatsQueue::Leave) before it is killed. A note left
// over (the holder died between its answer and forgetting the note; a
// note is forgotten before the answer, so only by a dying holder that
// answered nothing) names a batch that was acknowledged, or handed back
// already, or taken again under a new reply subject: the broker ignores a
// NAK to it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace flow {

// One instance's notes: a view into its book, copied freely. The empty
// page (default) notes nothing.
class HandBackPage {
 public:
  // A reply subject, noted until Forget: its note's index, or -1 when the
  // page is empty or full or the subject too long (its batch then waits
  // for its ack wait if this process dies).
  int Note(const char* reply) const;
  // Before the batch is answered (ack, NAK or term): see the file comment.
  void Forget(int note) const;
  // The notes of a dead holder, forgotten as they are read. Only while no
  // process writes this page: the holder is dead, and this process is its
  // replacement or outlives it.
  std::vector<std::string> TakeAll() const;

  struct Entry;  // one note (hand_back_book.cc)

 private:
  friend class HandBackBook;
  Entry* entries_ = nullptr;
};

class HandBackBook {
 public:
  // Notes per instance: an instance holds at most a few fetched batches
  // (4 for a fast stage, 1 for a slow one) and 8 leases per input.
  static constexpr size_t kNotesPerSlot = 32;
  // A JetStream reply subject is "$JS.ACK.<stream>.<consumer>" and seven
  // numbers: about 100 bytes for a run's edge.
  static constexpr size_t kReplyBytes = 248;

  // A book of `slots` pages in a memfd of its own (the origin).
  static std::unique_ptr<HandBackBook> Create(size_t slots, std::string* error);
  // A book of `slots` pages in `fd`, a memfd that another process made and
  // reads after this one's end (a worker's part: its daemon). Takes `fd`.
  static std::unique_ptr<HandBackBook> Adopt(int fd, size_t slots, std::string* error);
  // The book in `fd` as its writer sized it (the daemon, after the part
  // ended); none (null, no error) if it was never sized. Does not take `fd`.
  static std::unique_ptr<HandBackBook> Read(int fd, std::string* error);
  ~HandBackBook();
  HandBackBook(const HandBackBook&) = delete;
  HandBackBook& operator=(const HandBackBook&) = delete;

  size_t slots() const { return slots_; }
  // The worker's word to every instance of the part: note what you have
  // and ask for nothing more (wakes WaitForLeave in each).
  void AskToLeave() const;
  // Blocks until AskToLeave (an instance's thread of its own).
  void WaitForLeave() const;
  // Slot `slot`'s page; the empty page past the last slot.
  HandBackPage page(size_t slot) const;
  // Every page's notes (HandBackPage::TakeAll).
  std::vector<std::string> TakeAll() const;
  // Whether any page notes a batch, while its writers run: a worker that
  // stops waits for its instances to finish what they hold.
  bool Holds() const;

 private:
  HandBackBook(void* base, size_t bytes, size_t slots) : base_(base), bytes_(bytes), slots_(slots) {}
  static std::unique_ptr<HandBackBook> Map(int fd, size_t slots, bool size_it, std::string* error);

  void* base_;
  size_t bytes_;
  size_t slots_;
};

class NatsLink;
// Sends a NAK to each reply subject in `replies` on `link`, the batches in
// their order on the edge, and flushes them when it sent any (the broker
// has then read them: a process about to exit must not lose them in its
// buffer). Returns how many it sent.
//
// In order: the broker hands them out again first come, first served, and
// an [ordered] stage's turns wait for the earliest. Its siblings may all
// wait for that turn, each holding a later position and asking for
// nothing; the replacement's first pull then gets the earliest and the
// turns go on. In the order they were noted, the replacement once got a
// later one, waited for its turn too, and the earliest sat at the broker
// until a sibling took one more lease (an ack wait later).
size_t HandBack(NatsLink& link, const std::vector<std::string>& replies);
// The stream sequence (a batch's place on its edge) that a JetStream reply
// subject names ("$JS.ACK.<stream>.<consumer>.<delivered>.<sequence>..."),
// or 0 when it names none.
uint64_t AckSubjectSequence(const std::string& reply);

}  // namespace flow
