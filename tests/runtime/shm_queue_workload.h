// What the children of the queue tests do: producers push deterministic
// records; checksum consumers sum what they take; journal consumers write
// down every record they finish, so that a test can prove that after a
// crash and recovery each record arrived exactly once.
#pragma once

#include <atomic>
#include <map>
#include <set>

#include "tests/runtime/shm_queue_harness.h"

namespace flow::queue_test {

inline uint64_t RecordHash(const RecordView& r) {
  return Fnv(r.bytes) ^ (uint64_t(r.nr) * 0xff51afd7ed558ccdull) ^ (uint64_t(r.seq) << 17);
}

// Pushes records k = from .. count-1 of `producer` in batches of `batch`,
// then its end of stream. False when a push fails (cancelled, closed).
inline bool Produce(Queue& q, int producer, uint64_t from, uint64_t count, const RecordSpec& spec,
                    size_t batch) {
  RecordBatch b;
  for (uint64_t k = from; k < count; ++k) {
    uint64_t id = RecordId(producer, k);
    b.Add(RecordBytes(spec, id), static_cast<int64_t>(id + 1), static_cast<int64_t>(k));
    if (b.size() == batch || k + 1 == count) {
      if (q.Push(producer, b) != QueueStatus::kOk) return false;
      b.Clear();
    }
  }
  q.EndOfStream(producer);
  return true;
}

struct Totals {
  std::atomic<uint64_t> count{0};
  std::atomic<uint64_t> sum{0};
  std::atomic<uint64_t> xr{0};
  std::atomic<uint64_t> bad{0};
};

inline void Expect(const RecordSpec& spec, int producers, uint64_t per_producer, Totals* t) {
  for (int p = 0; p < producers; ++p) {
    for (uint64_t k = 0; k < per_producer; ++k) {
      uint64_t id = RecordId(p, k);
      std::string bytes = RecordBytes(spec, id);
      uint64_t h = RecordHash({bytes, static_cast<int64_t>(id + 1), static_cast<int64_t>(k)});
      t->count += 1;
      t->sum += h;
      t->xr ^= h;
    }
  }
}

// Pops until the end, checking every record and adding it to `*t`.
inline bool ConsumeChecksum(Queue& q, int consumer, const RecordSpec& spec, Totals* t) {
  uint64_t count = 0, sum = 0, xr = 0, bad = 0;
  for (;;) {
    Lease lease;
    QueueStatus status = q.Pop(consumer, &lease, PopMode::kWait);
    if (status == QueueStatus::kEnd) break;
    if (status != QueueStatus::kOk) return false;
    for (size_t i = 0; i < lease.size(); ++i) {
      RecordView r = lease[i];
      if (!RecordIsRight(spec, r)) ++bad;
      uint64_t h = RecordHash(r);
      ++count;
      sum += h;
      xr ^= h;
    }
    q.Ack(consumer, &lease);
  }
  t->count += count;
  t->sum += sum;
  t->xr ^= xr;
  t->bad += bad;
  return true;
}

// Every record a consumer finished: which lease, which record of its batch.
struct JournalEntry {
  uint64_t ticket;
  uint64_t index;
  uint64_t id;
};

class Journals {
 public:
  Journals(int consumers, size_t per_consumer)
      : per_(per_consumer), entries_(consumers * per_consumer), lengths_(consumers) {}

  void Append(int c, JournalEntry e) {
    uint64_t n = lengths_[c].load(std::memory_order_relaxed);
    if (n == per_) std::abort();
    entries_[c * per_ + n] = e;
    lengths_[c].store(n + 1, std::memory_order_release);  // the entry is written, then counted
  }
  uint64_t length(int c) { return lengths_[c].load(std::memory_order_acquire); }
  const JournalEntry& at(int c, uint64_t i) { return entries_[c * per_ + i]; }

 private:
  size_t per_;
  SharedArray<JournalEntry> entries_;
  SharedArray<std::atomic<uint64_t>> lengths_;
};

// Pops until the end; writes down each record, then declares it finished
// (every second record, and at the end of a lease), then acknowledges.
inline bool ConsumeJournal(Queue& q, int consumer, const RecordSpec& spec, Journals* journals,
                           std::atomic<uint64_t>* bad) {
  for (;;) {
    Lease lease;
    QueueStatus status = q.Pop(consumer, &lease, PopMode::kWait);
    if (status == QueueStatus::kEnd) return true;
    if (status != QueueStatus::kOk) return false;
    for (size_t i = 0; i < lease.size(); ++i) {
      RecordView r = lease[i];
      if (!RecordIsRight(spec, r)) *bad += 1;
      journals->Append(consumer, {lease.ticket(), lease.first() + i, uint64_t(r.nr - 1)});
      TestPoint("consumer", "journaled");
      if ((i + 1) % 2 == 0 || i + 1 == lease.size()) q.Progress(consumer, lease, i + 1);
    }
    TestPoint("consumer", "finished");
    q.Ack(consumer, &lease);
  }
}

// The parent's view of the journals: entries of a dead consumer for records
// that RecoverConsumer handed out again (or reported lost) do not count.
class Ledger {
 public:
  explicit Ledger(Journals* journals) : journals_(journals) {}

  // After RecoverConsumer(c): drop c's entries so far that the report says
  // were not finished.
  void Recovered(int c, const RecoveryReport& report) {
    std::map<uint64_t, uint64_t> from;  // ticket -> first index handed out again
    for (const RequeuedBatch& b : report.requeued) from[b.ticket] = b.first;
    for (const LostRecord& l : report.lost) {
      from[l.ticket] = 0;
      lost_.push_back(uint64_t(l.nr - 1));
    }
    for (uint64_t i = 0, n = journals_->length(c); i < n; ++i) {
      const JournalEntry& e = journals_->at(c, i);
      auto it = from.find(e.ticket);
      if (it != from.end() && e.index >= it->second) voided_.insert({c, i});
    }
  }

  // Every counted id in journal order, consumer by consumer.
  std::vector<uint64_t> Delivered(int consumers) {
    std::vector<uint64_t> ids;
    for (int c = 0; c < consumers; ++c) {
      for (uint64_t i = 0, n = journals_->length(c); i < n; ++i) {
        if (!voided_.count({c, i})) ids.push_back(journals_->at(c, i).id);
      }
    }
    return ids;
  }
  const std::vector<uint64_t>& lost() const { return lost_; }

 private:
  Journals* journals_;
  std::set<std::pair<int, uint64_t>> voided_;
  std::vector<uint64_t> lost_;
};

}  // namespace flow::queue_test
