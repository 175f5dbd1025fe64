// What the supervisor does when a worker ends or the user interrupts the
// run. The decisions live here, apart from the system calls in
// worker_pool.cc, so they can be tested with a fake pool-less caller and so
// the fault-tolerance layer can replace them without touching process code.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "runtime/process.h"

namespace flow {

inline constexpr std::chrono::milliseconds kDefaultGrace = std::chrono::seconds(5);

// A worker process ended (and has been reaped; its last log line is out).
struct WorkerExited {
  size_t slot = 0;
  std::string_view name;  // "map_2#3"
  ExitStatus status;
  bool timed_out = false;  // killed by the pool because its deadline passed
  int restarts = 0;        // how many times this slot was started again before
};

// SIGINT or SIGTERM reached the supervisor.
struct Interrupted {
  int signal = 0;
};

struct Decision {
  enum class Kind : uint8_t {
    kCarryOn,  // nothing to do
    kRestart,  // start the slot again: same slot, same name (after WorkerExited only)
    kStop,     // kill every worker now; the run ends with exit_code
    kDrain,    // let the workers finish for `grace`, then kill them; ends with exit_code
  };
  Kind kind = Kind::kCarryOn;
  int exit_code = 0;
  std::chrono::milliseconds grace{0};
  std::string reason;  // why the run ends, for the user ("" when it succeeds)

  static Decision CarryOn() { return {}; }
  static Decision Restart() { return {Kind::kRestart, 0, {}, {}}; }
  static Decision Stop(int exit_code, std::string reason) {
    return {Kind::kStop, exit_code, {}, std::move(reason)};
  }
  static Decision Drain(int exit_code, std::chrono::milliseconds grace, std::string reason) {
    return {Kind::kDrain, exit_code, grace, std::move(reason)};
  }
};

class WorkerPolicy {
 public:
  virtual ~WorkerPolicy() = default;
  virtual Decision OnWorkerExited(const WorkerExited& event) = 0;
  virtual Decision OnInterrupted(const Interrupted& event) = 0;
};

// The policy until fault tolerance lands: a worker that fails stops the run
// (exit 1); SIGINT/SIGTERM stop the sources through `stop_sources`, let the
// workers drain for `grace`, then kill them (exit 128 + signal: 130, 143).
// A second interrupt while draining kills at once.
class StopOnFailurePolicy : public WorkerPolicy {
 public:
  StopOnFailurePolicy(std::function<void()> stop_sources, std::chrono::milliseconds grace)
      : stop_sources_(std::move(stop_sources)), grace_(grace) {}

  Decision OnWorkerExited(const WorkerExited& event) override;
  Decision OnInterrupted(const Interrupted& event) override;

 private:
  std::function<void()> stop_sources_;
  std::chrono::milliseconds grace_;
  int interrupt_code_ = 0;  // set by the first interrupt
};

// "worker 'map#3' exited with code 3", "worker 'map#3' timed out".
std::string DescribeWorkerExit(const WorkerExited& event);

}  // namespace flow
