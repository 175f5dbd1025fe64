#include "runtime/remote_log.h"

#include <nats/nats.h>

#include "runtime/nats_run.h"

namespace flow {

std::string NatsLogSubject(std::string_view run) { return "flow." + std::string(run) + ".log"; }

std::string RemoteLogLine(std::string_view text) {
  const size_t tab = text.find('\t');
  if (tab == std::string_view::npos) return std::string(text);
  const std::string_view host = text.substr(0, tab);
  const std::string_view line = text.substr(tab + 1);
  const size_t close = line.find("] ");
  if (!line.empty() && line[0] == '[' && close != std::string_view::npos)
    return std::string(line.substr(0, close)) + "@" + std::string(host) + std::string(line.substr(close));
  return "[" + std::string(host) + "] " + std::string(line);
}

RemoteLogWatch::RemoteLogWatch(NatsLink& link, const std::string& run) : link_(link) {
  if (natsConnection_SubscribeSync(&sub_, link_.connection(), NatsLogSubject(run).c_str()) != NATS_OK) {
    sub_ = nullptr;
    return;
  }
  // A chatty part must not lose lines to libnats's default limits.
  natsSubscription_SetPendingLimits(sub_, -1, -1);
}

RemoteLogWatch::~RemoteLogWatch() {
  if (sub_ == nullptr) return;
  natsSubscription_Unsubscribe(sub_);
  natsSubscription_Destroy(sub_);
}

std::vector<std::string> RemoteLogWatch::Take(bool final) {
  std::vector<std::string> texts;
  if (sub_ == nullptr) return texts;
  if (final) natsConnection_FlushTimeout(link_.connection(), link_.api_wait_ms());
  natsMsg* msg = nullptr;
  while (natsSubscription_NextMsg(&msg, sub_, 0) == NATS_OK) {
    texts.emplace_back(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
  }
  return texts;
}

}  // namespace flow
