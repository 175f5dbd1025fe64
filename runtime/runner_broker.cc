// The origin's side of a run on a broker (runtime/runner_internal.h): its
// keeper's news in the pool's loop, the instances placed here, the batches
// the broker gave up on, and what the workers' parts counted.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "runtime/remote_log.h"
#include "runtime/runner_internal.h"
#include "runtime/trace.h"

namespace flow::runner_internal {

Decision Runner::OnKeeperEvents(WorkerPool& pool) {
  bool ended = false;
  for (const std::string& line : keeper_->Events(&ended)) {
    std::istringstream fields(line);
    std::string what, worker;
    fields >> what >> worker;
    std::string rest;
    std::getline(fields >> std::ws, rest);
    if (what == "failed") {
      return Decision::Stop(1, "the part of the run on worker '" + worker + "' failed: " + rest);
    }
    if (what == "log") {
      Say(events_log_fd_, RemoteLogLine(line.substr(4)));
      continue;
    }
    if (what == "snapshot") {  // "snapshot <node> <instance> <counters>"
      size_t n = 0, i = 0;
      int used = 0;
      if (!remote_stats_ || std::sscanf(line.c_str(), "snapshot %zu %zu %n", &n, &i, &used) < 2 ||
          n >= graph_.nodes.size() || i >= placement_.where[n].size())
        continue;
      const std::string counters = line.substr(static_cast<size_t>(used));
      if (i < static_cast<size_t>(graph_.nodes[n].replicas))
        StoreCountersLine(counters, &remote_stats_->at(first_slot_[n] + i));
      else if (display_ != nullptr)
        display_->StoreAdded(n, i, counters);  // added on a worker that joined
      continue;
    }
    if (what == "poison") {
      const Decision d = OnPoison(line.substr(7));
      if (d.kind != Decision::Kind::kCarryOn) return d;
      continue;
    }
    if (what == "place") {  // "place <node> <instance> <worker>": an instance added
      size_t n = 0, i = 0;
      char where[64] = {};
      if (std::sscanf(line.c_str(), "place %zu %zu %63s", &n, &i, where) == 3 && n < placement_.where.size() &&
          i == placement_.where[n].size())
        placement_.where[n].push_back(where);
      continue;
    }
    if (what == "joined") {
      OnWorkerJoined(worker, rest);
      continue;
    }
    if (what != "lost" && what != "left") continue;
    // Its machine died or was cut off, or it was stopped: its instances
    // run here from now on. The batches they held come back after their
    // ack wait, or are back already if it left (handed them back).
    const bool left = what == "left";
    std::vector<std::string> moved;
    for (size_t n = 0; n < graph_.nodes.size(); ++n) {
      int count = 0;
      for (int i = 0; i < graph_.nodes[n].replicas; ++i) {
        if (placement_.where[n][static_cast<size_t>(i)] != worker) continue;
        placement_.where[n][static_cast<size_t>(i)].clear();
        std::string error;
        const size_t slot = first_slot_[n] + static_cast<size_t>(i);
        if (taken_over_.size() <= slot) taken_over_.resize(slot + 1, TakenOver::kNo);
        taken_over_[slot] = left ? TakenOver::kFromLeft : TakenOver::kFromLost;  // it continues the lost one's books
        if (!pool.Wake(slot, &error)) return Decision::Stop(1, error);
        ++count;
      }
      if (count > 0) moved.push_back(std::to_string(count) + " of '" + graph_.nodes[n].label + "'");
    }
    std::string list;
    for (const std::string& m : moved) list += (list.empty() ? "" : ", ") + m;
    // Instances added when it joined have no place here: the batches they
    // held go to their siblings after the ack wait, as the run was before.
    int added = 0;
    for (size_t n = 0; n < graph_.nodes.size(); ++n) added += AddedOn(n, worker);
    std::string said = left ? "flowrun: worker '" + worker + "' (" + rest + ") ended its part of the run and handed back what it held"
                            : "flowrun: lost worker '" + worker + "' (" + rest + ")";
    if (!list.empty()) said += "; its instances run here now: " + list;
    if (added > 0) {
      said += "; the " + std::to_string(added) + " instances added when it joined are not replaced (their siblings "
              "take what they held)";
    }
    Say(options_.log_fd, said);
  }
  if (ended) {
    pool.Unwatch(keeper_->events_fd());
    return Decision::Stop(1, "the broker keeper process ended during the run");
  }
  return Decision::CarryOn();
}

Decision Runner::OnPoison(const std::string& line) {
  size_t n = 0;
  long long deliveries = 0, nr = 0;
  int used = 0;
  if (std::sscanf(line.c_str(), "%zu %lld %lld %n", &n, &deliveries, &nr, &used) < 3 || n >= graph_.nodes.size())
    return Decision::CarryOn();
  const std::string record = line.substr(static_cast<size_t>(used));
  const StageNode& node = graph_.nodes[n];
  const std::string reason = "its batch was delivered " + std::to_string(deliveries) +
                             (deliveries == 1 ? " time" : " times") +
                             " by the broker and never finished (the workers that took it died or hung on it)";
  InstanceCounters& counters = stats_->at(first_slot_[n]);
  switch (node.options.on_error) {
    case OnError::kSkip:
      InstanceCounters::Add(counters.skipped, 1);
      return Decision::CarryOn();
    case OnError::kDeadLetter: {
      // As a worker writes it (runtime/worker.cc): "reason\trecord\n".
      const std::string text = reason + "\t" + record + "\n";
      if (dead_letter_fd_ >= 0 && write(dead_letter_fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size())) {
        InstanceCounters::Add(counters.dead_letters, 1);
        return Decision::CarryOn();
      }
      Say(events_log_fd_, "flowrun: error: cannot append to the dead-letter file '" + options_.dead_letter_path + "'");
      return Decision::Stop(1, "");
    }
    case OnError::kFail:
      break;
  }
  Say(events_log_fd_, Location(node) + ": error: '" + node.label + "' failed on record " + std::to_string(nr) + ": " +
                           reason + "; the record: \"" + record.substr(0, kShownRecordChars) + "\"");
  return Decision::Stop(1, "");
}

void Runner::AddRemoteCounters(const std::vector<std::string>& lines) {
  for (const std::string& line : lines) {
    size_t n = 0, i = 0;
    int used = 0;
    // An added instance's number may come before its "place" line was read
    // (a worker that joined just before the end).
    if (std::sscanf(line.c_str(), "%zu %zu %n", &n, &i, &used) < 2 || n >= graph_.nodes.size() ||
        (i >= static_cast<size_t>(graph_.nodes[n].replicas) && !MayGrow(graph_.nodes[n])) || i >= kMostInstances)
      continue;
    const std::string counters = line.substr(static_cast<size_t>(used));
    if (i < static_cast<size_t>(graph_.nodes[n].replicas))
      AddCountersLine(counters, &stats_->at(first_slot_[n] + i));
    else
      AddCountersLine(counters, &added_counters_[{n, i}]);
  }
}

void Runner::OnWorkerJoined(const std::string& worker, const std::string& host) {
  std::string list;
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    const int count = AddedOn(n, worker);
    if (count > 0) list += (list.empty() ? "" : ", ") + std::to_string(count) + " more of '" + graph_.nodes[n].label + "'";
  }
  Say(events_log_fd_, "flowrun: worker '" + worker + "' (" + host + ") joined the run: " + list);
}

int Runner::AddedOn(size_t n, const std::string& worker) const {
  const std::vector<std::string>& where = placement_.where[n];
  return static_cast<int>(std::count(where.begin() + std::min<size_t>(where.size(), graph_.nodes[n].replicas),
                                     where.end(), worker));
}

bool Runner::AwaitKeeper(WorkerPool& pool, std::string* error) {
  // The JIT's milliseconds while the keeper makes the run and the instances
  // started connect; then the stages that stay here and need their blocks.
  if (options_.make_blocks) options_.make_blocks();
  const auto wake = [&](size_t n, int i) { return pool.Wake(first_slot_[n] + static_cast<size_t>(i), error); };
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    if (StartsEarly(n) || WhyOnOrigin(graph_.nodes[n]).empty()) continue;
    for (int i = 0; i < graph_.nodes[n].replicas; ++i) {
      if (!wake(n, i)) return false;
    }
  }
  // SIGINT and SIGTERM wait in the pool's signalfd: one pending now ends
  // the wait (and, once the pool is gone, the process, as a Ctrl-C would
  // have before the pool started).
  const auto interrupted = [] {
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1;
  };
  // The instances started early stay here whatever the placement: they
  // open their edges as soon as the run is made.
  const auto made = [this] {
    TraceEvent("keeper made the run");
    control_->MarkRunMade();
  };
  if (!keeper_->AwaitReady(error, interrupted, made)) return false;
  placement_ = keeper_->placement();
  TraceEvent("keeper ready");
  control_->MarkRunMade();  // again, harmless: made() came first
  // The others where the keeper placed them: those here start now.
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    if (!WhyOnOrigin(graph_.nodes[n]).empty()) continue;
    for (int i = 0; i < graph_.nodes[n].replicas; ++i) {
      if (!RunsElsewhere(n, i) && !wake(n, i)) return false;
    }
  }
  return true;
}

}  // namespace flow::runner_internal
