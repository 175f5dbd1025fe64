// Built only with libnats (see runtime/nats_run.cc).
#ifdef FLOWRUN_NATS

#include "runtime/poison_watch.h"

#include <nats/nats.h>

#include <cstdlib>
#include <cstring>

#include "runtime/broker_edges.h"
#include "runtime/broker_order_gate.h"
#include "runtime/nats_batch_format.h"
#include "runtime/nats_run.h"
#include "runtime/worker.h"

namespace flow {
namespace {

constexpr const char* kAdvisories = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.";

// The value after `"key":` in a flat JSON object: a string's text, or a
// number's digits. "" when absent. (The advisory is the server's, of a
// fixed shape; a JSON library would be more than it needs.)
std::string JsonField(std::string_view json, const std::string& key) {
  const std::string quoted = "\"" + key + "\":";
  size_t at = json.find(quoted);
  if (at == std::string_view::npos) return "";
  at += quoted.size();
  while (at < json.size() && json[at] == ' ') ++at;
  if (at < json.size() && json[at] == '"') {
    const size_t end = json.find('"', at + 1);
    return end == std::string_view::npos ? "" : std::string(json.substr(at + 1, end - at - 1));
  }
  size_t end = at;
  while (end < json.size() && json[end] >= '0' && json[end] <= '9') ++end;
  return std::string(json.substr(at, end - at));
}

}  // namespace

int64_t MaxDeliveries(const StageGraph& graph, const QueueEdge& edge) {
  const StageNode& to = graph.nodes[static_cast<size_t>(edge.to)];
  const int64_t retries = std::max<int64_t>(0, to.options.retries);
  return retries + (BrokerBatchRecords(graph, edge) == 1 ? 2 : 3);
}

PoisonWatch::PoisonWatch(NatsLink& link, const StageGraph& graph, std::string run, std::string* error)
    : link_(link), graph_(graph), run_(std::move(run)), advisories_(link, std::string(kAdvisories) + ">") {
  if (!advisories_.ok()) {
    *error = "cannot watch the broker's max-delivery advisories: " + advisories_.error();
    return;
  }
  advisories_.Flush();
}

std::vector<std::string> PoisonWatch::Check(bool final) {
  std::vector<std::string> lines;
  if (!advisories_.ok()) return lines;
  if (final) advisories_.Flush();
  std::string json;
  while (advisories_.Next(&json)) {
    const std::string stream = JsonField(json, "stream");
    const std::string sequence = JsonField(json, "stream_seq");
    const std::string deliveries = JsonField(json, "deliveries");
    for (size_t e = 0; e < graph_.edges.size(); ++e) {
      if (stream != NatsStreamName(run_, e) || sequence.empty()) continue;
      TakeOut(e, std::strtoull(sequence.c_str(), nullptr, 10), std::atoll(deliveries.c_str()), &lines);
    }
  }
  return lines;
}

// Reads the batch, deletes it (so that the edge can end), and reports its
// records. A batch already gone (taken out by an earlier advisory of the
// same batch) is nothing to report.
void PoisonWatch::TakeOut(size_t edge, uint64_t sequence, int64_t deliveries, std::vector<std::string>* lines) {
  const std::string stream = NatsStreamName(run_, edge);
  natsMsg* msg = nullptr;
  if (js_GetMsg(&msg, link_.js(), stream.c_str(), sequence, nullptr, nullptr) != NATS_OK) return;
  const char* data = natsMsg_GetData(msg);
  const auto len = static_cast<size_t>(natsMsg_GetDataLength(msg));
  const std::string prefix = "poison " + std::to_string(graph_.edges[edge].to) + " " + std::to_string(deliveries) + " ";
  std::vector<int64_t> nrs, seqs;
  std::vector<uint32_t> ends;
  const char* records = nullptr;
  std::string pieces_filter;
  if (len >= kBatchHeader && data[0] == kBatchKind && DecodeBatch(data, len, &nrs, &seqs, &ends, &records)) {
    uint32_t begin = 0;
    for (size_t i = 0; i < nrs.size(); ++i) {
      const std::string_view bytes(records + begin, ends[i] - begin);
      lines->push_back(prefix + std::to_string(nrs[i]) + " " + EscapeRecord(bytes, std::string::npos));
      begin = ends[i];
    }
  } else if (len > kLargeHeader && data[0] == kLargeKind) {
    const auto pieces = static_cast<uint32_t>(GetLE(data + 4, 4));
    const auto nr = static_cast<int64_t>(GetLE(data + 16, 8));
    const std::string token(data + kLargeHeader, len - kLargeHeader);
    const std::string subjects = NatsPiecesPrefix(run_, edge) + token + ".";
    std::string bytes;
    for (uint32_t k = 0; k < pieces; ++k) {
      natsMsg* piece = nullptr;
      if (js_GetLastMsg(&piece, link_.js(), NatsPiecesStream(run_).c_str(), (subjects + std::to_string(k)).c_str(),
                        nullptr, nullptr) != NATS_OK)
        break;
      bytes.append(natsMsg_GetData(piece), static_cast<size_t>(natsMsg_GetDataLength(piece)));
      natsMsg_Destroy(piece);
    }
    lines->push_back(prefix + std::to_string(nr) + " " + EscapeRecord(bytes, std::string::npos));
    pieces_filter = subjects + ">";
  }
  natsMsg_Destroy(msg);
  js_DeleteMsg(link_.js(), stream.c_str(), sequence, nullptr, nullptr);
  // An [ordered] stage's turns would wait for this batch's position (its
  // stream sequence, less 1) for ever: marked skipped.
  const StageNode& to = graph_.nodes[static_cast<size_t>(graph_.edges[edge].to)];
  if (to.options.ordered && to.replicas > 1) {
    std::string error;
    if (!BrokerOrderGate::Skip(link_, run_, static_cast<size_t>(graph_.edges[edge].to), sequence - 1, &error))
      lines->push_back("log flowrun: warning: " + error);
  }
  if (!pieces_filter.empty()) {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Stream.Purge.Subject = pieces_filter.c_str();
    js_PurgeStream(link_.js(), NatsPiecesStream(run_).c_str(), &jo, nullptr);
  }
}

}  // namespace flow

#endif  // FLOWRUN_NATS
