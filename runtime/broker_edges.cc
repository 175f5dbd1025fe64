#include "runtime/broker_edges.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "runtime/nats_queue.h"
#include "runtime/nats_run.h"
#include "runtime/process.h"

namespace flow {
namespace {

// Messages a consumer fetches at once: a few, so that a fetch costs little
// per batch while the replicas of a slow stage still share the work.
constexpr int kFetchBatch = 4;
constexpr const char* kReportOk = "ok";

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

NatsEdgeOptions EdgeOptions(const StageGraph& graph, const QueueEdge& edge) {
  NatsEdgeOptions options;
  options.capacity_messages = kBrokerEdgeBatches;
  // A record may take up to its [timeout]; its batch must not be taken for
  // a dead worker's before that.
  const int64_t timeout = graph.nodes[static_cast<size_t>(edge.to)].options.timeout_ns;
  options.ack_wait_ns = std::max(kBrokerAckWaitNs, timeout > 0 ? 2 * timeout + 1'000'000'000 : 0);
  return options;
}

// The keeper's life, in its own process: make the run, beat, remove it.
int KeeperMain(const StageGraph& graph, const BrokerAccess& broker, const std::string& run, int report_fd,
               int control_fd) {
  NatsLinkOptions options;
  options.broker = broker;
  options.name = "flowrun keeper " + run;
  std::string error;
  std::unique_ptr<NatsLink> link = NatsLink::Connect(options, &error);
  if (!link) {
    Report(report_fd, error);
    return 1;
  }
  // Runs whose origin crashed: nobody else removes them.
  if (SweepStaleNatsRuns(*link, &error) < 0) {
    Report(report_fd, error);
    return 1;
  }
  bool ok = CreateNatsRun(*link, run, kBrokerRunExpiryNs, &error);
  for (size_t e = 0; ok && e < graph.edges.size(); ++e)
    ok = AddNatsEdge(*link, run, e, EdgeOptions(graph, graph.edges[e]), &error);
  if (!ok) {
    std::string ignored;
    RemoveNatsRun(*link, run, &ignored);
    Report(report_fd, error);
    return 1;
  }
  Report(report_fd, kReportOk);
  for (;;) {
    pollfd p = {control_fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(kBrokerHeartbeatMs));
    if (ready < 0 && errno == EINTR) continue;
    if (ready != 0) break;  // closed (or readable, or broken): the run is over
    // A lost broker is the workers' to report: they fail after its wait.
    TouchNatsRun(*link, run, &error);
  }
  if (!RemoveNatsRun(*link, run, &error)) {
    Report(report_fd, error);
    return 1;
  }
  Report(report_fd, kReportOk);
  return 0;
}

}  // namespace

std::unique_ptr<BrokerKeeper> BrokerKeeper::Start(const StageGraph& graph, const BrokerAccess& broker,
                                                  std::string* error) {
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
      [&graph, &broker, &run, report_w, control_r] { return KeeperMain(graph, broker, run, report_w, control_r); },
      &child, error);
  close(report[1]);
  close(control[0]);
  keeper->report_fd_ = report[0];
  keeper->control_fd_ = control[1];
  if (!started) return nullptr;
  keeper->pid_ = child.pid;
  std::string line;
  if (!keeper->ReadReport(&line)) line = "the broker keeper process ended without a word";
  if (line != kReportOk) {
    *error = line;
    return nullptr;  // the destructor reaps it
  }
  return keeper;
}

BrokerKeeper::~BrokerKeeper() {
  std::string ignored;
  Finish(&ignored);
}

bool BrokerKeeper::ReadReport(std::string* line) {
  line->clear();
  for (;;) {
    char c;
    const ssize_t n = read(report_fd_, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (c == '\n') return true;
    *line += c;
  }
}

bool BrokerKeeper::Finish(std::string* error) {
  if (control_fd_ >= 0) {
    close(control_fd_);
    control_fd_ = -1;
  }
  bool ok = true;
  if (report_fd_ >= 0) {
    std::string line;
    if (pid_ > 0 && !ReadReport(&line)) line = "the broker keeper process ended without removing the run";
    if (pid_ > 0 && line != kReportOk) {
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

std::unique_ptr<BrokerEdges> BrokerEdges::Open(const BrokerAccess& broker, const std::string& run,
                                               const StageGraph& graph, size_t node, std::string* error) {
  NatsLinkOptions options;
  options.broker = broker;
  options.name = "flowrun " + graph.nodes[node].label;
  std::unique_ptr<BrokerEdges> edges(new BrokerEdges());
  edges->link_ = NatsLink::Connect(options, error);
  if (!edges->link_) return nullptr;
  edges->queues_.resize(graph.edges.size());
  const StageNode& here = graph.nodes[node];
  std::vector<int> mine = here.inputs;
  mine.insert(mine.end(), here.outputs.begin(), here.outputs.end());
  for (int e : mine) {
    const QueueEdge& edge = graph.edges[static_cast<size_t>(e)];
    const StageNode& to = graph.nodes[static_cast<size_t>(edge.to)];
    NatsQueueOptions q;
    q.run = run;
    q.edge = static_cast<size_t>(e);
    q.producers = graph.nodes[static_cast<size_t>(edge.from)].replicas;
    q.consumers = to.replicas;
    // [ordered] replicas take one batch at a time under their order gate:
    // a batch fetched ahead by one replica would be taken out of turn.
    q.fetch_batch = to.options.ordered && to.replicas > 1 ? 1 : kFetchBatch;
    edges->queues_[static_cast<size_t>(e)] = NatsQueue::Open(edges->link_, q, error);
    if (!edges->queues_[static_cast<size_t>(e)]) return nullptr;
  }
  return edges;
}

BrokerEdges::~BrokerEdges() { queues_.clear(); }

Queue* BrokerEdges::edge(size_t edge) const { return edge < queues_.size() ? queues_[edge].get() : nullptr; }

}  // namespace flow
