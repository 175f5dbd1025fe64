// Helper threads born with every signal blocked. A thread inherits its
// creator's mask, and a signal sent to the process (SIGINT, SIGTERM,
// SIGCHLD) goes to any thread that does not block it: it must reach the
// thread or the signalfd that waits for it, never a helper that happens to
// be running (where SIGCHLD, ignored, would be lost).
#pragma once

#include <pthread.h>

#include <csignal>
#include <future>
#include <thread>
#include <utility>

namespace flow {

// Blocks every signal in the calling thread while it lives: what is
// started meanwhile inherits the full mask.
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old_);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t old_;
};

template <typename Work>
std::thread QuietThread(Work work) {
  SignalsBlocked blocked;
  return std::thread(std::move(work));
}

// `work` now, on a quiet thread; its result from the future.
template <typename Work>
auto QuietAsync(Work work) {
  SignalsBlocked blocked;
  return std::async(std::launch::async, std::move(work));
}

}  // namespace flow
