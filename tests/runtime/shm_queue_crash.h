// Crash and recovery scenarios for the queue tests.
//
// A victim (consumer 0 or producer 0) is SIGKILLed at a named point; the
// parent plays the supervisor: it waits for the death, recovers the slot,
// and starts a replacement. Then every record must have been finished
// exactly once (the journals, minus what recovery said was not finished,
// plus what it reported lost), the queue must be empty with no sleeper left,
// and with one producer and one consumer the order must be the input order.
#pragma once

#include <algorithm>

#include "tests/runtime/shm_queue_workload.h"

namespace flow::queue_test {

struct CrashPlan {
  bool consumer_dies;
  const char* op;
  const char* phase;
  int occurrence;
  bool alone_first = false;      // the victim runs alone until it dies (wait points)
  bool supervisor_dies = false;  // a first recoverer is killed inside its section
};

inline std::string Describe(const CrashPlan& plan, int producers, int consumers) {
  return std::string(plan.consumer_dies ? "consumer" : "producer") + " killed at " + plan.op +
         ":" + plan.phase + " #" + std::to_string(plan.occurrence) + " with " +
         std::to_string(producers) + "x" + std::to_string(consumers);
}

inline std::string RunCrash(const CrashPlan& plan, int producers, int consumers) {
  const RecordSpec spec{40, 25, 10000};  // every 25th record travels in 3 pieces
  const uint64_t per_producer = 300;
  std::string error;
  auto q = ShmQueue::Create({producers, consumers, 16, 1024}, &error);
  if (!q) return error;
  Journals journals(consumers, per_producer * producers * 2 + 64);
  SharedArray<std::atomic<uint64_t>> bad(1);
  Ledger ledger(&journals);
  Children kids;

  auto consumer = [&](int c, bool armed) {
    return kids.Spawn([&, c, armed] {
      if (armed) ArmCrash(plan.op, plan.phase, plan.occurrence);
      return ConsumeJournal(*q, c, spec, &journals, &bad[0]);
    });
  };
  auto producer = [&](int p, bool armed) {
    return kids.Spawn([&, p, armed] {
      if (armed) ArmCrash(plan.op, plan.phase, plan.occurrence);
      // A replacement resumes after what its predecessor published.
      return Produce(*q, p, q->PublishedBy(p).records, per_producer, spec, 7);
    });
  };
  auto start_others = [&] {
    for (int p = plan.consumer_dies ? 0 : 1; p < producers; ++p) producer(p, false);
    for (int c = plan.consumer_dies ? 1 : 0; c < consumers; ++c) consumer(c, false);
  };

  pid_t victim = plan.consumer_dies ? consumer(0, true) : producer(0, true);
  if (!plan.alone_first) {
    // Consumers other than the victim start later, so the victim sees all
    // the traffic and surely passes its point.
    if (plan.consumer_dies) {
      for (int p = 0; p < producers; ++p) producer(p, false);
    } else {
      start_others();
    }
  }
  for (;;) {
    pid_t pid;
    int status;
    if (!kids.WaitAny(60000, &pid, &status)) return "timed out waiting for the victim";
    if (pid != victim) {
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "a bystander failed";
      continue;
    }
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
      return "the victim was not killed at its point (status " + std::to_string(status) + ")";
    }
    break;
  }
  if (plan.supervisor_dies) {
    pid_t recoverer = kids.Spawn([&] {
      ArmCrash("recover", "set", 1);
      if (plan.consumer_dies) q->RecoverConsumer(0); else q->RecoverProducer(0);
      return true;
    });
    // A bystander (a producer done with its share) may end first.
    for (;;) {
      pid_t pid;
      int status;
      if (!kids.WaitAny(60000, &pid, &status)) return "no recoverer";
      if (pid != recoverer) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "a bystander failed";
        continue;
      }
      if (!WIFSIGNALED(status)) return "the recoverer was not killed";
      break;
    }
  }
  if (plan.consumer_dies) {
    ledger.Recovered(0, q->RecoverConsumer(0));
    consumer(0, false);
    if (plan.alone_first) {
      for (int p = 0; p < producers; ++p) producer(p, false);
    }
    for (int c = 1; c < consumers; ++c) consumer(c, false);
  } else {
    q->RecoverProducer(0);
    producer(0, false);
    if (plan.alone_first) start_others();
  }
  std::string why;
  if (!kids.WaitAll(60000, &why)) return why;

  if (bad[0] != 0) return "a record arrived damaged";
  std::vector<uint64_t> delivered = ledger.Delivered(consumers);
  for (uint64_t id : ledger.lost()) {
    if (RecordLength(spec, id) != spec.large_len) return "a small record was reported lost";
  }
  if (producers == 1 && consumers == 1) {
    std::vector<uint64_t> expected_order;
    for (uint64_t k = 0; k < per_producer; ++k) {
      if (std::find(ledger.lost().begin(), ledger.lost().end(), k) == ledger.lost().end()) {
        expected_order.push_back(k);
      }
    }
    if (delivered != expected_order) return "records arrived out of order or not exactly once";
  }
  std::vector<uint64_t> all = delivered;
  all.insert(all.end(), ledger.lost().begin(), ledger.lost().end());
  std::sort(all.begin(), all.end());
  std::vector<uint64_t> expected;
  for (int p = 0; p < producers; ++p) {
    for (uint64_t k = 0; k < per_producer; ++k) expected.push_back(RecordId(p, k));
  }
  std::sort(expected.begin(), expected.end());
  if (all != expected) {
    return "not exactly once: " + std::to_string(all.size()) + " records counted for " +
           std::to_string(expected.size());
  }
  ShmQueueStats stats = q->Stats();
  if (stats.records != 0 || stats.bytes != 0) return "records left in the queue";
  if (stats.waiting_consumers != 0 || stats.waiting_producers != 0) return "a sleeper count is off";
  return "";
}

}  // namespace flow::queue_test
