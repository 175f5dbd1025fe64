#include "runtime/runner.h"
#include "runtime/runner_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <thread>
#include <utility>

#include "runtime/broker_edges.h"
#include "runtime/broker_order_gate.h"
#include "runtime/nats_queue.h"
#include "runtime/nats_run.h"
#include "runtime/progress_display.h"
#include "runtime/recovery.h"
#include "runtime/recovery_book.h"
#include "runtime/remote_log.h"
#include "runtime/run_control.h"
#include "runtime/run_stats.h"
#include "runtime/shm_queue.h"
#include "runtime/trace.h"
#include "runtime/worker.h"
#include "runtime/worker_pool.h"

namespace flow {
namespace runner_internal {
namespace {

// A periodic timerfd for the supervisor's event loop; fd() < 0 when off.
class Ticker {
 public:
  explicit Ticker(int64_t every_ms) {
    if (every_ms <= 0) return;
    fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    const timespec every = {every_ms / 1000, (every_ms % 1000) * 1'000'000};
    const itimerspec spec = {every, every};
    if (fd_ >= 0 && timerfd_settime(fd_, 0, &spec, nullptr) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Ticker() {
    if (fd_ >= 0) close(fd_);
  }
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;
  int fd() const { return fd_; }
  void Consume() {
    uint64_t expirations = 0;
    if (read(fd_, &expirations, sizeof expirations) < 0) return;  // EAGAIN: nothing yet
  }

 private:
  int fd_ = -1;
};

// The file a sink writes ("-" for stdout), or "" when the node has none.
std::string OutputPath(const StageNode& node) {
  if (node.signature == nullptr || !node.outputs.empty()) return "";
  for (const ParamSignature& param : node.signature->params) {
    if (param.path_role != PathRole::kOutputFile) continue;
    auto it = node.args.find(param.name);
    if (it != node.args.end() && it->second.type() == Type::kStr) return it->second.as_str();
  }
  return "";
}


bool WriteFile(const std::string& path, const std::string& text, std::string* error) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    *error = strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = n < 0 ? strerror(errno) : "short write";
      close(fd);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0) {
    *error = strerror(errno);
    return false;
  }
  return true;
}

// A worker that replaces one that died, on a broker: the dead one's books
// on the broker say how far it got publishing the outputs of the lease it
// held, which comes back after its ack wait; those outputs must not go out
// again. The supervisor writes these floors itself for a shared-memory
// edge (Recovery::NoteLease), but it cannot read the broker, so the
// replacement, which starts long before the ack wait is over, does.
void RaiseFloorsFromBroker(const StageNode& node, int instance, const std::vector<Queue*>& edge_queues,
                           const std::vector<bool>& on_broker, RecoveryBook* book) {
  if (node.inputs.empty() || node.outputs.size() > kMaxRedoOutputs) return;
  for (size_t k = 0; k < node.outputs.size(); ++k) {
    if (!on_broker[static_cast<size_t>(node.outputs[k])]) continue;
    const ProducerProgress p = edge_queues[static_cast<size_t>(node.outputs[k])]->PublishedBy(instance);
    if (p.origin == 0) continue;  // nothing published yet: a first start
    RedoEntry* entry = book->Find(p.origin - 1);
    if (entry == nullptr) continue;  // that lease was acknowledged: nothing to redo
    const uint64_t floor = static_cast<uint64_t>(p.last_seq) + 1;
    if (floor > entry->floors[k].load(std::memory_order_relaxed)) entry->floors[k].store(floor, std::memory_order_relaxed);
  }
}


}  // namespace

void Say(int fd, const std::string& line) {
  std::string text = line + "\n";
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stderr is gone: the exit code still tells
    data += n;
    left -= static_cast<size_t>(n);
  }
}

bool Runner::Prepare() {
  std::string error;
  on_broker_ = !options_.broker.empty();
  for (const StageNode& node : graph_.nodes) {
    if (options_.part) break;  // a dead-letter stage stays on the origin
    if (node.options.on_error == OnError::kDeadLetter && options_.dead_letter_path.empty()) {
      Say(options_.log_fd, "flowrun: error: stage '" + node.label +
                               "' has [on_error = dead_letter]: give --dead-letter PATH");
      prepare_exit_ = 2;
      return false;
    }
  }
  edge_on_broker_.assign(graph_.edges.size(), false);
  if (on_broker_) edge_on_broker_ = EdgesOnBroker(graph_);
  for (size_t e = 0; e < graph_.edges.size(); ++e) {
    const QueueEdge& edge = graph_.edges[e];
    // The keeper makes those on the broker (Run); a part never runs the
    // stages of the others, which stay on the origin.
    if (edge_on_broker_[e] || options_.part) {
      queues_.push_back(nullptr);
      continue;
    }
    ShmQueueOptions q;
    q.producers = graph_.nodes[static_cast<size_t>(edge.from)].replicas;
    q.consumers = graph_.nodes[static_cast<size_t>(edge.to)].replicas;
    q.capacity_records = edge.capacity_records;
    q.capacity_bytes = edge.capacity_bytes;
    std::unique_ptr<ShmQueue> queue = ShmQueue::Create(q, &error);
    if (!queue) {
      Say(options_.log_fd, "flowrun: error: queue '" + graph_.nodes[static_cast<size_t>(edge.from)].label +
                               "' -> '" + graph_.nodes[static_cast<size_t>(edge.to)].label + "': " + error);
      return false;
    }
    queues_.push_back(std::move(queue));
  }
  edge_queues_.assign(graph_.edges.size(), nullptr);
  for (size_t e = 0; e < queues_.size(); ++e) edge_queues_[e] = queues_[e].get();
  first_slot_ = StatsSlots(graph_);
  control_ = RunControl::Create(graph_.nodes.size(), graph_.edges.size(), &error);
  if (control_) stats_ = RunStats::Create(first_slot_.back(), &error);
  if (stats_) book_ = RecoveryBook::Create(first_slot_.back(), &error);
  if (!control_ || !stats_ || !book_) {
    Say(options_.log_fd, "flowrun: error: " + error);
    return false;
  }
  if (!options_.dead_letter_path.empty()) {
    dead_letter_fd_ = open(options_.dead_letter_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (dead_letter_fd_ < 0) {
      Say(options_.log_fd, "flowrun: error: cannot open the dead-letter file '" + options_.dead_letter_path +
                               "': " + strerror(errno));
      return false;
    }
  }
  for (const StageNode& node : graph_.nodes) {
    std::string target = options_.part ? "" : OutputPath(node);  // a worker's part has no sink
    if (target == "-") target.clear();
    // A device, a FIFO or a socket (/dev/null, a named pipe) is written in
    // place: renaming a file onto it would replace it (as root, /dev/null
    // would become a plain file), and it has no half-written state to hide.
    struct stat info {};
    if (!target.empty() && stat(target.c_str(), &info) == 0 && !S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode)) {
      temp_paths_.push_back(target);
      targets_.push_back("");
      continue;
    }
    temp_paths_.push_back(target.empty() ? "" : SinkTempPath(target, node.id));
    // The name is this supervisor's; a file of a dead one with the same pid
    // must not be taken for the output so far.
    if (!target.empty()) unlink(temp_paths_.back().c_str());
    targets_.push_back(std::move(target));
  }
  return true;
}

std::string Runner::Location(const StageNode& node) const {
  return options_.program_path + ":" + std::to_string(node.loc.line) + ":" + std::to_string(node.loc.column);
}

WorkerSetup Runner::SetupFor(size_t n, int instance) const {
  const StageNode& node = graph_.nodes[n];
  WorkerSetup s;
  s.name = node.label + "#" + std::to_string(instance + 1);
  s.location = Location(node);
  s.instance = instance;
  for (int e : node.inputs) {
    s.input_edges.push_back(static_cast<size_t>(e));
    s.inputs.push_back(edge_queues_[static_cast<size_t>(e)]);
    s.input_hints.push_back(&control_->batch_hint(static_cast<size_t>(e)));
  }
  // Where a lease is one record whose work is long beside the round trips
  // that finish it. Not for a fast stage's large batches: map * 4 on the
  // broker made 3.64M records/s so, 3.90M without (one run each).
  s.finish_in_background = node.inputs.size() == 1 && edge_on_broker_[static_cast<size_t>(node.inputs[0])] &&
                           BrokerBatchRecords(graph_, graph_.edges[static_cast<size_t>(node.inputs[0])]) == 1;
  for (int e : node.outputs) {
    s.outputs.push_back(edge_queues_[static_cast<size_t>(e)]);
    // On a broker, a batch's message id names its records, and a lease
    // redone elsewhere is dropped as a duplicate only if it is cut into
    // the same batches: a size fixed by the graph, never one that changes
    // over time (BrokerBatchRecords).
    BatchHint* hint = &control_->batch_hint(static_cast<size_t>(e));
    if (edge_on_broker_[static_cast<size_t>(e)])
      hint = BrokerBatchRecords(graph_, graph_.edges[static_cast<size_t>(e)]) == 1 ? &one_record_ : nullptr;
    s.output_hints.push_back(hint);
  }
  if (node.options.ordered && node.replicas > 1) s.order_gate = &control_->gate(n);
  s.on_error = node.options.on_error;
  s.retries = node.options.retries;
  s.timeout_ns = node.options.timeout_ns;
  s.book = book_.get();
  s.journal = &book_->journal(first_slot_[n] + static_cast<size_t>(instance));
  s.dead_letter_fd = dead_letter_fd_;
  s.counters = &stats_->at(first_slot_[n] + static_cast<size_t>(instance));
  s.stop_requested = control_->stop_flag();
  s.writes_stdout = OutputPath(node) == "-";
  return s;
}

Runner::TakenOver Runner::TakenOverAs(size_t slot) const {
  return slot < taken_over_.size() ? taken_over_[slot] : TakenOver::kNo;
}

bool Runner::FirstOfSlot(size_t slot) const {
  return pool_ != nullptr && pool_->restarts(slot) == 0 && TakenOverAs(slot) == TakenOver::kNo;
}

int Runner::WorkerMain(size_t n, int instance) {
  const StageNode& node = graph_.nodes[n];
  // With a broker: this process's own connection, made after the fork
  // (libnats is not fork-safe), and its NatsQueues in edge_queues_ (this
  // process's copy). Declared first: it outlives the stage and the loop.
  std::unique_ptr<BrokerEdges> broker;
  if (on_broker_ && keeper_) {
    for (int fd : keeper_->descriptors()) close(fd);
  }
  // A stage whose edges are all local (between stages that stay on the
  // origin) needs no connection.
  bool uses_broker = false;
  for (int e : node.inputs) uses_broker = uses_broker || edge_on_broker_[static_cast<size_t>(e)];
  for (int e : node.outputs) uses_broker = uses_broker || edge_on_broker_[static_cast<size_t>(e)];
  // Started while the keeper makes the run (StartsEarly), a stage whose
  // edges are all here still waits for it: a run whose broker cannot be
  // used does nothing.
  if (keeper_ && !uses_broker) control_->AwaitRunMade();
  // What this slot's process before this one fetched and never answered
  // (it died): handed back below, before this one takes anything.
  const HandBackPage hand_back =
      hand_back_ ? hand_back_->page(first_slot_[n] + static_cast<size_t>(instance)) : HandBackPage();
  size_t handed_back = 0;
  if (uses_broker) {
    std::string error;
    TraceEvent("instance " + node.label + "#" + std::to_string(instance + 1) + " start");
    if (keeper_) {
      // Maybe started while the keeper makes the run (StartsEarly): it
      // connects, then waits for the run's streams. A failure to connect
      // is told after the wait, so that a run whose keeper failed (the
      // broker is unreachable) says so once, not once per instance. A
      // user of a JWT account (a credentials file: the only way to one)
      // connects once the keeper has: RunControl::AwaitKeeperConnected
      // says why. Others need not: their accounts are the server's from
      // its start, and waiting cost a whois run 2-3 ms.
      if (!options_.broker.creds_file.empty()) control_->AwaitKeeperConnected();
      TraceEvent("instance " + node.label + "#" + std::to_string(instance + 1) + " connects");
      broker = BrokerEdges::Connect(options_.broker, graph_, n, &error);
      control_->AwaitRunMade();
      if (broker && !broker->OpenEdges(run_id_, graph_, n, hand_back, &error)) broker.reset();
    } else {
      // On a worker: offered the run before its edges were made (the
      // keeper makes them while the parts start), it waits for them;
      // offered once they were, it looks for nothing.
      const bool made = options_.part && options_.part->run_made;
      broker = BrokerEdges::Connect(options_.broker, graph_, n, &error);
      if (broker && !((made || AwaitNatsRunMade(broker->link(), run_id_, &error)) &&
                      broker->OpenEdges(run_id_, graph_, n, hand_back, &error)))
        broker.reset();
    }
    TraceEvent("instance " + node.label + "#" + std::to_string(instance + 1) + " edges open");
    if (!broker) {
      Say(STDERR_FILENO, Location(node) + ": error: '" + node.label + "#" + std::to_string(instance + 1) +
                             "': " + error);
      return 1;
    }
    for (int e : node.inputs) {
      if (edge_on_broker_[static_cast<size_t>(e)]) edge_queues_[static_cast<size_t>(e)] = broker->edge(static_cast<size_t>(e));
    }
    for (int e : node.outputs) {
      if (edge_on_broker_[static_cast<size_t>(e)]) edge_queues_[static_cast<size_t>(e)] = broker->edge(static_cast<size_t>(e));
    }
    if (FirstOfSlot(first_slot_[n] + static_cast<size_t>(instance))) {
      for (int e : node.outputs) {
        if (NatsQueue* q = broker->nats_edge(static_cast<size_t>(e))) q->StartsFresh(instance);
      }
    }
    RaiseFloorsFromBroker(node, instance, edge_queues_, edge_on_broker_, book_.get());
    handed_back = HandBack(broker->link(), hand_back.TakeAll());
    if (handed_back > 0)
      TraceEvent("instance " + node.label + "#" + std::to_string(instance + 1) + " handed back " +
                 std::to_string(handed_back));
    if (hand_back_ && options_.part) {
      // The worker's word before it kills this process (it stops): what an
      // ask ahead brought is noted, and no more is asked for. Only a
      // worker's parts hear it (nobody asks the origin's instances).
      // Detached: it waits as long as the process lives, and the edges are
      // never freed once open (SettleForExit leaves them to the exit).
      const HandBackBook* book = hand_back_.get();
      BrokerEdges* edges = broker.get();
      std::thread([book, edges] {
        book->WaitForLeave();
        edges->Leave();
      }).detach();
    }
  }
  WorkerSetup setup = SetupFor(n, instance);
  // On a broker an [ordered] stage's turns are the broker's, shared by its
  // replicas on every machine (runtime/broker_order_gate.h).
  std::unique_ptr<BrokerOrderGate> broker_turns;
  if (broker && setup.order_gate != nullptr && edge_on_broker_[static_cast<size_t>(node.inputs[0])]) {
    // A replica started again, here or in place of a lost worker's, waits
    // for the dead one's batches before it takes (broker_order_gate.h),
    // unless they were handed back, by itself or by the worker that left
    // (runtime/hand_back_book.h): they are back now, and the broker hands
    // redeliveries out before new batches.
    const size_t slot = first_slot_[n] + static_cast<size_t>(instance);
    const bool back_already = handed_back > 0 || (TakenOverAs(slot) == TakenOver::kFromLeft && pool_ != nullptr &&
                                                  pool_->restarts(slot) == 0);
    const bool replaces = !FirstOfSlot(slot) && !back_already;
    broker_turns = BrokerOrderGate::Open(broker->link(), run_id_, n,
                                         broker->nats_edge(static_cast<size_t>(node.inputs[0])), replaces);
    setup.order_gate = broker_turns.get();
    TraceEvent("order gate open");
  }
  StageInstance what;
  what.node = &node;
  what.instance = instance;
  what.block = n < blocks_.size() ? blocks_[n] : BlockFunction{};
  what.temp_path = temp_paths_[n];
  what.stop_requested = control_->stop_flag();
  std::string error;
  // The process exits next: its edges are settled with the broker, and
  // libnats's objects left to the exit (BrokerEdges::SettleForExit; the
  // leave thread may still look at them). Why a queue failed as it settled.
  const auto settle_for_exit = [&]() -> std::string {
    if (!broker) return "";
    const std::string settle_error = broker->SettleForExit();
    (void)broker_turns.release();
    (void)broker.release();
    return settle_error;
  };
  std::unique_ptr<Stage> stage = make_stage_(what, &error);
  if (!stage) {
    Say(setup.error_fd, setup.location + ": error: '" + setup.name + "': " + error);
    settle_for_exit();
    return 1;
  }
  TraceEvent("instance " + setup.name + " loop");
  const int code = RunWorker(*stage, setup);
  TraceEvent("instance " + setup.name + " end");
  // Exit 1 is a failure this worker reported itself, which stops the run
  // (as on one machine): what it held must not run again elsewhere.
  if (code == 1 && broker) broker->GiveUpHeld();
  stage.reset();
  const std::string settle_error = settle_for_exit();
  if (code == 0 && !settle_error.empty()) {
    Say(setup.error_fd, setup.location + ": error: '" + setup.name + "': " + settle_error);
    return 1;
  }
  return code;
}

std::vector<WorkerSpec> Runner::Specs() {
  std::vector<WorkerSpec> specs;
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    for (int i = 0; i < graph_.nodes[n].replicas; ++i) {
      specs.push_back({graph_.nodes[n].label + "#" + std::to_string(i + 1),
                       [this, n, i] { return WorkerMain(n, i); }, RunsElsewhere(n, i) || !StartsEarly(n)});
    }
  }
  return specs;
}

bool Runner::StartsEarly(size_t n) const {
  return !keeper_ || (!WhyOnOrigin(graph_.nodes[n]).empty() && !graph_.nodes[n].block);
}

bool Runner::RunsElsewhere(size_t n, int i) const {
  if (!on_broker_) return false;
  const std::string& where = placement_.where[n][static_cast<size_t>(i)];
  return options_.part ? where != options_.part->worker : !where.empty();
}

std::string Runner::StatsText(uint64_t elapsed_ns) const {
  if (added_counters_.empty()) return StatsJson(graph_, *stats_, elapsed_ns);
  // The graph as it grew, its instances' counters in slots made for it.
  StageGraph grown = graph_;
  for (const auto& [key, counters] : added_counters_) {
    StageNode& node = grown.nodes[key.first];
    node.replicas = std::max(node.replicas, static_cast<int>(key.second) + 1);
  }
  const std::vector<size_t> first = StatsSlots(grown);
  std::string error;
  std::unique_ptr<RunStats> all = RunStats::Create(first.back(), &error);
  if (!all) return StatsJson(graph_, *stats_, elapsed_ns);
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    for (size_t i = 0; i < static_cast<size_t>(graph_.nodes[n].replicas); ++i)
      AddCountersLine(CountersLine(stats_->at(first_slot_[n] + i)), &all->at(first[n] + i));
  }
  for (const auto& [key, counters] : added_counters_)
    AddCountersLine(CountersLine(counters), &all->at(first[key.first] + key.second));
  return StatsJson(grown, *all, elapsed_ns);
}

void Runner::WriteOurCounters() {
  std::string text;
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    for (int i = 0; i < graph_.nodes[n].replicas; ++i) {
      if (RunsElsewhere(n, i)) continue;
      text += std::to_string(n) + " " + std::to_string(i) + " " +
              CountersLine(stats_->at(first_slot_[n] + static_cast<size_t>(i))) + "\n";
    }
  }
  // Whole or not at all: the worker reads it while the part runs.
  std::string error;
  const std::string temp = options_.part->counters_path + ".new";
  if (!WriteFile(temp, text, &error) || rename(temp.c_str(), options_.part->counters_path.c_str()) != 0) {
    if (error.empty()) error = strerror(errno);
    Say(options_.log_fd, "flowrun: warning: cannot write the part's counters: " + error);
  }
}

void Runner::ReportSkips() {
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    uint64_t skipped = 0, dead = 0;
    for (size_t slot = first_slot_[n]; slot < first_slot_[n + 1]; ++slot) {
      skipped += stats_->at(slot).skipped.load(std::memory_order_relaxed);
      dead += stats_->at(slot).dead_letters.load(std::memory_order_relaxed);
    }
    for (const auto& [key, counters] : added_counters_) {
      if (key.first != n) continue;
      skipped += counters.skipped.load(std::memory_order_relaxed);
      dead += counters.dead_letters.load(std::memory_order_relaxed);
    }
    const std::string& label = graph_.nodes[n].label;
    auto records = [](uint64_t k) { return std::to_string(k) + (k == 1 ? " record" : " records"); };
    if (skipped > 0) {
      Say(options_.log_fd, "flowrun: '" + label + "' skipped " + records(skipped) + " that failed ([on_error = skip])");
    }
    if (dead > 0) {
      Say(options_.log_fd, "flowrun: '" + label + "' wrote " + records(dead) + " that failed to '" +
                               options_.dead_letter_path + "' ([on_error = dead_letter])");
    }
  }
}

// Sinks' files: renamed onto their targets after a success, removed after
// anything else, so a target is either untouched or complete.
int Runner::Conclude(int exit_code) {
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    const std::string& temp = temp_paths_[n];
    if (temp.empty() || targets_[n].empty()) continue;  // none, or written in place
    if (exit_code != 0) {
      unlink(temp.c_str());
      continue;
    }
    struct stat st;
    std::string error;
    if (stat(temp.c_str(), &st) != 0) {
      // The sink had nothing to write and made no file: the target is empty.
      if (!WriteFile(targets_[n], "", &error)) {
        Say(options_.log_fd, "flowrun: error: cannot write '" + targets_[n] + "': " + error);
        exit_code = 1;
      }
    } else if (rename(temp.c_str(), targets_[n].c_str()) != 0) {
      Say(options_.log_fd, "flowrun: error: cannot rename '" + temp + "' to '" + targets_[n] + "': " +
                               strerror(errno));
      unlink(temp.c_str());
      exit_code = 1;
    }
  }
  return exit_code;
}

int Runner::Run() {
  TraceEvent(options_.part ? "part run" : "run");
  if (!Prepare()) return prepare_exit_;
  TraceEvent("prepared");
  const uint64_t start = MonotonicNanos();
  if (on_broker_) {
    PrepareToForkLinks();  // the keeper and every worker connect
    // Mapped before the fork, so that every instance (and its replacement)
    // shares it; in the memfd of this part's worker, which reads it if the
    // part is killed (runtime/hand_back_book.h).
    std::string error;
    const int fd = options_.part ? options_.part->hand_back_fd : -1;
    hand_back_ = fd >= 0 ? HandBackBook::Adopt(fd, first_slot_.back(), &error)
                         : HandBackBook::Create(first_slot_.back(), &error);
    // Without it, a dead instance's batches come back after their ack wait.
    if (!hand_back_) Say(options_.log_fd, "flowrun: warning: " + error);
  }
  if (options_.part) {
    run_id_ = options_.part->run;
    placement_ = options_.part->placement;
  } else if (on_broker_) {
    std::string error;
    RunControl* control = control_.get();
    keeper_ = BrokerKeeper::Start(
        graph_, options_.broker, options_.description, [control] { control->MarkKeeperConnected(); }, &error);
    if (!keeper_) {
      Say(options_.log_fd, "flowrun: error: " + error);
      return 1;
    }
    run_id_ = keeper_->run();
    placement_ = keeper_->placement();  // every instance here, until the keeper says
  }
  // On the origin of a run on a broker the blocks are made once the
  // instances that need none started (AwaitKeeper); else now, for every
  // worker to inherit them.
  if (!keeper_ && options_.make_blocks) options_.make_blocks();

  // Null for an edge on the broker: recovery and the display leave it be.
  std::vector<ShmQueue*> queues(graph_.edges.size(), nullptr);
  for (size_t e = 0; e < queues_.size(); ++e) queues[e] = queues_[e].get();
  Recovery recovery(graph_, queues, first_slot_, book_.get(), options_.max_restarts);
  RecoveringPolicy policy(&recovery, [this] { control_->RequestStop(); }, options_.grace);
  std::unique_ptr<ProgressDisplay> display;
  if (options_.progress && isatty(options_.log_fd)) {
    std::vector<const ShmQueue*> shown(queues.begin(), queues.end());
    display = std::make_unique<ProgressDisplay>(graph_, *stats_, shown, options_.log_fd);
    std::string error;
    if (keeper_) remote_stats_ = RunStats::Create(stats_->size(), &error);
    display->SetRemote(remote_stats_.get());
    display_ = display.get();
    if (!display->Start(&error)) {
      Say(options_.log_fd, "flowrun: warning: " + error);
      display.reset();
    }
  }
  WorkerPool::Result result;
  events_log_fd_ = display ? display->log_fd() : options_.log_fd;
  Ticker part_timer(options_.part && !options_.part->counters_path.empty() ? kPartCountersEveryMs : 0);
  {
    WorkerPool pool(&policy, display ? display->log_fd() : options_.log_fd);
    pool_ = &pool;
    // A kill -9 of this process leaves no sink's temporary file (Conclude
    // removes them on every other end).
    std::vector<std::string> temporary;
    for (size_t n = 0; n < temp_paths_.size(); ++n) {
      if (!temp_paths_[n].empty() && !targets_[n].empty()) temporary.push_back(temp_paths_[n]);
    }
    pool.RemoveIfOrphaned(std::move(temporary));
    std::string error;
    if (!pool.Start(Specs(), &error)) {
      result = {1, error};
    } else if (keeper_ && !AwaitKeeper(pool, &error)) {
      if (display) display->Finish();
      if (!error.empty()) Say(options_.log_fd, "flowrun: error: " + error);  // empty: interrupted
      return 1;  // the pool kills the instances waiting for the run
    } else {
      if (keeper_) pool.Watch(keeper_->events_fd(), [this, &pool] { return OnKeeperEvents(pool); });
      if (display) {
        pool.Watch(display->timer_fd(), [&display] {
          display->OnTick();
          return Decision::CarryOn();
        });
      }
      if (part_timer.fd() >= 0) {
        // A part's counters so far, for the origin's --progress: its worker
        // passes them on with each beat.
        pool.Watch(part_timer.fd(), [this, &part_timer] {
          part_timer.Consume();
          WriteOurCounters();
          return Decision::CarryOn();
        });
      }
      TraceEvent("workers started");
      result = pool.Run();
      TraceEvent("workers ended");
    }
    pool_ = nullptr;
  }  // every worker is reaped here, and its last log lines are out
  if (display) display->Finish();
  display_ = nullptr;
  events_log_fd_ = options_.log_fd;  // the display is done: straight to the log
  if (keeper_) {
    // Every worker is gone: the run's streams and bucket go too. Before,
    // the keeper passes on what the workers' parts counted.
    std::string error;
    std::vector<std::string> counters, poison, logs;
    if (!keeper_->Finish(result.exit_code == 0, &error, &counters, &poison, &logs))
      Say(options_.log_fd, "flowrun: warning: the run's streams may be left on the broker: " + error);
    TraceEvent("keeper finished");
    for (const std::string& text : logs) Say(options_.log_fd, RemoteLogLine(text));
    AddRemoteCounters(counters);
    for (const std::string& line : poison) {
      if (OnPoison(line).kind != Decision::Kind::kCarryOn && result.exit_code == 0) result.exit_code = 1;
    }
  }
  if (options_.part && !options_.part->counters_path.empty()) WriteOurCounters();
  const uint64_t elapsed = MonotonicNanos() - start;
  if (result.exit_code != 0 && !result.reason.empty()) {
    bool interrupted = result.exit_code == 128 + SIGINT || result.exit_code == 128 + SIGTERM;
    Say(options_.log_fd, std::string(interrupted ? "flowrun: " : "flowrun: error: ") + result.reason);
  }
  int exit_code = Conclude(result.exit_code);
  ReportSkips();
  if (recovery.restarts() > 0) {
    Say(options_.log_fd, "flowrun: " + std::to_string(recovery.restarts()) +
                             (recovery.restarts() == 1 ? " worker was" : " workers were") + " replaced after dying");
  }
  if (!options_.stats_path.empty()) {
    std::string error;
    if (!WriteFile(options_.stats_path, StatsText(elapsed), &error)) {
      Say(options_.log_fd, "flowrun: error: cannot write the statistics to '" + options_.stats_path +
                               "': " + error);
      if (exit_code == 0) exit_code = 1;
    }
  }
  return exit_code;
}

}  // namespace runner_internal

std::string SinkTempPath(const std::string& target, int node_id) {
  const size_t slash = target.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : target.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? target : target.substr(slash + 1);
  return dir + "." + name + ".flowrun-" + std::to_string(getpid()) + "-" + std::to_string(node_id) + ".tmp";
}

int RunGraph(const StageGraph& graph, const std::vector<BlockFunction>& blocks,
             const StageMaker& make_stage, const RunOptions& options) {
  runner_internal::Runner runner(graph, blocks, make_stage, options);
  return runner.Run();
}

}  // namespace flow
