#include "runtime/broker_probe.h"

#include <fmt/format.h>

#include "compiler/stage_text.h"
#include "runtime/broker_board.h"
#include "runtime/nats_run.h"

namespace flow {

bool ProbeBroker(const BrokerAccess& access, BrokerFacts* facts, std::string* error) {
  NatsLinkOptions options;
  options.broker = access;
  options.name = "flowrun check";
  std::unique_ptr<NatsLink> link = NatsLink::Connect(options, error);
  if (!link) return false;
  JetStreamAccount account;
  if (!GetJetStreamAccount(*link, &account, error)) return false;
  facts->url = link->url();
  facts->tls = access.tls();
  int64_t rtt_ns = 0;
  if (natsConnection_GetRTT(link->connection(), &rtt_ns) == NATS_OK) facts->round_trip_us = rtt_ns / 1000;
  facts->streams = account.streams;
  facts->stored_bytes = account.stored_bytes;
  facts->max_store_bytes = account.max_store_bytes;
  std::string none;  // no registry: no worker ever came
  if (std::unique_ptr<BrokerBoard> workers = BrokerBoard::Open(*link, kWorkersBucket, false, 0, &none))
    facts->workers = LiveWorkers(*workers);
  return true;
}

std::string DescribeBroker(const BrokerFacts& facts) {
  const std::string rtt = facts.round_trip_us < 1000 ? "under 1 ms"
                                                     : FormatCount(facts.round_trip_us / 1000) + " ms";
  std::string stored = FormatBytes(facts.stored_bytes) + " stored";
  if (facts.max_store_bytes >= 0) stored += " of " + FormatBytes(facts.max_store_bytes);
  return fmt::format("{}{}: answered in {}, JetStream enabled ({}, {})", facts.url, facts.tls ? " (TLS)" : "", rtt,
                     CountOf(facts.streams, "stream"), stored);
}

}  // namespace flow
