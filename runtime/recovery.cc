#include "runtime/recovery.h"

#include <signal.h>

#include <algorithm>

#include "compiler/value.h"

namespace flow {

bool KeepsState(const StageNode& node) {
  return (node.signature != nullptr && node.signature->stateful) || node.name == "sh" || node.name == "report";
}

namespace {

std::string HowItDied(const StageNode& node, const WorkerExited& event) {
  if (event.timed_out || (event.status.signal == SIGALRM && node.options.timeout_ns > 0))
    return "took longer than its timeout (" + FormatDuration(Duration{node.options.timeout_ns}) + ")";
  return DescribeExit(event.status);
}

}  // namespace

Recovery::Recovery(const StageGraph& graph, std::vector<ShmQueue*> queues, std::vector<size_t> first_slot,
                   RecoveryBook* book, int max_restarts)
    : graph_(graph),
      queues_(std::move(queues)),
      first_slot_(std::move(first_slot)),
      book_(book),
      max_restarts_(max_restarts),
      restarts_(graph.nodes.size(), 0) {}

std::string Recovery::Refusal(const StageNode& node) const {
  if (KeepsState(node))
    return "'" + node.name + "' keeps its state in the worker that died, so it cannot be replaced without losing it";
  if (node.name == "read") {
    auto path = node.args.find("path");
    if (path != node.args.end() && path->second.as_str() == "-") return "read(\"-\") cannot read stdin again";
  }
  if (node.outputs.size() > kMaxRedoOutputs) return "it has too many outputs to be replaced";
  return "";
}

std::string Recovery::Recover(const WorkerExited& event) {
  const size_t n = static_cast<size_t>(std::upper_bound(first_slot_.begin(), first_slot_.end(), event.slot) -
                                       first_slot_.begin()) - 1;
  const StageNode& node = graph_.nodes[n];
  const int instance = static_cast<int>(event.slot - first_slot_[n]);
  if (std::string why = Refusal(node); !why.empty()) return why;
  if (restarts_[n] >= max_restarts_) {
    return "'" + node.label + "' was replaced " + std::to_string(restarts_[n]) +
           " times already (--max-restarts " + std::to_string(max_restarts_) + ")";
  }
  ++restarts_[n];
  ++total_restarts_;

  // Outputs first: a run it was copying is dropped, and the books then say
  // exactly what it published.
  std::vector<ProducerProgress> books;
  // An edge on a broker (null here) has nothing to repair: a batch is
  // published whole or not at all, and its books are the broker's, which
  // the supervisor does not read (no libnats call in a process that forks).
  bool on_broker = false;
  for (int e : node.outputs) {
    ShmQueue* q = queues_[static_cast<size_t>(e)];
    if (q == nullptr) {
      on_broker = true;
      continue;
    }
    q->RecoverProducer(instance);
    books.push_back(q->PublishedBy(instance));
  }
  if (on_broker) books.clear();  // no floors: the broker's message ids drop what is published again
  RedoEntry* entry = nullptr;
  if (std::string why = NoteLease(node, event.slot, event, books, &entry); !why.empty()) return why;

  // Then its leases go back, after the redo entry is written: the queue's
  // lock orders the entry before any take.
  InstanceJournal& journal = book_->journal(event.slot);
  const uint64_t key = journal.lease.load(std::memory_order_relaxed) - 1;
  bool requeued = false;
  for (int e : node.inputs) {
    // The broker gives the dead worker's batches back after their ack wait;
    // the redo entry waits for them.
    if (queues_[static_cast<size_t>(e)] == nullptr) {
      requeued = true;
      continue;
    }
    RecoveryReport report = queues_[static_cast<size_t>(e)]->RecoverConsumer(instance);
    if (!report.lost.empty()) {
      return "a record of " + std::to_string(report.lost.front().bytes) +
             " bytes it had received whole was lost with it";
    }
    for (const RequeuedBatch& batch : report.requeued) {
      if (entry != nullptr && RecoveryKey(static_cast<size_t>(e), batch.ticket) == key) requeued = true;
    }
  }
  // It died after acknowledging its lease: nothing to redo.
  if (entry != nullptr && !requeued) RecoveryBook::Release(entry);
  journal.lease.store(0, std::memory_order_relaxed);
  journal.record.store(0, std::memory_order_relaxed);
  return "";
}

std::string Recovery::NoteLease(const StageNode& node, size_t slot, const WorkerExited& event,
                                const std::vector<ProducerProgress>& books, RedoEntry** out) {
  InstanceJournal& journal = book_->journal(slot);
  const uint64_t lease = journal.lease.load(std::memory_order_relaxed);
  if (node.inputs.empty() || lease == 0) return "";
  RedoEntry* entry = book_->Claim(lease - 1);
  if (entry == nullptr) return "too many records are being recovered at once";
  *out = entry;
  if (node.outputs.empty()) {
    if (journal.LastMark().first == lease) entry->floors[0].store(kWholeLease, std::memory_order_relaxed);
  } else {
    for (size_t k = 0; k < books.size(); ++k) {
      if (books[k].origin != lease) continue;  // nothing of this lease reached output k
      const uint64_t floor = static_cast<uint64_t>(books[k].last_seq) + 1;
      if (floor > entry->floors[k].load(std::memory_order_relaxed))
        entry->floors[k].store(floor, std::memory_order_relaxed);
    }
  }
  const uint64_t record = journal.record.load(std::memory_order_relaxed);
  if (record != 0) {
    if (entry->poison.load(std::memory_order_relaxed) == record) {
      entry->deaths.fetch_add(1, std::memory_order_relaxed);
    } else {
      entry->poison.store(record, std::memory_order_relaxed);
      entry->deaths.store(1, std::memory_order_relaxed);
    }
    const uint64_t deaths = entry->deaths.load(std::memory_order_relaxed);
    RecoveryBook::SetReason(entry, "its worker died on it " + std::to_string(deaths) +
                                       (deaths == 1 ? " time" : " times") + " (the last " +
                                       HowItDied(node, event) + ")");
  }
  // Release: the entry's words before the queue's recovery makes the lease
  // takeable (the queue's lock orders them again; this is for the reader
  // that finds the entry by key).
  entry->key.store(lease, std::memory_order_release);
  return "";
}

Decision RecoveringPolicy::OnWorkerExited(const WorkerExited& event) {
  // Clean ends, failures a worker reported itself (exit 1: it said why),
  // and anything while the run drains after an interrupt: as before.
  if (event.status.Succeeded() || interrupted_ || (event.status.signal == 0 && event.status.code == 1))
    return base_.OnWorkerExited(event);
  std::string why = recovery_->Recover(event);
  if (why.empty()) return Decision::Restart();
  return Decision::Stop(1, DescribeWorkerExit(event) + ", and " + why);
}

Decision RecoveringPolicy::OnInterrupted(const Interrupted& event) {
  interrupted_ = true;
  return base_.OnInterrupted(event);
}

}  // namespace flow
