// The turns of an `[ordered]` stage whose replicas run on a broker, on the
// origin and on `flowrun worker`s alike (issue 8). One machine's OrderGate
// lives in its shared memory; these live on the broker:
//
//   - a lease's position is its batch's place on the edge: its stream
//     sequence, less 1 (the edge's stream holds batches only, and a
//     refused or duplicate publish takes no sequence). The same on every
//     machine and at every delivery: a batch redelivered after its holder
//     died goes out where it would have, and a replica that takes it has
//     its turn at once, since the turns stop exactly there;
//   - the turn is the position whose outputs may go out now. A replica
//     waits until it holds its position, publishes, and passes the next
//     one on: first as the key "o<node>.done.<position>" of the run's
//     bucket, then as a core NATS message on the position's own subject,
//     "flow.<run>.o<node>.turn.<position>". A replica listens to its
//     position's subject from the moment it takes the batch (Take), so
//     that the turn has often come by the time its outputs are ready
//     (half the leases of the whois example), and nothing is asked. If not, it looks for its predecessor's
//     key once (passed before the broker had the subscription), then
//     waits for the message (the turns are a chain, one link per batch,
//     and a link must then cost a fraction of a round trip), and looks at
//     the key again when no message came for a while (a key stored late,
//     or core NATS dropped one). Every replica listening to every turn
//     cost each of them a message per position; looking at the key at
//     every lease, a request and its answer per position (half of them
//     saved on the whois example).
//
// A replica may take its next lease while the last one waits for its turn
// on another thread (runtime/lease_finisher.h): each position taken keeps
// its own subscription until its WaitTurn.
//
// A replica that dies: its batches come back after their ack wait, to any
// replica that asks then. But its siblings may all hold later positions by
// then, waiting for the dead one's (each holds two: one waiting for its
// turn, one worked on), and ask for nothing. So a replacement does not
// ask before an ack wait (and a little) has gone by since it started
// (`replaces`): it is free when the dead one's batches come back, and the
// broker hands redeliveries out before new batches. A replica may then
// take a position below one it holds: the worker finishes that one first
// (runtime/worker.cc).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/nats_run.h"
#include "runtime/nats_subscription.h"
#include "runtime/run_bucket.h"
#include "runtime/run_control.h"

namespace flow {

class NatsLink;
class NatsQueue;

class BrokerOrderGate final : public OrderTurns {
 public:
  // Node `node`'s turns, `input` its input edge; `replaces`: for a
  // replica that replaces a dead one (its first Take waits). No request:
  // a run's bucket that is gone fails the looks at its keys.
  static std::unique_ptr<BrokerOrderGate> Open(NatsLink& link, const std::string& run, size_t node,
                                               NatsQueue* input, bool replaces);
  ~BrokerOrderGate() override;
  // Marks `position` of node `node`'s turns as one nobody will pass on:
  // its batch was taken out of the edge after its last delivery
  // (runtime/poison_watch.h). The replica after it finds the mark at one
  // of its slower looks (WaitTurn), as it finds an abandoned order.
  static bool Skip(NatsLink& link, const std::string& run, size_t node, uint64_t position, std::string* error);

  QueueStatus Take(Queue& queue, int consumer, Lease* lease, uint64_t* position) override;
  void WaitTurn(uint64_t position) override;
  void Done(uint64_t position) override;
  void Abandon() override;
  bool TakesWhileWaiting() const override { return true; }
  // An ack wait and a little: by then the dead holder's batch is back.
  int64_t StuckAfterMs() const override;

 private:
  BrokerOrderGate(NatsLink& link, const std::string& run, std::string prefix, std::string subject,
                  NatsQueue* input, bool replaces);
  // A replacement's first Take: after an ack wait, unless the input stops.
  void AwaitDeadOnesBatches();
  bool Has(const std::string& key);
  // Asks for the key that says `position` has its turn, the answer to come
  // on its turn's subject (where WaitTurn listens); false if not sent.
  bool AskForKeyOnTurnSubject(uint64_t position);
  // Whether the positions just before `position` were skipped, back to one
  // that is done or to the first: then `position` has its turn.
  bool SkippedUpTo(uint64_t position);
  // A turn heard or read: a position, or kAbandoned.
  void Note(const std::string& said);
  // The turn is at least `turn` (turns never go back).
  void Raise(uint64_t turn);
  // Where the message that `position` may go out is sent.
  std::string TurnSubject(uint64_t position) const;

  NatsLink& link_;
  // The run's bucket, used without a lookup (a request at each of 24
  // replicas' start).
  RunBucket keys_;
  std::string prefix_;                  // of the node's keys: "o<node>."
  std::string subject_;                 // of the turns: TurnSubject adds a position
  // The turns of the leases held, each from Take until its WaitTurn (two
  // at most: one being finished, one worked on).
  std::mutex mu_;
  std::vector<std::pair<uint64_t, std::unique_ptr<NatsSubscription>>> listening_;
  NatsQueue* input_;
  bool awaits_dead_ones_;          // a replacement that has not taken yet
  std::atomic<uint64_t> turn_{0};  // the latest turn seen
};

}  // namespace flow
