// The log lines of a run's parts on `flowrun worker`s, shown on the origin
// (issue 8): a worker's instances write to its part's stderr, which the
// worker daemon reads line by line (runtime/worker_daemon.cc); it keeps
// them in its own log and publishes each on the run's log subject
// ("flow.<run>.log", core NATS: "<host>\t<line>"). The origin's keeper
// subscribes before it offers the run, and passes them to the supervisor,
// which writes them to its log with the worker's host in the prefix:
//   [exec#2] something went wrong   ->   [exec#2@host] something went wrong
// Core NATS delivers at most once: a line published while the broker is
// away is lost on the origin (it stays in the worker's log).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/nats_subscription.h"

namespace flow {

class NatsLink;

std::string NatsLogSubject(std::string_view run);  // "flow.<run>.log"

// The line as the origin shows it: `text` ("<host>\t<line>") with the host
// put in the line's "[instance]" prefix, or in front of it.
std::string RemoteLogLine(std::string_view text);

class RemoteLogWatch {
 public:
  // On failure the watch sees nothing; the run goes on without the lines.
  RemoteLogWatch(NatsLink& link, const std::string& run);
  RemoteLogWatch(const RemoteLogWatch&) = delete;
  RemoteLogWatch& operator=(const RemoteLogWatch&) = delete;

  // The "<host>\t<line>" texts come so far; with `final`, after a round
  // trip to the broker, so that whatever was published before has come.
  std::vector<std::string> Take(bool final = false);

 private:
  NatsSubscription lines_;
};

}  // namespace flow
