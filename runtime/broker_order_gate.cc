#include "runtime/broker_order_gate.h"

#include <cstdlib>
#include <limits>

#include "runtime/broker_board.h"
#include "runtime/nats_queue.h"
#include "runtime/nats_run.h"

namespace flow {
namespace {

// What a turn's message says once a replica gave up on order.
constexpr const char* kAbandoned = "abandoned";
// How long one wait for a turn's message lasts before the bucket is read
// instead (a message lost) and the input queue looked at (stopped?).
constexpr int64_t kTurnWaitMs = 100;

}  // namespace

std::unique_ptr<BrokerOrderGate> BrokerOrderGate::Open(NatsLink& link, const std::string& run, size_t node,
                                                       NatsQueue* input, std::string* error) {
  std::unique_ptr<BrokerBoard> board = BrokerBoard::Open(link, NatsBucketName(run), false, 0, error);
  if (!board) return nullptr;
  const std::string prefix = "o" + std::to_string(node) + ".";
  std::unique_ptr<BrokerOrderGate> gate(
      new BrokerOrderGate(link, std::move(board), prefix, "flow." + run + "." + prefix + "turn", input));
  if (!gate->turns_.ok()) {
    *error = "cannot hear the turns of an [ordered] stage: " + gate->turns_.error();
    return nullptr;
  }
  // Heard from now on: a turn passed before is in the bucket.
  gate->turns_.Flush();
  return gate;
}

BrokerOrderGate::BrokerOrderGate(NatsLink& link, std::unique_ptr<BrokerBoard> board, std::string prefix,
                                 std::string subject, NatsQueue* input)
    : link_(link),
      board_(std::move(board)),
      prefix_(std::move(prefix)),
      subject_(std::move(subject)),
      turns_(link, subject_),
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
  int64_t away_ms = 0;
  std::string value;
  while (turn_ < position) {
    if (turns_.Next(&value, kTurnWaitMs)) {
      Note(value);
      continue;
    }
    // No message for a while: one lost, or passed before we listened.
    if (board_->Get(prefix_ + "done." + std::to_string(position - 1), &value)) Note(std::to_string(position));
    if (board_->Get(prefix_ + kAbandoned, &value)) Note(kAbandoned);
    if (turn_ >= position) return;
    // A stopped input (cancel, close): its outputs are cancelled too, and
    // nobody is left to wait for. A broker away for longer than the link
    // waits for it: the publish that follows fails the run, with its reason.
    away_ms = link_.connected() ? 0 : away_ms + kTurnWaitMs;
    if (input_->Stopping() || away_ms > link_.broker_wait_ms()) return;
  }
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
  // The message first: the next replica may publish at once (our outputs
  // are stored: their publish was acknowledged). No flush: libnats's
  // flusher sends it within a moment, without a round trip here.
  natsConnection_PublishString(link_.connection(), subject_.c_str(), said.c_str());
  // Then a key of its own (one per position: puts from several replicas
  // may land in any order, and a single key could go back to an older
  // turn), for a replica that missed the message.
  std::string error;
  board_->Put(prefix_ + key, "1", &error);
}

}  // namespace flow
