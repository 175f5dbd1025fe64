// The broker keeper of a run (BrokerKeeper, runtime/broker_edges.h): a
// process of its own that makes the run's streams and bucket, offers the
// run to the workers, watches their parts, and removes the run at its end.
#include "runtime/broker_edges.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <future>
#include <thread>

#include "runtime/broker_board.h"
#include "runtime/nats_queue.h"
#include "runtime/nats_run.h"
#include "runtime/placement.h"
#include "runtime/poison_watch.h"
#include "runtime/process.h"
#include "runtime/remote_log.h"
#include "runtime/run_stats.h"
#include "runtime/trace.h"


namespace flow {
namespace {

constexpr const char* kReportOk = "ok";
constexpr const char* kReportMade = "made";          // and its edges (before "ok")
constexpr const char* kReportRemoved = "removed";
// What the supervisor writes on the control pipe before closing it when
// the run went through (BrokerKeeper::Finish).
constexpr char kRunThrough = 't';
// How long the end of a run waits for the workers' parts to say they ended
// (their counters and last log lines). The run may be through before the
// workers' instances have ended (an edge ends on its input's drain:
// runtime/nats_queue.h), so this counts their ending too: a loaded worker
// machine, or a sanitizer build's exit, took over 2 s.
constexpr int64_t kPartEndWaitMs = 5000;
// How often a keeper without workers looks for batches the broker gave up
// on (with workers, at each look at their beats).
constexpr int64_t kPoisonCheckMs = 100;
// How often the keeper looks for workers that joined the run's broker (a
// worker puts itself in the registry every second).
constexpr int64_t kNewcomersEveryMs = 500;

void Report(int fd, const std::string& line) {
  const std::string text = line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the supervisor is gone: nobody to tell
    done += static_cast<size_t>(n);
  }
}

// The workers' parts of a run, as the keeper watches them. A part beats by
// putting "up" in the run's bucket; the keeper notes when each new value
// appeared on its own clock, so that the clocks of the machines need not
// agree.
class PartWatch {
 public:
  PartWatch(BrokerBoard* run_board, const std::vector<WorkerOffer>& asked, int report_fd)
      : board_(run_board), report_fd_(report_fd) {
    const int64_t now = Now();
    for (const WorkerOffer& w : asked) parts_.push_back({w.id, w.host, now, -1, false, {}});
    if (!parts_.empty()) Watch();
  }
  bool empty() const { return parts_.empty(); }
  // A worker that joined the run after it started.
  void Add(const WorkerOffer& w) {
    parts_.push_back({w.id, w.host, Now(), -1, false, {}});
    if (!watching_) Watch();
  }

  // At the end of the run: waits up to kPartEndWaitMs for the parts still
  // watched to say done (their instances have ended: the sinks had every
  // end of stream), then reports what each part counted.
  void Conclude() {
    const int64_t deadline = Now() + kPartEndWaitMs * 1'000'000;
    Check();
    while (!AllOver() && Now() <= deadline) {
      if (watching_) {
        Take(2);
      } else {
        poll(nullptr, 0, 2);
      }
      Check();
    }
    for (const Part& p : parts_) {
      for (const std::string& line : p.counted) Report(report_fd_, "counters " + line);
    }
  }

  // What the parts said since the last look (a beat, "done", ...), and
  // whether one has been silent for too long.
  void Check() {
    const int64_t now = Now();
    if (watching_) Take(0);
    for (Part& p : parts_) {
      if (p.over) continue;
      std::string value;
      int64_t created = 0;
      if (!watching_ && board_->Get(kPartKey + p.worker, &value, &created)) Note(p, value, created, now);
      if (p.over) continue;
      const int64_t allowed = p.seen_created < 0 ? kPartJoinNs : kPartStaleNs;
      if (now - p.changed_at > allowed) {
        p.over = true;
        Report(report_fd_, "lost " + p.worker + " " + (p.host.empty() ? "?" : p.host));
      }
    }
  }

 private:
  struct Part {
    std::string worker, host;
    int64_t changed_at;    // when its value last changed, on our clock
    int64_t seen_created;  // the broker's time of the value seen last; -1: none yet
    bool over;             // done, failed or lost: not watched any more
    std::vector<std::string> counted;  // over: what its instances counted, a line each
  };
  static constexpr const char* kPartKey = "part.";
  static int64_t Now() { return static_cast<int64_t>(MonotonicNanos()); }
  // Their beats and their "done", heard as they are put, not by asking
  // for each part's key: at the run's end that was a request per part
  // every 2 ms, each waiting behind the removal of the run's streams.
  // Without a watch (the broker refused one), they are asked for.
  void Watch() {
    std::string error;
    watching_ = board_->Watch(kPartKey + std::string("*"), &error);
  }
  // The parts' keys as the watch delivers them, waiting up to `wait_ms`
  // for the first (libnats waits 1 ms at least).
  void Take(int64_t wait_ms) {
    std::string key, value;
    int64_t created = 0;
    for (int64_t wait = std::max<int64_t>(wait_ms, 1); !AllOver() && board_->Next(wait, &key, &value, &created);
         wait = 1) {
      if (key.rfind(kPartKey, 0) != 0) continue;
      for (Part& p : parts_) {
        if (!p.over && key.compare(std::strlen(kPartKey), std::string::npos, p.worker) == 0)
          Note(p, value, created, Now());
      }
    }
  }
  bool AllOver() const {
    return std::all_of(parts_.begin(), parts_.end(), [](const Part& p) { return p.over; });
  }
  // What part `p` said: `value`, put at `created` (the broker's time): its
  // state on the first line, then what its instances counted, a line each.
  void Note(Part& p, const std::string& value, int64_t created, int64_t now) {
    const size_t first_end = value.find('\n');
    const std::string state = value.substr(0, first_end);
    std::vector<std::string> counted;
    for (size_t start = first_end, end; start != std::string::npos && (end = value.find('\n', start + 1)) != std::string::npos;
         start = end) {
      if (end > start + 1) counted.push_back(value.substr(start + 1, end - start - 1));
    }
    if (state == "up") {
      if (created == p.seen_created) return;
      p.seen_created = created;
      p.changed_at = now;
      for (const std::string& line : counted) Report(report_fd_, "snapshot " + line);
      return;
    }
    p.over = true;
    p.counted = std::move(counted);
    if (state == "gone" || state == kPartLeftWord) {  // the worker was stopped, or fenced itself off
      Report(report_fd_, (state == "gone" ? "lost " : "left ") + p.worker + " " + (p.host.empty() ? "?" : p.host));
    } else if (state.rfind("failed: ", 0) == 0) {
      Report(report_fd_, "failed " + p.worker + " " + state.substr(8));
    }
  }

  BrokerBoard* board_;
  int report_fd_;
  std::vector<Part> parts_;
  bool watching_ = false;
};

// The instances placed on `worker`.
int Taken(const Placement& placement, const std::string& worker) {
  int taken = 0;
  for (const auto& node : placement.where) taken += static_cast<int>(std::count(node.begin(), node.end(), worker));
  return taken;
}

// Tells the origin where instances run: "place NODE INSTANCE WORKER" for
// those on workers, from instance from[node] on (all: from empty).
void ReportPlaces(int report_fd, const Placement& placement, const std::vector<size_t>& from = {}) {
  for (size_t n = 0; n < placement.where.size(); ++n) {
    for (size_t i = from.empty() ? 0 : from[n]; i < placement.where[n].size(); ++i) {
      if (!placement.where[n][i].empty())
        Report(report_fd, "place " + std::to_string(n) + " " + std::to_string(i) + " " + placement.where[n][i]);
    }
  }
}

// Where the run's instances go: on the live workers (PlaceInstances), read
// from the registry, returned in *workers (null when no worker ever came to
// this broker: only workers make it, so a broker used without them is left
// as it was).
void PlanRun(NatsLink& link, const StageGraph& graph, Placement* placement, std::vector<WorkerOffer>* live,
             std::unique_ptr<BrokerBoard>* workers) {
  std::string missing;
  *workers = BrokerBoard::Open(link, kWorkersBucket, false, 0, &missing);
  if (!*workers) return;
  *live = LiveWorkers(**workers);
  *placement = PlaceInstances(graph, *live);
}

// Whether a job offer fits in one message of the broker; false with
// *error when not (OfferTooLarge).
bool OfferFits(NatsLink& link, const std::string& offer, std::string* error) {
  *error = OfferTooLarge(offer.size(), natsConnection_GetMaxPayload(link.connection()), link.url());
  return error->empty();
}

// Offers the run to the workers PlanRun placed instances on: a job key for
// each, with the run's description and placement (JobOffer). Returns the
// workers asked; false with *error when the broker refused.
bool OfferRun(NatsLink& link, BrokerBoard& workers, const std::string& run, const std::string& description,
              const Placement& placement, const std::vector<WorkerOffer>& live, std::vector<WorkerOffer>* asked,
              std::string* error) {
  const std::string where = placement.Encode();
  // Each worker's job key on a thread of its own (the link is thread-safe):
  // a round trip each in a row would start the last worker's part that
  // much later.
  std::vector<WorkerOffer> placed;
  std::vector<std::string> offers;  // each one's job: the slots this run takes, which the next run counts out
  for (const WorkerOffer& w : live) {
    const int taken = Taken(placement, w.id);
    if (taken == 0) continue;
    placed.push_back(w);
    offers.push_back(JobOffer(taken, description, where, true));  // offered once made (KeeperMain)
    if (!OfferFits(link, offers.back(), error)) return false;
  }
  std::vector<std::string> failures(placed.size());
  std::vector<std::thread> puts;
  for (size_t i = 0; i < placed.size(); ++i) {
    puts.emplace_back([&, i] {
      std::string failure;
      if (!workers.Put("job." + placed[i].id + "." + run, offers[i], &failure)) failures[i] = failure;
    });
  }
  for (std::thread& put : puts) put.join();
  bool ok = true;
  for (size_t i = 0; i < placed.size(); ++i) {
    if (failures[i].empty()) {
      asked->push_back(placed[i]);  // withdrawn with the others if one failed
    } else if (ok) {
      *error = failures[i];
      ok = false;
    }
  }
  return ok;
}

// `* auto` grows with the workers that join the run: the workers alive
// now that have free slots and no part in the run yet (started since, or
// freed by another run that ended) get instances added to the stages that
// MayGrow, with a job key as at the start. Reports them to the origin
// ("place ..." lines, then "joined WORKER HOST"). The registry is opened
// here when the run started before any worker came to this broker.
bool OfferToNewcomers(NatsLink& link, const StageGraph& graph, const std::string& run, const std::string& description,
                      Placement* placement, std::vector<WorkerOffer>* asked, std::unique_ptr<BrokerBoard>* workers,
                      PartWatch* parts, int report_fd) {
  std::string error;
  if (!*workers) *workers = BrokerBoard::Open(link, kWorkersBucket, false, 0, &error);
  if (!*workers) return false;
  for (const WorkerOffer& w : LiveWorkers(**workers)) {
    if (w.slots <= 0) continue;
    const bool in_run = std::any_of(asked->begin(), asked->end(), [&w](const WorkerOffer& a) { return a.id == w.id; });
    if (in_run) continue;
    std::vector<size_t> before;
    for (const auto& node : placement->where) before.push_back(node.size());
    const int added = GrowForWorker(graph, w, placement);
    if (added == 0) return false;  // no stage may grow
    const std::string offer = JobOffer(added, description, placement->Encode(), true);
    if (!OfferFits(link, offer, &error)) {  // it never will: said once, and the run grows no more
      for (size_t n = 0; n < before.size(); ++n) placement->where[n].resize(before[n]);
      Report(report_fd, "log flowrun: warning: the run cannot grow on the workers that join: " + error);
      return false;
    }
    if (!(*workers)->Put("job." + w.id + "." + run, offer, &error)) {
      for (size_t n = 0; n < before.size(); ++n) placement->where[n].resize(before[n]);
      continue;  // the broker refused: maybe next time
    }
    asked->push_back(w);
    parts->Add(w);
    ReportPlaces(report_fd, *placement, before);
    Report(report_fd, "joined " + w.id + " " + (w.host.empty() ? "?" : w.host));
    TraceEvent("keeper grew the run on " + w.id + " by " + std::to_string(added));
  }
  return true;
}

// A run that did not go through: its parts end their instances now
// (JobStop), each job key on a thread of its own (the link is
// thread-safe), as OfferRun put them.
void StopParts(BrokerBoard* workers, const std::vector<WorkerOffer>& asked, const std::string& run) {
  if (workers == nullptr) return;
  std::vector<std::thread> puts;
  for (const WorkerOffer& w : asked) {
    puts.emplace_back([workers, &w, &run] {
      // Not put (the broker refused): the part ends all the same, once the
      // run's heartbeat has been silent for long (kOriginSilentMs).
      std::string ignored;
      workers->Put("job." + w.id + "." + run, JobStop(), &ignored);
    });
  }
  for (std::thread& put : puts) put.join();
  TraceEvent("keeper stopped the parts");
}

void WithdrawRun(BrokerBoard* workers, const std::vector<WorkerOffer>& asked, const std::string& run) {
  if (workers == nullptr) return;
  std::string ignored;
  for (const WorkerOffer& w : asked) workers->Delete("job." + w.id + "." + run, &ignored);
}

// The run's edges on the broker, each made on a thread of its own (the
// link is thread-safe): a stream and its consumer are two round trips, and
// every run's start waits for them all.
// `streams`: the edges on the broker (EdgesOnBroker).
bool AddNatsEdges(NatsLink& link, const std::string& run, const StageGraph& graph, const std::vector<size_t>& streams,
                  std::string* error) {
  std::vector<std::string> failures(graph.edges.size());
  std::vector<std::thread> makers;
  for (size_t e : streams) {
    makers.emplace_back([&, e] {
      std::string failure;
      if (!AddNatsEdge(link, run, e, BrokerEdgeOptions(graph, graph.edges[e]), &failure)) failures[e] = failure;
    });
  }
  for (std::thread& maker : makers) maker.join();
  for (const std::string& failure : failures) {
    if (!failure.empty()) {
      *error = failure;
      return false;
    }
  }
  return true;
}

// The keeper's life, in its own process: make the run, offer it to the
// workers, beat and watch their parts, remove it.
int KeeperMain(const StageGraph& graph, const BrokerAccess& broker, const std::string& run,
               const std::string& description, const std::function<void()>& connected, int report_fd,
               int control_fd) {
  NatsLinkOptions options;
  options.broker = broker;
  options.name = "flowrun keeper " + run;
  std::string error;
  TraceEvent("keeper start");
  std::unique_ptr<NatsLink> link = NatsLink::Connect(options, &error);
  if (!link) {
    Report(report_fd, error);
    return 1;
  }
  TraceEvent("keeper connected");
  if (connected) connected();
  // The run's streams: one per edge on the broker (EdgesOnBroker).
  std::vector<size_t> streams;
  const std::vector<bool> on_broker = EdgesOnBroker(graph);
  for (size_t e = 0; e < on_broker.size(); ++e) {
    if (on_broker[e]) streams.push_back(e);
  }
  // Where the instances go (reading the registry takes a few round trips)
  // while the run's bucket and its edges are made, all at once (a sweep
  // leaves alone a stream without a bucket for its first minute:
  // SweepStaleNatsRuns); then, the run made, the offer: a worker's part
  // compiles the program and starts its instances, which open the edges
  // at once (an offer that does not say the run is made has them wait for
  // it: AwaitNatsRunMade).
  Placement placement;
  std::vector<WorkerOffer> live, asked;
  std::unique_ptr<BrokerBoard> workers;  // the registry, where the job keys are
  std::thread planner;
  std::string limits_problem;
  if (!description.empty()) planner = std::thread([&] {
    PlanRun(*link, graph, &placement, &live, &workers);
    // The instances that may move and stay here start once the keeper is
    // ready: whether they fit under the process limits beside what runs
    // already (OriginTasksProblem), or the run stops before they start.
    // The limits only then (for a user with RLIMIT_NPROC, a read of every
    // process's status): not when the workers took every such instance.
    const int64_t tasks =
        OriginTasks(graph, placement.where.empty() ? PlaceInstances(graph, {}) : placement, on_broker, true);
    if (tasks > 0) limits_problem = OriginTasksProblem(tasks, ReadSystemLimits());
    TraceEvent("keeper planned");
  });
  // The run is made as soon as its bucket and edges are: the instances
  // started here and on the workers wait for nothing else. Marked after
  // the offer and the watches, it came 10 ms later into a whois run, and
  // with the edges made after the bucket, the 24 replicas starting on the
  // 2 cores slowed the edges by as much.
  std::promise<bool> bucket_made;
  std::string edges_error;
  std::thread edge_maker([&] {
    if (AddNatsEdges(*link, run, graph, streams, &edges_error)) edges_error.clear();
    TraceEvent("keeper edges added");
    if (!bucket_made.get_future().get()) return;  // the run is not made: the main thread says why
    if (edges_error.empty() && MarkNatsRunMade(*link, run, &edges_error)) Report(report_fd, kReportMade);
  });
  bool ok = CreateNatsRun(*link, run, kBrokerRunExpiryNs, &error);
  TraceEvent("keeper bucket made");
  bucket_made.set_value(ok);
  if (planner.joinable()) planner.join();
  if (ok && !limits_problem.empty()) {
    ok = false;
    error = limits_problem;
  }
  TraceEvent("keeper run created");
  // Listening to the parts' log lines before the offer (the subscription
  // goes on the connection before the job keys: no line missed); then the
  // offer, once the run is made (its mark is a round trip after its edges
  // and bucket, as long as the registry's read): its instances then open
  // the edges without looking for the mark, 24 requests and threads fewer
  // while a whois run starts on 2 cores (the first leases ~1 ms sooner),
  // and a run that could not be made is offered to nobody.
  RemoteLogWatch logs(*link, run);
  edge_maker.join();
  if (ok && !edges_error.empty()) {
    ok = false;
    error = edges_error;
  }
  if (ok && workers) ok = OfferRun(*link, *workers, run, description, placement, live, &asked, &error);
  TraceEvent("keeper offer sent");
  std::unique_ptr<BrokerBoard> run_board;
  if (ok) run_board = BrokerBoard::Open(*link, NatsBucketName(run), false, 0, &error);
  ok = ok && run_board != nullptr;
  // Watching before a batch can have had its last delivery (that takes an
  // ack wait at least: the run is far from it yet). A run that cannot watch
  // the advisories would lose the batches the broker gives up on without a
  // word: it does not start.
  std::unique_ptr<PoisonWatch> poison;
  if (ok) {
    poison = std::make_unique<PoisonWatch>(*link, graph, run, &error);
    ok = error.empty();
  }
  TraceEvent("keeper watching");
  if (!ok) {
    std::string ignored;
    WithdrawRun(workers.get(), asked, run);
    run_board.reset();
    RemoveNatsRun(*link, run, &ignored, &streams);
    Report(report_fd, error);
    return 1;
  }
  ReportPlaces(report_fd, placement);
  TraceEvent("keeper offered");
  Report(report_fd, kReportOk);
  // Runs whose origin crashed: nobody else removes them. Not before this
  // run is made and offered (a listing and two requests per run on the
  // broker, on the way of every run's start), but while it goes.
  std::string sweep_error;
  std::thread sweep([&link, &sweep_error] {
    if (SweepStaleNatsRuns(*link, &sweep_error) >= 0) sweep_error.clear();
    TraceEvent("keeper swept");
  });
  PartWatch parts(run_board.get(), asked, report_fd);
  // Only a run offered to workers grows, and only if a stage may.
  bool may_grow = !description.empty() && std::any_of(graph.nodes.begin(), graph.nodes.end(), MayGrow);
  if (placement.where.empty()) placement = PlaceInstances(graph, {});  // no registry yet: all here
  uint64_t touched = MonotonicNanos(), looked_for_newcomers = touched;
  bool through = false;
  for (;;) {
    const int tick_ms = static_cast<int>(parts.empty() ? kPoisonCheckMs : kPartBeatMs);
    pollfd p = {control_fd, POLLIN, 0};
    const int ready = poll(&p, 1, tick_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready != 0) {  // kRunThrough, closed, or broken: the run is over
      char said = 0;
      through = read(control_fd, &said, 1) == 1 && said == kRunThrough;
      break;
    }
    if (may_grow && MonotonicNanos() - looked_for_newcomers >= static_cast<uint64_t>(kNewcomersEveryMs) * 1'000'000) {
      may_grow = OfferToNewcomers(*link, graph, run, description, &placement, &asked, &workers, &parts, report_fd) ||
                 !workers;
      looked_for_newcomers = MonotonicNanos();
    }
    parts.Check();
    for (const std::string& line : poison->Check()) Report(report_fd, line);
    for (const std::string& text : logs.Take()) Report(report_fd, "log " + text);
    if (MonotonicNanos() - touched >= static_cast<uint64_t>(kBrokerHeartbeatMs) * 1'000'000) {
      // A lost broker is the workers' to report: they fail after its wait.
      // With the bucket open: one put, no lookup.
      run_board->Put(kNatsRunAliveKey, std::to_string(kBrokerRunExpiryNs), &error);
      touched = MonotonicNanos();
    }
  }
  TraceEvent("keeper finishing");
  // The last deliveries' advisories come as the edges end, maybe just
  // before the supervisor closed the pipe; their batches are read from
  // the streams.
  for (const std::string& line : poison->Check(true)) Report(report_fd, line);
  // The job keys and the edges' streams go on threads of their own (the
  // link is thread-safe). If the run went through: the job keys now, and
  // the streams (nothing is left on them for anyone; a part still
  // settling finds them gone). Else the parts are told to stop first
  // (their instances wait for inputs that will never end: before, they ran
  // on for the broker wait after the run's removal, and the origin waited
  // kPartEndWaitMs for them), and the streams go once the parts are over
  // (so that a failing part fails for its own reason), the job keys after
  // the streams (below; and no removal of a job key overtakes its stop).
  std::string removal_error;
  bool edges_removed = false;
  const auto remove_edges = [&] { edges_removed = RemoveNatsEdges(*link, run, streams, &removal_error); };
  const auto withdraw_run = [&workers, &asked, &run] { WithdrawRun(workers.get(), asked, run); };
  std::thread withdraw, edge_remover;
  if (through) {
    withdraw = std::thread(withdraw_run);
    edge_remover = std::thread(remove_edges);
  } else {
    StopParts(workers.get(), asked, run);
  }
  sweep.join();
  if (!sweep_error.empty()) Report(report_fd, "log flowrun: warning: stale runs not removed from the broker: " + sweep_error);
  parts.Conclude();
  TraceEvent("keeper parts concluded");
  // The parts have said done: whatever they logged was published before.
  for (const std::string& text : logs.Take(true)) Report(report_fd, "log " + text);
  if (!through) edge_remover = std::thread(remove_edges);
  // The bucket now, beside the streams (a removal is 2-5 ms on a busy
  // broker, the last step of every run): nothing reads it once the parts
  // are over. Should this process die before the streams are gone, the
  // next run's sweep removes them (SweepStaleNatsRuns: streams whose bucket
  // is gone).
  run_board.reset();
  const std::vector<size_t> none;
  const bool bucket_removed = RemoveNatsRun(*link, run, &error, &none);
  TraceEvent("keeper bucket removed");
  edge_remover.join();
  TraceEvent("keeper edges removed");
  // After a run that did not go through, the job keys go once its streams
  // have: a run that failed because the broker's storage was full would
  // otherwise find no room to remove them either (a removal is a message
  // too), and each key left holds its worker's slots for an hour.
  if (through) {
    withdraw.join();
  } else {
    withdraw_run();
  }
  TraceEvent("keeper job keys withdrawn");
  if (!edges_removed || !bucket_removed) {
    Report(report_fd, edges_removed ? error : removal_error);
    return 1;
  }
  TraceEvent("keeper removed");
  Report(report_fd, kReportRemoved);
  // The run is gone and said so: libnats's objects are left to the exit,
  // as an instance's are (BrokerEdges::SettleForExit says why).
  _exit(0);
}

}  // namespace

std::unique_ptr<BrokerKeeper> BrokerKeeper::Start(const StageGraph& graph, const BrokerAccess& broker,
                                                  const std::string& description,
                                                  const std::function<void()>& connected, std::string* error) {
  std::unique_ptr<BrokerKeeper> keeper(new BrokerKeeper(broker, NewRunId()));
  int report[2], control[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    *error = std::string("cannot make a pipe for the broker keeper: ") + strerror(errno);
    return nullptr;
  }
  if (pipe2(control, O_CLOEXEC) != 0) {
    *error = std::string("cannot make a pipe for the broker keeper: ") + strerror(errno);
    close(report[0]);
    close(report[1]);
    return nullptr;
  }
  ChildOptions options;
  options.name = "flowrun-keeper";
  // Its own group: Ctrl-C on the terminal is the supervisor's to handle,
  // and the keeper must live to remove the run after it.
  options.process_group = 0;
  const int parent_ends[] = {report[0], control[1]};
  options.close_in_child = parent_ends;
  const std::string run = keeper->run_;
  const int report_w = report[1], control_r = control[0];
  Child child;
  const bool started = StartChild(
      options,
      [&graph, &broker, &run, &description, &connected, report_w, control_r] {
        return KeeperMain(graph, broker, run, description, connected, report_w, control_r);
      },
      &child, error);
  close(report[1]);
  close(control[0]);
  keeper->report_fd_ = report[0];
  keeper->control_fd_ = control[1];
  if (!started) return nullptr;
  keeper->pid_ = child.pid;
  keeper->placement_.where.resize(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    keeper->placement_.where[n].assign(static_cast<size_t>(graph.nodes[n].replicas), "");
  return keeper;
}

bool BrokerKeeper::AwaitReady(std::string* error) { return AwaitReady(error, {}, {}); }

bool BrokerKeeper::AwaitReady(std::string* error, const std::function<bool()>& stop,
                              const std::function<void()>& made) {
  std::string line;
  for (;;) {
    // The keeper writes each line whole: readable, it is all there.
    while (stop && pending_.empty()) {
      pollfd p = {report_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) != 0) break;
      if (stop()) {
        error->clear();
        return false;
      }
    }
    if (!ReadReport(&line)) line = "the broker keeper process ended without a word";
    if (line == kReportMade) {
      if (made) made();
      continue;
    }
    size_t n = 0, i = 0;
    char worker[64];
    if (std::sscanf(line.c_str(), "place %zu %zu %63s", &n, &i, worker) == 3 && n < placement_.where.size() &&
        i < placement_.where[n].size()) {
      placement_.where[n][i] = worker;
      continue;
    }
    break;
  }
  if (line != kReportOk) {
    *error = line;
    return false;  // the destructor reaps it
  }
  return true;
}

BrokerKeeper::~BrokerKeeper() {
  std::string ignored;
  Finish(false, &ignored);
}

bool BrokerKeeper::ReadReport(std::string* line) {
  line->clear();
  for (;;) {
    char c;
    if (!pending_.empty()) {  // left by Events
      c = pending_[0];
      pending_.erase(0, 1);
      if (c == '\n') return true;
      *line += c;
      continue;
    }
    const ssize_t n = read(report_fd_, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (c == '\n') return true;
    *line += c;
  }
}

std::vector<std::string> BrokerKeeper::Events(bool* ended) {
  std::vector<std::string> lines;
  *ended = false;
  char buffer[4096];
  // One read: the loop polled the descriptor, so it does not block.
  const ssize_t n = read(report_fd_, buffer, sizeof buffer);
  if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) *ended = true;
  if (n > 0) pending_.append(buffer, static_cast<size_t>(n));
  size_t newline;
  while ((newline = pending_.find('\n')) != std::string::npos) {
    lines.push_back(pending_.substr(0, newline));
    pending_.erase(0, newline + 1);
  }
  return lines;
}

bool BrokerKeeper::Finish(bool through, std::string* error, std::vector<std::string>* counters,
                          std::vector<std::string>* poison, std::vector<std::string>* logs) {
  if (control_fd_ >= 0) {
    if (through) (void)!write(control_fd_, &kRunThrough, 1);
    close(control_fd_);
    control_fd_ = -1;
  }
  bool ok = true;
  if (report_fd_ >= 0) {
    // Events not read yet come first: skipped.
    std::string line;
    bool got = false;
    const auto is_event = [](const std::string& said) {
      if (said == kReportOk) return true;  // not awaited: the pool could not start
      for (const char* word :
           {"lost ", "left ", "failed ", "counters ", "poison ", "log ", "snapshot ", "place ", "joined "}) {
        if (said.rfind(word, 0) == 0) return true;
      }
      return false;
    };
    while (pid_ > 0 && (got = ReadReport(&line)) && is_event(line)) {
      if (counters != nullptr && line.rfind("counters ", 0) == 0) counters->push_back(line.substr(9));
      if (poison != nullptr && line.rfind("poison ", 0) == 0) poison->push_back(line.substr(7));
      if (logs != nullptr && line.rfind("log ", 0) == 0) logs->push_back(line.substr(4));
    }
    if (pid_ > 0 && !got) line = "the broker keeper process ended without removing the run";
    if (pid_ > 0 && line != kReportRemoved) {
      *error = line;
      ok = false;
    }
    close(report_fd_);
    report_fd_ = -1;
  }
  if (pid_ > 0) {
    ExitStatus status;
    std::string wait_error;
    if (!WaitForChild(pid_, &status, &wait_error) && ok) {
      *error = wait_error;
      ok = false;
    }
    pid_ = -1;
  }
  return ok;
}

}  // namespace flow
