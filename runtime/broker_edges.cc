#include "runtime/broker_edges.h"

#include <unistd.h>

#include <algorithm>

#include "runtime/nats_queue.h"
#include "runtime/nats_run.h"
#include "runtime/poison_watch.h"
#include "runtime/trace.h"

namespace flow {
namespace {

// Messages a consumer fetches at once: a few, so that a fetch costs little
// per batch while the replicas of a slow stage still share the work.
constexpr int kFetchBatch = 4;

}  // namespace

NatsEdgeOptions BrokerEdgeOptions(const StageGraph& graph, const QueueEdge& edge) {
  NatsEdgeOptions options;
  options.capacity_messages = kBrokerEdgeBatches;
  // Batches of one record: as many records waiting as a local queue's
  // batches would hold, or a source stalls on the full edge while the
  // replicas starve.
  if (BrokerBatchRecords(graph, edge) == 1) options.capacity_messages = kBrokerEdgeBatches * 16;
  // A live holder keeps its batches however long their records take (its
  // heartbeat tells the broker InProgress: NatsQueue::KeepHeld). The ack
  // wait is how long a silent holder keeps them: a machine that died or is
  // cut off, whose memory nobody can read to hand them back. 5 s, or the
  // stage's [timeout], the time its user said a record may take, when
  // longer. (Twice it plus 1 s until 2026-12-06, from before the
  // heartbeat: 41 s of waiting for a dead machine's [timeout = 20s] stage.)
  const int64_t timeout = graph.nodes[static_cast<size_t>(edge.to)].options.timeout_ns;
  options.ack_wait_ns = std::max(kBrokerAckWaitNs, timeout);
  options.max_deliver = MaxDeliveries(graph, edge);
  return options;
}

int BrokerBatchRecords(const StageGraph& graph, const QueueEdge& edge) {
  const StageNode& to = graph.nodes[static_cast<size_t>(edge.to)];
  if (to.outputs.empty() || to.signature == nullptr) return 0;  // a sink takes everything in bulk
  const bool slow = to.signature->side_effects || to.name == "sleep" || to.name == "sha512";
  return slow ? 1 : 0;
}

std::unique_ptr<BrokerEdges> BrokerEdges::Open(const BrokerAccess& broker, const std::string& run,
                                               const StageGraph& graph, size_t node, std::string* error) {
  std::unique_ptr<BrokerEdges> edges = Connect(broker, graph, node, error);
  if (!edges || !edges->OpenEdges(run, graph, node, HandBackPage(), error)) return nullptr;
  return edges;
}

std::unique_ptr<BrokerEdges> BrokerEdges::Connect(const BrokerAccess& broker, const StageGraph& graph, size_t node,
                                                  std::string* error) {
  NatsLinkOptions options;
  options.broker = broker;
  options.name = "flowrun " + graph.nodes[node].label;
  std::unique_ptr<BrokerEdges> edges(new BrokerEdges());
  edges->link_ = NatsLink::Connect(options, error);
  if (!edges->link_) return nullptr;
  TraceEvent("edges connected");
  return edges;
}

bool BrokerEdges::OpenEdges(const std::string& run, const StageGraph& graph, size_t node,
                            const HandBackPage& hand_back, std::string* error) {
  queues_.resize(graph.edges.size());
  const StageNode& here = graph.nodes[node];
  std::vector<int> mine = here.inputs;
  mine.insert(mine.end(), here.outputs.begin(), here.outputs.end());
  const std::vector<bool> on_broker = EdgesOnBroker(graph);
  for (int e : mine) {
    if (!on_broker[static_cast<size_t>(e)]) continue;  // a shared-memory queue on the origin
    const QueueEdge& edge = graph.edges[static_cast<size_t>(e)];
    const StageNode& to = graph.nodes[static_cast<size_t>(edge.to)];
    NatsQueueOptions q;
    q.run = run;
    q.edge = static_cast<size_t>(e);
    const StageNode& from = graph.nodes[static_cast<size_t>(edge.from)];
    q.producers = from.replicas;
    q.counted_producers = from.replicas - from.replicas_added;
    q.consumers = to.replicas;
    if (edge.to == static_cast<int>(node)) q.hand_back = hand_back;  // only inputs fetch
    // [ordered] replicas take one batch at a time under their order gate:
    // a batch fetched ahead by one replica would be taken out of turn.
    // A stage slow per record takes one batch (one record) at a time, so
    // that its replicas share the work evenly.
    const bool one_at_a_time = (to.options.ordered && to.replicas > 1) || BrokerBatchRecords(graph, edge) == 1;
    q.fetch_batch = one_at_a_time ? 1 : kFetchBatch;
    q.ack_wait_ns = BrokerEdgeOptions(graph, edge).ack_wait_ns;  // as the keeper made it: no request to ask
    if (from.inputs.size() == 1 && on_broker[static_cast<size_t>(from.inputs[0])] && from.signature != nullptr &&
        !from.signature->emits_at_end)
      q.upstream_edge = from.inputs[0];
    queues_[static_cast<size_t>(e)] = NatsQueue::Open(link_, q, error);
    if (!queues_[static_cast<size_t>(e)]) return false;
    // This process exits after its end (SettleForExit confirms it).
    queues_[static_cast<size_t>(e)]->ConfirmEndsAtSettle();
  }
  // An output that ends on the drain of this stage's input is looked at
  // by whoever finds that input drained (NatsQueue::AlsoSayDrainedOf).
  for (int out : here.outputs) {
    NatsQueue* output = nats_edge(static_cast<size_t>(out));
    if (output == nullptr || output->upstream_edge() < 0) continue;
    if (NatsQueue* input = nats_edge(static_cast<size_t>(output->upstream_edge()))) input->AlsoSayDrainedOf(output);
  }
  return true;
}

BrokerEdges::~BrokerEdges() {
  TraceEvent("edges closing");
  // Every queue settled (its threads over) before any goes: a queue's
  // drain may still look at an output queue's (NatsQueue::AlsoSayDrainedOf).
  for (auto& queue : queues_) {
    if (queue) queue->Settle(true);
  }
  queues_.clear();
  TraceEvent("edges queues closed");
  link_.reset();
  TraceEvent("edges link closed");
}

Queue* BrokerEdges::edge(size_t edge) const { return nats_edge(edge); }

void BrokerEdges::GiveUpHeld() {
  for (auto& queue : queues_) {
    if (queue) queue->GiveUpHeld();
  }
}

void BrokerEdges::Leave() {
  for (auto& queue : queues_) {
    if (queue) queue->Leave();
  }
}

std::string BrokerEdges::SettleForExit() {
  std::string error;
  for (auto& queue : queues_) {
    if (!queue) continue;
    const bool failed_before = !queue->error().empty();  // the run's business, told already
    queue->Settle(false);
    if (error.empty() && !failed_before) error = queue->error();
  }
  // Our acknowledgements are buffered: the broker must have read them
  // before the connection goes. Known when the books that said we ended,
  // sent after them, were answered and nothing went out since.
  if (link_->connected() && !link_->AllPublishedRead())
    natsConnection_FlushTimeout(link_->connection(), link_->api_wait_ms());
  return error;
}

NatsQueue* BrokerEdges::nats_edge(size_t edge) const {
  return edge < queues_.size() ? queues_[edge].get() : nullptr;
}

}  // namespace flow
