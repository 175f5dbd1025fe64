#include "runtime/broker_order_gate.h"

#include <cstdlib>
#include <limits>

#include "runtime/nats_queue.h"
#include "runtime/nats_run.h"

namespace flow {
namespace {

// What a turn's message says once a replica gave up on order.
constexpr const char* kAbandoned = "abandoned";
// How long one wait for a turn's message lasts before the bucket is read
// instead (a message lost) and the input queue looked at (stopped?).
constexpr int64_t kTurnWaitMs = 100;
// The first wait is shorter: a key put just before the replica listened may
// be stored a moment after its look (JetStream stores a put after the
// broker has passed on the core message that followed it).
constexpr int64_t kFirstTurnWaitMs = 5;

}  // namespace

std::unique_ptr<BrokerOrderGate> BrokerOrderGate::Open(NatsLink& link, const std::string& run, size_t node,
                                                       NatsQueue* input, std::string* error) {
  std::string missing;
  kvStore* kv = link.Bucket(NatsBucketName(run), &missing);
  if (kv == nullptr) {
    *error = "cannot read the turns of an [ordered] stage: " + missing;
    return nullptr;
  }
  const std::string prefix = "o" + std::to_string(node) + ".";
  return std::unique_ptr<BrokerOrderGate>(
      new BrokerOrderGate(link, kv, run, prefix, "flow." + run + "." + prefix + "turn", input));
}

BrokerOrderGate::BrokerOrderGate(NatsLink& link, kvStore* kv, const std::string& run, std::string prefix,
                                 std::string subject, NatsQueue* input)
    : link_(link),
      kv_(kv),
      prefix_(std::move(prefix)),
      bucket_(NatsBucketName(run)),
      subject_(std::move(subject)),
      input_(input) {}

BrokerOrderGate::~BrokerOrderGate() = default;

QueueStatus BrokerOrderGate::Take(Queue& queue, int consumer, Lease* lease, uint64_t* position) {
  const QueueStatus status = queue.Pop(consumer, lease, PopMode::kWait);
  if (status != QueueStatus::kOk) return status;
  const uint64_t delivery = input_->DeliveryOf(consumer, *lease);
  *position = delivery > 0 ? delivery - 1 : 0;
  return status;
}

void BrokerOrderGate::Note(const std::string& said) {
  const uint64_t turn =
      said == kAbandoned ? std::numeric_limits<uint64_t>::max() : std::strtoull(said.c_str(), nullptr, 10);
  if (turn > turn_) turn_ = turn;
}

void BrokerOrderGate::WaitTurn(uint64_t position) {
  if (turn_ >= position) return;
  // Listening first, then one look at the bucket: a turn passed after the
  // subscription reached the broker is heard, one passed before has its key
  // stored (Pass puts the key before it sends the message). Most often the
  // turn has passed by the time a replica has its outputs, and the look
  // says so. Listening to every turn all the time instead cost each
  // replica a message per position, 24 replicas each woken for each of the
  // 240 positions of the whois example: a third of the run's CPU; looking
  // before listening cost a second look (and one for an abandoned order)
  // whenever the first found nothing.
  turns_ = std::make_unique<NatsSubscription>(link_, subject_);
  int64_t away_ms = 0;
  int looks = 0;
  std::string value;
  while (turn_ < position) {
    if (looks > 0) {
      const int64_t wait_ms = looks == 1 ? kFirstTurnWaitMs : kTurnWaitMs;
      if (turns_->ok()) {
        if (turns_->Next(&value, wait_ms)) {
          Note(value);
          continue;
        }
      } else {
        nats_Sleep(wait_ms);  // not listening: the key alone, at the same pace
      }
    }
    ++looks;
    // No message for a while (or not listening yet): one lost, or passed
    // before we listened. An abandoned order comes as a message too: its
    // key is for a replica that listened later, and can wait a while.
    if (Has(prefix_ + "done." + std::to_string(position - 1))) Note(std::to_string(position));
    if (looks > 2 && Has(prefix_ + kAbandoned)) Note(kAbandoned);
    if (turn_ >= position) break;
    // A stopped input (cancel, close): its outputs are cancelled too, and
    // nobody is left to wait for. A broker away for longer than the link
    // waits for it: the publish that follows fails the run, with its reason.
    away_ms = link_.connected() ? 0 : away_ms + kTurnWaitMs;
    if (input_->Stopping() || away_ms > link_.broker_wait_ms()) break;
  }
  turns_.reset();
}

bool BrokerOrderGate::Has(const std::string& key) {
  kvEntry* entry = nullptr;
  const bool has = kvStore_Get(&entry, kv_, key.c_str()) == NATS_OK;
  kvEntry_Destroy(entry);
  return has;
}

void BrokerOrderGate::Done(uint64_t position) {
  if (turn_ < position + 1) turn_ = position + 1;
  Pass(std::to_string(position + 1), "done." + std::to_string(position));
}

void BrokerOrderGate::Abandon() {
  turn_ = std::numeric_limits<uint64_t>::max();
  Pass(kAbandoned, kAbandoned);
}

void BrokerOrderGate::Pass(const std::string& said, const std::string& key) {
  // The key first, for good (one per position: puts from several replicas
  // may land in any order, and a single key could go back to an older
  // turn), where the next replica looks first. Not waiting for the
  // broker's answer (a round trip before this replica's Ack and its next
  // pull, on every record): it goes on the connection before the message,
  // and is kept through a reconnection as the message is.
  PutUnanswered(link_, bucket_, prefix_ + key, "1");
  // Then the message, to a replica listening for it.
  natsConnection_PublishString(link_.connection(), subject_.c_str(), said.c_str());
}

}  // namespace flow
