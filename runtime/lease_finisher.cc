#include "runtime/lease_finisher.h"

#include <cassert>
#include <utility>

namespace flow {

LeaseFinisher::~LeaseFinisher() {
  if (!thread_.joinable()) return;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !busy_; });
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void LeaseFinisher::Start(std::function<void()> finish) {
  {
    std::lock_guard lock(mu_);
    assert(!busy_ && "a lease is being finished: Wait first");
    job_ = std::move(finish);
    busy_ = true;
  }
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  cv_.notify_all();
}

void LeaseFinisher::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !busy_; });
}

void LeaseFinisher::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || job_; });
    if (!job_) return;  // stopped, nothing in hand
    std::function<void()> job = std::move(job_);
    job_ = nullptr;
    lock.unlock();
    job();
    job = nullptr;  // what it holds goes on this thread, before Wait returns
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace flow
