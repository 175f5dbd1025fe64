#include "runtime/broker_order_gate.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <limits>

#include "runtime/nats_queue.h"
#include "runtime/nats_run.h"

namespace flow {
namespace {

// The key a replica that gave up on order puts ("o<node>.abandoned").
constexpr const char* kAbandoned = "abandoned";
// How long one wait for a turn's message lasts before the bucket is read
// instead (a message lost) and the input queue looked at (stopped?).
constexpr int64_t kTurnWaitMs = 100;
// The first wait is shorter: a key put just before the replica listened may
// be stored a moment after its look (JetStream stores a put after the
// broker has passed on the core message that followed it).
constexpr int64_t kFirstTurnWaitMs = 5;
// How much longer than an ack wait a replacement waits before it takes:
// nats-server looks for batches past their ack wait when the oldest one's
// is over, and hands them out from then on.
constexpr int64_t kRedeliveryMarginMs = 250;

// The prefix of node `node`'s keys in the run's bucket.
std::string KeyPrefix(size_t node) { return "o" + std::to_string(node) + "."; }

}  // namespace

std::unique_ptr<BrokerOrderGate> BrokerOrderGate::Open(NatsLink& link, const std::string& run, size_t node,
                                                       NatsQueue* input, bool replaces) {
  const std::string prefix = KeyPrefix(node);
  return std::unique_ptr<BrokerOrderGate>(
      new BrokerOrderGate(link, run, prefix, "flow." + run + "." + prefix + "turn", input, replaces));
}

BrokerOrderGate::BrokerOrderGate(NatsLink& link, const std::string& run, std::string prefix, std::string subject,
                                 NatsQueue* input, bool replaces)
    : link_(link),
      keys_(link, NatsBucketName(run)),
      prefix_(std::move(prefix)),
      subject_(std::move(subject)),
      input_(input),
      awaits_dead_ones_(replaces) {}

BrokerOrderGate::~BrokerOrderGate() = default;

QueueStatus BrokerOrderGate::Take(Queue& queue, int consumer, Lease* lease, uint64_t* position) {
  if (awaits_dead_ones_) AwaitDeadOnesBatches();
  const QueueStatus status = queue.Pop(consumer, lease, PopMode::kWait);
  if (status != QueueStatus::kOk) return status;
  // The ticket of a lease on a broker is its batch's stream sequence,
  // from 1 (NatsQueue).
  *position = lease->ticket() > 0 ? lease->ticket() - 1 : 0;
  // Listening for this position's turn from now on, while the stage works
  // on the lease: a turn passed after the broker has the subscription is
  // then heard by the time the outputs are ready, and no request asks
  // whether it passed (WaitTurn).
  if (turn_.load() < *position) {
    auto turns = std::make_unique<NatsSubscription>(link_, TurnSubject(*position));
    std::lock_guard lock(mu_);
    listening_.emplace_back(*position, std::move(turns));
  }
  return status;
}

void BrokerOrderGate::AwaitDeadOnesBatches() {
  awaits_dead_ones_ = false;
  // Started after the death, so an ack wait from now is past the ack wait
  // of everything the dead one held (its heartbeats stopped with it).
  using Clock = std::chrono::steady_clock;
  const Clock::time_point until = Clock::now() + std::chrono::milliseconds(StuckAfterMs());
  for (Clock::time_point now = Clock::now(); now < until && !input_->Stopping(); now = Clock::now()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
    nats_Sleep(std::min<int64_t>(kTurnWaitMs, left + 1));
  }
}

int64_t BrokerOrderGate::StuckAfterMs() const { return input_->ack_wait_ms() + kRedeliveryMarginMs; }

std::string BrokerOrderGate::TurnSubject(uint64_t position) const {
  return subject_ + "." + std::to_string(position);
}

void BrokerOrderGate::Raise(uint64_t turn) {
  uint64_t seen = turn_.load();
  while (seen < turn && !turn_.compare_exchange_weak(seen, turn)) {
  }
}

void BrokerOrderGate::Note(const std::string& said) {
  Raise(said == kAbandoned ? std::numeric_limits<uint64_t>::max() : std::strtoull(said.c_str(), nullptr, 10));
}

void BrokerOrderGate::WaitTurn(uint64_t position) {
  // Heard while the stage worked (Take listened): half the leases of the
  // whois example; not in a run's first wave, whose replicas take their
  // leases together and finish together, nor when a replica finishes
  // before the one that took the batch before its own.
  std::unique_ptr<NatsSubscription> turns;
  {
    std::lock_guard lock(mu_);
    for (auto it = listening_.begin(); it != listening_.end(); ++it) {
      if (it->first != position) continue;
      turns = std::move(it->second);
      listening_.erase(it);
      break;
    }
  }
  std::string value;
  if (turns) {
    while (turn_.load() < position && turns->Next(&value)) Note(value);
  }
  if (turn_.load() >= position) return;
  // Not heard yet: passed before the broker had our subscription, or still
  // to come. One look at the bucket tells (Done puts the key before it
  // sends the message), then the message is waited for. Listening to every
  // turn all the time instead cost each replica a message per position, 24
  // replicas each woken for each of the 240 positions of the whois example:
  // a third of the run's CPU; looking at the bucket at every lease cost a
  // request and its answer per position.
  if (!turns) turns = std::make_unique<NatsSubscription>(link_, TurnSubject(position));
  // The first look at the key is answered on the turn's own subject: the
  // message or the key, whichever comes first, ends the wait. Asked and
  // waited for in turn, the answer held up a turn that came meanwhile, a
  // part of a round trip per position on a loaded broker (at the end of a
  // run, one after another along the chain of the last positions).
  int64_t away_ms = 0;
  int looks = turns->ok() && AskForKeyOnTurnSubject(position) ? 1 : 0;  // the first look is out
  while (turn_.load() < position) {
    if (looks > 0) {
      const int64_t wait_ms = looks == 1 ? kFirstTurnWaitMs : kTurnWaitMs;
      if (turns->ok()) {
        if (turns->Next(&value, wait_ms)) {
          Note(value);
          continue;
        }
      } else {
        nats_Sleep(wait_ms);  // not listening: the key alone, at the same pace
      }
    }
    ++looks;
    // No message for a while (or not listening yet): one lost, or passed
    // before we listened. An abandoned order has only its key (nobody
    // waits for one but at the end of a stopped run, where the stopped
    // input below ends the wait anyway): looked at after the first waits.
    if (Has(prefix_ + "done." + std::to_string(position - 1))) Note(std::to_string(position));
    if (looks > 2 && Has(prefix_ + kAbandoned)) Note(kAbandoned);
    if (looks > 2 && turn_.load() < position && SkippedUpTo(position)) Note(std::to_string(position));
    if (turn_.load() >= position) break;
    // A stopped input (cancel, close): its outputs are cancelled too, and
    // nobody is left to wait for. A broker away for longer than the link
    // waits for it: the publish that follows fails the run, with its reason.
    away_ms = link_.connected() ? 0 : away_ms + kTurnWaitMs;
    if (input_->Stopping() || away_ms > link_.broker_wait_ms()) break;
  }
}

bool BrokerOrderGate::SkippedUpTo(uint64_t position) {
  for (uint64_t before = position; before > 0 && Has(prefix_ + "skip." + std::to_string(before - 1)); --before) {
    if (before == 1 || Has(prefix_ + "done." + std::to_string(before - 2))) return true;
  }
  return false;
}

bool BrokerOrderGate::Skip(NatsLink& link, const std::string& run, size_t node, uint64_t position,
                           std::string* error) {
  const std::string key = KeyPrefix(node) + "skip." + std::to_string(position);
  const natsStatus s = RunBucket(link, NatsBucketName(run)).Put(key, "1");
  if (s != NATS_OK) *error = link.Describe("cannot skip a position of an [ordered] stage", s);
  return s == NATS_OK;
}

bool BrokerOrderGate::AskForKeyOnTurnSubject(uint64_t position) {
  // Read straight from the bucket's stream (the last message on the key's
  // subject), the answer sent to the turn's subject: the value (Done puts
  // the turn it passes, as its message says), or an empty "not found".
  const std::string key_subject = keys_.KeySubject(prefix_ + "done." + std::to_string(position - 1));
  const std::string request = "$JS.API.DIRECT.GET." + keys_.stream() + "." + key_subject;
  return natsConnection_PublishRequestString(link_.connection(), request.c_str(), TurnSubject(position).c_str(), "") ==
         NATS_OK;
}

bool BrokerOrderGate::Has(const std::string& key) {
  return keys_.Get(key) == NATS_OK;
}

void BrokerOrderGate::Done(uint64_t position) {
  Raise(position + 1);
  // The key first, for good (one per position: puts from several replicas
  // may land in any order, and a single key could go back to an older
  // turn), where the next replica looks if it did not hear the message.
  // Not waiting for the broker's answer (a round trip before this
  // replica's Ack and its next pull, on every record): it goes on the
  // connection before the message, and is kept through a reconnection as
  // the message is.
  // Its value is the turn passed, as the message's: a look whose answer
  // comes on the turn's subject reads as the message (WaitTurn).
  const std::string next = std::to_string(position + 1);
  keys_.PutUnanswered(prefix_ + "done." + std::to_string(position), next);
  // Then the message, to the one replica that holds the next position.
  natsConnection_PublishString(link_.connection(), TurnSubject(position + 1).c_str(), next.c_str());
}

void BrokerOrderGate::Abandon() {
  Raise(std::numeric_limits<uint64_t>::max());
  keys_.PutUnanswered(prefix_ + kAbandoned, "1");
}

}  // namespace flow
