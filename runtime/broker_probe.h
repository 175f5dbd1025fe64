// `flowrun check --broker URL` (issue 8): does the broker answer, with the
// credentials and TLS files given, and is JetStream enabled on it?
//
// It calls libnats, which starts threads and has no fork handlers: only a
// process that forks nothing afterwards may probe (`check` does not run
// anything; `run` never probes in the supervisor, its keeper does the
// equivalent after the fork).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/broker_access.h"
#include "runtime/placement.h"

namespace flow {

struct BrokerFacts {
  std::string url;         // RedactedUrl: safe to print
  bool tls = false;        // the connection is encrypted
  int64_t round_trip_us = 0;
  int64_t streams = 0;     // JetStream streams already on the account
  int64_t stored_bytes = 0;
  int64_t max_store_bytes = -1;  // -1: no limit
  int64_t max_payload = 0;  // the largest message it takes
  std::vector<WorkerOffer> workers;  // the `flowrun worker`s alive on it now
};

// Connects as every process of a run would, asks JetStream for the
// account, and disconnects. False with `*error` naming the URL without
// credentials: the broker does not answer, refuses the credentials, a TLS
// file cannot be used, or JetStream is not enabled.
bool ProbeBroker(const BrokerAccess& access, BrokerFacts* facts, std::string* error);

// The slots of the `flowrun worker`s alive on the broker now, asked by a
// child process (the caller, which forks workers later, must not call
// libnats itself). 0 when there are none or the broker cannot be asked
// (the run then says why, when its keeper connects).
int WorkerSlotsOnBroker(const BrokerAccess& access);

// "nats://host:4222: answered in 1 ms, JetStream enabled (2 streams, 5 MiB stored)".
std::string DescribeBroker(const BrokerFacts& facts);

}  // namespace flow
