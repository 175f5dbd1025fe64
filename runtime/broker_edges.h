// A run's edges on a NATS JetStream broker (`flowrun run --broker URL`,
// issue 8): every edge of the stage graph is a NatsQueue instead of a
// ShmQueue; the workers are still forked on this machine.
//
// libnats starts threads and has no fork handlers, so the supervisor never
// calls it: it would fork its workers afterwards. Two kinds of process do:
//
//   - the keeper (BrokerKeeper), one child forked before any worker: it
//     sweeps the broker of stale runs, creates this run's bucket and one
//     stream per edge, says so on a pipe, keeps the run's heartbeat while
//     the run lasts, and removes the run when the supervisor closes its
//     end of the control pipe. If the supervisor dies, the keeper dies
//     with it (PR_SET_PDEATHSIG) and the run is swept after its expiry;
//   - each worker (BrokerEdges), which opens its own connection after the
//     fork and its NatsQueue for the edges of its stage.
//
// Nothing but pipes passes between the supervisor and the keeper; the run
// id is drawn in the supervisor (no libnats call) and inherited.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "compiler/stage_graph.h"
#include "runtime/broker_access.h"
#include "runtime/hand_back_book.h"
#include "runtime/placement.h"
#include "runtime/queue.h"

namespace flow {

class NatsLink;
class NatsQueue;
struct NatsEdgeOptions;

// How long a run survives on the broker without a heartbeat (an origin
// that crashed), and how often the keeper beats: often enough for the
// workers' parts to hear within seconds that their origin is gone
// (kOriginSilentMs), and a key-value put a second is nothing to a broker.
inline constexpr int64_t kBrokerRunExpiryNs = 60'000'000'000;
inline constexpr int64_t kBrokerHeartbeatMs = 1'000;
// The ack wait of an edge whose consumer has no [timeout]: a dead
// worker's batches go to another after this long.
inline constexpr int64_t kBrokerAckWaitNs = 5'000'000'000;
// Batches an edge holds on the broker before its producers wait.
inline constexpr int64_t kBrokerEdgeBatches = 64;

// The records a producer puts in one batch on edge `edge` of a run on a
// broker: 0 for full batches (4,096 records or 256 KiB), 1 for an edge
// into a stage that is slow per record by nature (sleep, exec, whois,
// sha512: side effects or heavy work). Why a rule fixed by the graph and
// not the adaptive size of a local run: a lease redone on another machine
// must be cut into the same batches, whose message ids then drop the
// copies. Why 1: a batch goes to one replica, and a replica holding many
// records of a 50 ms stage would keep its siblings idle.
int BrokerBatchRecords(const StageGraph& graph, const QueueEdge& edge);
// The options of edge `edge`'s stream and consumer, as the keeper makes
// them (its capacity in batches, its ack wait, its deliveries), and as an
// instance knows them without asking.
NatsEdgeOptions BrokerEdgeOptions(const StageGraph& graph, const QueueEdge& edge);

class BrokerKeeper {
 public:
  // Forks the keeper, which makes the run on the broker meanwhile
  // (AwaitReady waits for it). Null with `*error` when it cannot be
  // forked. The caller must be single-threaded and must not have called
  // libnats.
  //
  // With a `description` (RunDescription::Encode), the keeper also offers
  // the run to the `flowrun worker`s alive on the broker: it places the
  // instances that may move on their slots (placement()), and watches their
  // parts for the rest of the run (Events). Workers that join later get
  // instances added to the `* auto` stages that MayGrow.
  //
  // `connected`, if any, is called in the keeper's process once it has
  // connected to the broker (RunControl::MarkKeeperConnected says why).
  static std::unique_ptr<BrokerKeeper> Start(const StageGraph& graph, const BrokerAccess& broker,
                                             const std::string& description, const std::function<void()>& connected,
                                             std::string* error);
  // Waits until the run exists on the broker, and reads where the
  // instances go. False with `*error` ("cannot reach the broker at
  // 'nats://host:4222': ...", without credentials) when it cannot be made.
  bool AwaitReady(std::string* error);
  // The same, giving up (false, `*error` empty) as soon as `stop` says so,
  // looked at every 50 ms: a Ctrl-C while the keeper waits for a broker
  // that does not answer. `made` is told when the run's bucket and edges
  // exist, before the keeper has offered the run and says where the
  // instances go: the instances that stay here whatever the placement
  // open their edges then.
  bool AwaitReady(std::string* error, const std::function<bool()>& stop, const std::function<void()>& made);
  // Finishes (ignoring errors) if Finish was not called.
  ~BrokerKeeper();
  BrokerKeeper(const BrokerKeeper&) = delete;
  BrokerKeeper& operator=(const BrokerKeeper&) = delete;

  const std::string& run() const { return run_; }
  const Placement& placement() const { return placement_; }
  // Where the keeper reports on the workers' parts: readable when Events
  // has something.
  int events_fd() const { return report_fd_; }
  // What happened to the workers' parts since the last call, one line each:
  //   "lost WORKER HOST"     it stopped beating: its instances must run here
  //   "left WORKER HOST"     the same, its worker having handed back what
  //                          they held (kPartLeftWord)
  //   "failed WORKER TEXT"   its part failed (TEXT: the error it printed)
  //   "place NODE INSTANCE WORKER", then "joined WORKER HOST"
  //                          a worker joined the run after it started, and
  //                          runs these instances added to `* auto` stages
  //   and "log ...", "snapshot ...", "poison ..." lines (see Finish).
  // Reads what is there without waiting; *ended when the keeper is gone.
  std::vector<std::string> Events(bool* ended);
  // How the keeper connected: the workers connect alike.
  const BrokerAccess& broker() const { return broker_; }
  // The keeper's pipes, which a forked worker closes first: the keeper
  // must see the control pipe close when the supervisor closes it.
  std::vector<int> descriptors() const { return {report_fd_, control_fd_}; }

  // Tells the keeper to remove the run's streams and bucket, and waits for
  // it. False with `*error` when it could not. Before, the keeper waits a
  // moment for the workers' parts to end and hands over what they counted:
  // "node instance counters" lines (CountersLine) in `*counters`, and the
  // records of batches the broker gave up on late in the run (the "poison
  // ..." lines of runtime/poison_watch.h, without "poison ") in `*poison`,
  // and the workers' last log lines (runtime/remote_log.h) in `*logs`.
  // `through`: every sink had every end of stream, so the edges' streams
  // hold nothing more to take, and go while the parts are waited for.
  bool Finish(bool through, std::string* error, std::vector<std::string>* counters = nullptr,
              std::vector<std::string>* poison = nullptr, std::vector<std::string>* logs = nullptr);

 private:
  BrokerKeeper(BrokerAccess broker, std::string run) : broker_(std::move(broker)), run_(std::move(run)) {}
  // One line from the keeper; false at end of file.
  bool ReadReport(std::string* line);

  BrokerAccess broker_;
  std::string run_;
  Placement placement_;
  std::string pending_;  // a report line read in part
  pid_t pid_ = -1;
  int report_fd_ = -1;   // the keeper's reports: "ok", or an error message
  int control_fd_ = -1;  // closed to say "the run is over" (after kRunThrough if it went through)
};

// One worker's ends of its stage's edges, on its own connection. Made in
// the worker process, after the fork.
class BrokerEdges {
 public:
  // Connects and opens node `node`'s input and output edges. Null with
  // `*error` when the broker or the run's streams cannot be reached.
  static std::unique_ptr<BrokerEdges> Open(const BrokerAccess& broker, const std::string& run,
                                           const StageGraph& graph, size_t node, std::string* error);
  // Open in two steps: the connection (for node `node`, as its name on the
  // broker says), then, once the run's streams are made, its edges.
  static std::unique_ptr<BrokerEdges> Connect(const BrokerAccess& broker, const StageGraph& graph, size_t node,
                                              std::string* error);
  // The batches its inputs fetch are noted in `hand_back` until answered.
  bool OpenEdges(const std::string& run, const StageGraph& graph, size_t node, const HandBackPage& hand_back,
                 std::string* error);
  ~BrokerEdges();  // the queues first, then the link (which flushes the acks)
  BrokerEdges(const BrokerEdges&) = delete;
  BrokerEdges& operator=(const BrokerEdges&) = delete;

  // Edge `edge`'s queue; null for an edge that is not the node's.
  Queue* edge(size_t edge) const;
  // The instance fails the run: its input batches are not handed back
  // (NatsQueue::GiveUpHeld).
  void GiveUpHeld();
  // For a process about to exit, instead of the destructor: settles every
  // queue with the broker (NatsQueue::Settle) and flushes, and frees none
  // of libnats's objects; the caller then leaks this object. Why: freeing
  // subscriptions and the connection while libnats's reader thread still
  // delivers to them was seen, rarely and under load, to kill an instance
  // with SIGABRT in natsConn_processMsg (a freed mutex); the exit frees
  // everything anyway.
  // Returns why a queue failed while it settled (its end not confirmed:
  // NatsQueue::ConfirmEndsAtSettle); "" if none did.
  std::string SettleForExit();
  // Every queue's Leave.
  void Leave();
  NatsQueue* nats_edge(size_t edge) const;
  NatsLink& link() const { return *link_; }

 private:
  BrokerEdges() = default;

  std::shared_ptr<NatsLink> link_;
  std::vector<std::unique_ptr<NatsQueue>> queues_;  // by edge id
};

}  // namespace flow
