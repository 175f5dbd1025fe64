#include "runtime/broker_order_gate.h"

#include <cstdlib>
#include <limits>

#include "runtime/broker_board.h"
#include "runtime/nats_queue.h"
#include "runtime/nats_run.h"

namespace flow {
namespace {

// What "o<node>.turn" holds once a replica gave up on order.
constexpr const char* kAbandoned = "abandoned";
// How long one wait for the turn's key lasts before it looks again at
// whether the input queue was stopped.
constexpr int64_t kTurnWaitMs = 100;

}  // namespace

std::unique_ptr<BrokerOrderGate> BrokerOrderGate::Open(NatsLink& link, const std::string& run, size_t node,
                                                       NatsQueue* input, std::string* error) {
  std::unique_ptr<BrokerBoard> board = BrokerBoard::Open(link, NatsBucketName(run), false, 0, error);
  if (!board) return nullptr;
  const std::string key = "o" + std::to_string(node) + ".turn";
  if (!board->Watch(key, error)) return nullptr;
  return std::unique_ptr<BrokerOrderGate>(new BrokerOrderGate(link, std::move(board), key, input));
}

BrokerOrderGate::BrokerOrderGate(NatsLink& link, std::unique_ptr<BrokerBoard> board, std::string key,
                                 NatsQueue* input)
    : link_(link), board_(std::move(board)), key_(std::move(key)), input_(input) {}

BrokerOrderGate::~BrokerOrderGate() = default;

QueueStatus BrokerOrderGate::Take(Queue& queue, int consumer, Lease* lease, uint64_t* position) {
  const QueueStatus status = queue.Pop(consumer, lease, PopMode::kWait);
  if (status != QueueStatus::kOk) return status;
  const uint64_t delivery = input_->DeliveryOf(consumer, *lease);
  *position = delivery > 0 ? delivery - 1 : 0;
  return status;
}

void BrokerOrderGate::Note(const std::string& value) {
  const uint64_t turn =
      value == kAbandoned ? std::numeric_limits<uint64_t>::max() : std::strtoull(value.c_str(), nullptr, 10);
  if (turn > turn_) turn_ = turn;
}

void BrokerOrderGate::WaitTurn(uint64_t position) {
  std::string key, value;
  int64_t away_ms = 0;
  while (turn_ < position) {
    if (board_->Next(kTurnWaitMs, &key, &value)) {
      Note(value);
      continue;
    }
    // A stopped input (cancel, close): its outputs are cancelled too, and
    // nobody is left to wait for. A broker away for longer than the link
    // waits for it: the publish that follows fails the run, with its reason.
    away_ms = link_.connected() ? 0 : away_ms + kTurnWaitMs;
    if (input_->Stopping() || away_ms > link_.broker_wait_ms()) return;
  }
}

void BrokerOrderGate::Done(uint64_t position) {
  if (turn_ < position + 1) turn_ = position + 1;
  std::string error;
  board_->Put(key_, std::to_string(position + 1), &error);
}

void BrokerOrderGate::Abandon() {
  turn_ = std::numeric_limits<uint64_t>::max();
  std::string error;
  board_->Put(key_, kAbandoned, &error);
}

}  // namespace flow
