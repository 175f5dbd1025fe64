#include "runtime/worker_policy.h"

namespace flow {

std::string DescribeWorkerExit(const WorkerExited& event) {
  std::string text = "worker '" + std::string(event.name) + "' ";
  if (event.timed_out) return text + "did not finish in time and was killed";
  return text + DescribeExit(event.status);
}

Decision StopOnFailurePolicy::OnWorkerExited(const WorkerExited& event) {
  // While draining after an interrupt, workers end any way they can; the
  // run's outcome is already the interrupt's.
  if (event.status.Succeeded() || interrupt_code_ != 0) return Decision::CarryOn();
  return Decision::Stop(1, DescribeWorkerExit(event));
}

Decision StopOnFailurePolicy::OnInterrupted(const Interrupted& event) {
  std::string reason = "interrupted by " + SignalName(event.signal);
  if (interrupt_code_ != 0) return Decision::Stop(interrupt_code_, reason);
  interrupt_code_ = 128 + event.signal;
  if (stop_sources_) stop_sources_();
  return Decision::Drain(interrupt_code_, grace_, reason);
}

}  // namespace flow
