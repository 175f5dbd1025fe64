#include "runtime/lease_finisher.h"

#include <utility>

namespace flow {

LeaseFinisher::~LeaseFinisher() {
  if (!thread_.joinable()) return;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !running_ && queued_.empty(); });
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool LeaseFinisher::Start(uint64_t key, std::function<void()> finish) {
  {
    std::lock_guard lock(mu_);
    if (running_ && key < running_key_) return false;
    queued_.emplace(key, std::move(finish));
  }
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  cv_.notify_all();
  return true;
}

LeaseFinisher::Room LeaseFinisher::AwaitRoom(size_t most, uint64_t key, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  Room room = Room::kTimeout;
  cv_.wait_for(lock, timeout, [&] {
    if (running_ && key < running_key_) room = Room::kGoesBefore;
    else if (InHand() <= most) room = Room::kRoom;
    return room != Room::kTimeout;
  });
  return room;
}

bool LeaseFinisher::AnyBelow(uint64_t key) const {
  return (running_ && running_key_ < key) || (!queued_.empty() && queued_.begin()->first < key);
}

void LeaseFinisher::WaitBelow(uint64_t key) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !AnyBelow(key); });
}

size_t LeaseFinisher::InHand() const { return queued_.size() + (running_ ? 1 : 0); }

size_t LeaseFinisher::in_hand() {
  std::lock_guard lock(mu_);
  return InHand();
}

void LeaseFinisher::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queued_.empty(); });
    if (queued_.empty()) return;  // stopped, nothing in hand
    auto first = queued_.begin();
    running_key_ = first->first;
    std::function<void()> job = std::move(first->second);
    queued_.erase(first);
    running_ = true;
    lock.unlock();
    job();
    job = nullptr;  // what it holds goes on this thread, before a wait returns
    lock.lock();
    running_ = false;
    cv_.notify_all();
  }
}

}  // namespace flow
