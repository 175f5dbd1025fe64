// `[retries = n]` on a broker (issue 8). A worker that dies on a record is
// counted by the recovery book of its machine (docs/fault-tolerance.md):
// after n + 1 deaths there the record goes to [on_error], alone. But a
// batch that comes back after its ack wait may go to another machine,
// whose book never saw it die. So the broker counts too: the edge into a
// stage lets it deliver one batch at most MaxDeliveries times, one more
// than the book ever needs on one machine, then the broker stops and only
// says so with an advisory ($JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.
// <stream>.<consumer>); the batch stays in the stream. Each of those
// deliveries ended in a death or a hang, on whichever machine.
//
// The keeper (runtime/broker_keeper.cc) watches those advisories for its run
// and takes each such batch out: reads it, deletes it from the stream, and
// reports every record in it to the supervisor as
//   poison <node> <deliveries> <nr> <record, escaped as for a dead letter>
// which applies the stage's [on_error] on the origin (Runner: fail, skip,
// or a line in the dead-letter file). Exact for the stages whose batches
// hold one record (exec, whois, sha512, sleep: BrokerBatchRecords), where
// poison records are to be expected; for the others, every record of the
// batch, innocent ones too, since no machine knows which one killed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/stage_graph.h"
#include "runtime/nats_subscription.h"

namespace flow {

class NatsLink;

// The deliveries the broker makes of one batch of edge `edge` before it
// gives up on it: the consuming stage's [retries] + 2 (a book sends the
// record to on_error at delivery retries + 2); + 3 when its batches hold many
// records (a death inside a run of records is blamed on none, so a book may
// need one delivery more). A batch of an [ordered] stage taken out has its
// position marked skipped, so that the turns go on past it
// (BrokerOrderGate::Skip).
int64_t MaxDeliveries(const StageGraph& graph, const QueueEdge& edge);

class PoisonWatch {
 public:
  // Subscribes before the first batch can be delivered. On failure the
  // watch sees nothing (`*error` says why); the run goes on.
  PoisonWatch(NatsLink& link, const StageGraph& graph, std::string run, std::string* error);
  PoisonWatch(const PoisonWatch&) = delete;
  PoisonWatch& operator=(const PoisonWatch&) = delete;

  // Takes out the batches of the advisories that have come, and returns
  // their "poison ..." lines for the supervisor; with `final`, first makes
  // sure that everything the broker sent before now has come (a round trip).
  std::vector<std::string> Check(bool final = false);

 private:
  void TakeOut(size_t edge, uint64_t sequence, int64_t deliveries, std::vector<std::string>* lines);

  NatsLink& link_;
  const StageGraph& graph_;
  std::string run_;
  NatsSubscription advisories_;
};

}  // namespace flow
