#include "runtime/broker_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "compiler/stage_text.h"
#include "runtime/broker_board.h"
#include "runtime/nats_run.h"
#include "runtime/process.h"

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
  facts->max_payload = natsConnection_GetMaxPayload(link->connection());
  std::string none;  // no registry: no worker ever came
  if (std::unique_ptr<BrokerBoard> workers = BrokerBoard::Open(*link, kWorkersBucket, false, 0, &none))
    facts->workers = LiveWorkers(*workers);
  return true;
}

int WorkerSlotsOnBroker(const BrokerAccess& access) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return 0;
  ChildOptions options;
  options.name = "flowrun-probe";
  const int write_end = fds[1];
  Child child;
  std::string error;
  const bool started = StartChild(
      options,
      [&access, write_end] {
        NatsLinkOptions link_options;
        link_options.broker = access;
        link_options.name = "flowrun probe";
        std::string ignored;
        std::unique_ptr<NatsLink> link = NatsLink::Connect(link_options, &ignored);
        int slots = 0;
        if (link) {
          if (std::unique_ptr<BrokerBoard> workers = BrokerBoard::Open(*link, kWorkersBucket, false, 0, &ignored))
            slots = TotalSlots(LiveWorkers(*workers));
        }
        const std::string text = std::to_string(slots);
        return write(write_end, text.data(), text.size()) == static_cast<ssize_t>(text.size()) ? 0 : 1;
      },
      &child, &error);
  close(fds[1]);
  std::string text;
  char buffer[32];
  ssize_t n;
  while (started && (n = read(fds[0], buffer, sizeof buffer)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (started) {
    ExitStatus status;
    WaitForChild(child.pid, &status, &error);
  }
  return std::atoi(text.c_str());
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
