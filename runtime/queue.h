// What an edge of the stage graph offers to the stage instances at its two
// ends: push a batch of records, pop a batch, acknowledge it, end of stream
// per producer, cancel, close. The shared-memory queue (runtime/shm_queue.h)
// implements it; a networked transport can stand on an edge behind the same
// interface. Instances are named by their index on that side of the edge.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flow {

// Record lengths travel as 32-bit numbers: a record is at most 4 GiB - 1.
inline constexpr uint64_t kMaxRecordBytes = 0xFFFFFFFFull;

struct RecordView {
  std::string_view bytes;  // any content, NUL included
  int64_t nr = 0;          // the record's 1-based number at its source (NR)
  // Where the record came from in its producer's work, for recovery (see
  // runtime/recovery_book.h): a source's resume token, or for a consumer
  // the index of the input record it was made from and its rank among that
  // record's outputs. The queue stores the last published one per producer.
  int64_t seq = 0;
};

// Records a producer gathers in its own memory and pushes with one call, so
// that a record costs one append here plus its share of one bulk copy.
// Stored by columns, as the shared-memory queue stores them.
class RecordBatch {
 public:
  RecordBatch() = default;
  RecordBatch(const RecordBatch&) = delete;
  RecordBatch& operator=(const RecordBatch&) = delete;
  RecordBatch(RecordBatch&&) = default;
  RecordBatch& operator=(RecordBatch&&) = default;

  // False, adding nothing, when `bytes` is longer than kMaxRecordBytes.
  // Inline, with the columns' room checked once: it runs for every record
  // every stage emits.
  bool Add(std::string_view bytes, int64_t nr, int64_t seq) {
    const size_t n = bytes.size();
    if (n > kMaxRecordBytes) [[unlikely]]
      return false;
    if (size_ == records_room_ || n > data_room_ - data_size_) [[unlikely]]
      Grow(n);
    // Every member read and written before the columns are: a store through
    // int64_t* or char* may alias the members, and each would be loaded
    // again after it.
    const size_t i = size_;
    const uint64_t at = data_size_;
    int64_t* const nrs = nr_.get();
    int64_t* const seqs = seq_.get();
    uint64_t* const ends = end_.get();
    char* const data = data_.get();
    size_ = i + 1;
    data_size_ = at + n;
    if (n > longest_) longest_ = n;
    nrs[i] = nr;
    seqs[i] = seq;
    ends[i] = at + n;
    CopyBytes(data + at, bytes.data(), n);
    return true;
  }
  // Clears the records; the origin stays, and so does the memory.
  void Clear() {
    size_ = 0;
    data_size_ = 0;
    longest_ = 0;
  }

  // The lease (RecoveryKey + 1) whose records these are made from; 0 for a
  // source's. A batch never mixes two leases' outputs.
  void set_origin(uint64_t origin) { origin_ = origin; }
  uint64_t origin() const { return origin_; }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint64_t data_bytes() const { return data_size_; }
  // The longest record's length (a queue pushes a batch whose records are
  // all short in one piece without looking at each).
  uint64_t longest() const { return longest_; }
  RecordView operator[](size_t i) const;

  // The columns, for transports that copy runs of records whole. Record i
  // is data()[begin(i) .. end(i)).
  const int64_t* nrs() const { return nr_.get(); }
  const int64_t* seqs() const { return seq_.get(); }
  uint64_t begin(size_t i) const { return i == 0 ? 0 : end_[i - 1]; }
  uint64_t end(size_t i) const { return end_[i]; }
  const char* data() const { return data_.get(); }

  // memcpy of a few bytes, without the call: most records are short. The
  // two overlapping moves of a power-of-two size cover every length in
  // [k, 2k] and read nothing outside the source.
  static void CopyBytes(char* dst, const char* src, size_t n) {
    if (n >= 8 && n <= 16) {
      uint64_t a, b;
      std::memcpy(&a, src, 8);
      std::memcpy(&b, src + n - 8, 8);
      std::memcpy(dst, &a, 8);
      std::memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
      uint32_t a, b;
      std::memcpy(&a, src, 4);
      std::memcpy(&b, src + n - 4, 4);
      std::memcpy(dst, &a, 4);
      std::memcpy(dst + n - 4, &b, 4);
    } else if (n > 0 && n < 4) {
      dst[0] = src[0];
      dst[n / 2] = src[n / 2];
      dst[n - 1] = src[n - 1];
    } else if (n > 16) {
      std::memcpy(dst, src, n);
    }
  }

 private:
  // Room for one more record and `bytes` more data.
  void Grow(size_t bytes);

  std::unique_ptr<int64_t[]> nr_;
  std::unique_ptr<int64_t[]> seq_;
  std::unique_ptr<uint64_t[]> end_;
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t records_room_ = 0;
  uint64_t data_size_ = 0;
  uint64_t data_room_ = 0;
  uint64_t longest_ = 0;
  uint64_t origin_ = 0;
};

// Consecutive records stored by columns, as a lease holds them: what a
// stage's OnRun sees. Record i is data[begin(i) .. ends[i]).
struct RecordRun {
  const char* data = nullptr;
  const uint32_t* ends = nullptr;  // ends[-1], when i == 0, is `base`
  const int64_t* nrs = nullptr;
  const int64_t* seqs = nullptr;
  uint32_t base = 0;  // where record 0 begins
  size_t count = 0;

  size_t size() const { return count; }
  uint32_t begin(size_t i) const { return i == 0 ? base : ends[i - 1]; }
  std::string_view bytes(size_t i) const { return {data + begin(i), ends[i] - begin(i)}; }
  RecordView operator[](size_t i) const { return {bytes(i), nrs[i], seqs[i]}; }
};

// The records one consumer has taken and not yet acknowledged. They stay
// valid, and stay the consumer's, until it acknowledges them: if it dies
// first, the queue hands them to another consumer.
class Lease {
 public:
  Lease() = default;

  // A run of records stored by columns (as RecordBatch, but with 32-bit
  // end offsets); records [first, count) are the lease's.
  static Lease OfColumns(uint64_t ticket, uint32_t attempt, uint32_t first, uint32_t count,
                         const int64_t* nrs, const int64_t* seqs, const uint32_t* ends,
                         const char* data);
  // One record in the lease's own memory (a record reassembled from pieces).
  static Lease OfRecord(uint64_t ticket, uint32_t attempt, std::string bytes, int64_t nr,
                        int64_t seq);

  size_t size() const { return count_ - first_; }
  bool empty() const { return size() == 0; }
  // Inline: the worker reads every record of every lease through it.
  RecordView operator[](size_t i) const {
    assert(i < size() && "record index out of range");
    // The view is made on each access, never stored: a moved lease keeps
    // working even when its own record sat in the string's inline buffer.
    if (owns_record_) [[unlikely]]
      return {record_, record_nr_, record_seq_};
    const size_t k = first_ + i;
    const uint32_t b = k == 0 ? 0 : ends_[k - 1];
    return {std::string_view(data_ + b, ends_[k] - b), nrs_[k], seqs_[k]};
  }

  // Records [i, j) as a run; false (a record the lease holds in its own
  // memory) when it has no columns.
  bool Run(size_t i, size_t j, RecordRun* run) const {
    assert(i <= j && j <= size() && "records out of range");
    if (owns_record_) return false;
    const size_t k = first_ + i;
    run->data = data_;
    run->ends = ends_ + k;
    run->nrs = nrs_ + k;
    run->seqs = seqs_ + k;
    run->base = k == 0 ? 0 : ends_[k - 1];
    run->count = j - i;
    return true;
  }

  // Asks for the cache lines that records [i, i + n) + kPrefetchRecords
  // will read, before they are read: a lease's columns were written by
  // another core, and a load that misses on each of them in turn costs more
  // than the stage's work on a short record. Called every n records;
  // `*data_ahead` (0 at the start of the lease) says how far the data was
  // asked for, which goes kPrefetchBytes past the record i.
  void Prefetch(size_t i, size_t n, uint64_t* data_ahead) const {
    if (owns_record_) return;
    const size_t at = first_ + i;
    if (at >= count_) return;
    const size_t from = at + kPrefetchRecords, to = std::min<size_t>(count_, from + n);
    for (size_t k = from; k < to; k += 8) {
      __builtin_prefetch(nrs_ + k);
      __builtin_prefetch(seqs_ + k);
      if (k % 16 < 8) __builtin_prefetch(ends_ + k);
    }
    const uint64_t want = std::min<uint64_t>(ends_[count_ - 1], uint64_t{ends_[at]} + kPrefetchBytes);
    for (uint64_t p = std::max(*data_ahead, uint64_t{ends_[at]}); p < want; p += 64) __builtin_prefetch(data_ + p);
    if (want > *data_ahead) *data_ahead = want;
  }
  static constexpr size_t kPrefetchRecords = 64;
  static constexpr uint64_t kPrefetchBytes = 1024;

  // The transport's name for what was taken (the shared-memory queue: the
  // batch's descriptor number).
  uint64_t ticket() const { return ticket_; }
  // How many times these records have been handed out, this time included:
  // 1 unless a consumer died holding them.
  uint32_t attempt() const { return attempt_; }
  // Index of the lease's first record in its batch: past 0 when a consumer
  // that died had finished the records before it (see Queue::Progress).
  uint32_t first() const { return first_; }
  // Its place among the batches its queue handed out (0, 1, ...), the same
  // when it is handed out again after a consumer died: an [ordered] stage's
  // positions (OrderGate). Only the shared-memory queue numbers them.
  uint64_t order() const { return order_; }
  void set_order(uint64_t order) { order_ = order; }

 private:
  uint64_t ticket_ = 0;
  uint32_t attempt_ = 0;
  uint32_t first_ = 0;
  uint32_t count_ = 0;
  uint64_t order_ = 0;
  const int64_t* nrs_ = nullptr;
  const int64_t* seqs_ = nullptr;
  const uint32_t* ends_ = nullptr;
  const char* data_ = nullptr;
  bool owns_record_ = false;
  std::string record_;
  int64_t record_nr_ = 0;
  int64_t record_seq_ = 0;
};

enum class QueueStatus : uint8_t {
  kOk,
  kEnd,        // Pop: every producer sent its end of stream and nothing is left
  kEmpty,      // Pop with PopMode::kNoWait: nothing to take now
  kCancelled,  // the consuming side needs no more records (head(n))
  kClosed,     // the queue was shut down (the run is stopping)
};
const char* QueueStatusName(QueueStatus status);

enum class PopMode : uint8_t { kWait, kNoWait };

// What one producer has published, as the queue's own books say: after a
// producer died, where its replacement resumes and which of its outputs
// must not be sent again.
struct ProducerProgress {
  uint64_t records = 0;  // published so far
  int64_t last_nr = 0;   // of the last one published
  int64_t last_seq = 0;
  uint64_t origin = 0;   // the RecordBatch::origin of the last run published
  bool ended = false;
};

class Queue {
 public:
  virtual ~Queue() = default;

  virtual int producers() const = 0;
  virtual int consumers() const = 0;

  // Publishes the records of `batch`, blocking while the queue is full.
  // kOk: every record is in the queue. Otherwise (kCancelled, kClosed) some
  // may not be; a producer stops then.
  virtual QueueStatus Push(int producer, const RecordBatch& batch) = 0;
  // The producer's one end-of-stream marker; sending it again is harmless.
  virtual void EndOfStream(int producer) = 0;
  // The books of `producer` (for a replacement of it, or the supervisor).
  virtual ProducerProgress PublishedBy(int producer) = 0;

  // Takes the next batch into `*lease`. kEnd once every producer has ended
  // and no record is left anywhere in the queue, not even taken by another
  // consumer (that one might die and its records come back).
  virtual QueueStatus Pop(int consumer, Lease* lease, PopMode mode) = 0;
  // Says that the first `finished` records of `lease` are done with (their
  // outputs pushed): if the consumer dies, only the rest is handed out again.
  virtual void Progress(int consumer, const Lease& lease, size_t finished) = 0;
  // The lease is done with; its records leave the queue for good.
  virtual void Ack(int consumer, Lease* lease) = 0;
  // The consumer has worked through its lease and is about to publish its
  // outputs and Ack: a queue whose batches come from afar may ask for the
  // next one now, so that it travels meanwhile. Nothing by default.
  virtual void AskAhead(int /*consumer*/) {}
  // The consumer has just taken a lease and expects to be done with it in
  // about `us` (runtime/lease_pace.h): such a queue may ask for the next
  // one then, as AskAhead would, so that it arrives as the lease ends;
  // `us` <= 0 asks for nothing (and withdraws an ask not yet sent).
  // Nothing by default.
  virtual void AskAheadIn(int /*consumer*/, int64_t /*us*/) {}
  // Whether a batch placed before `ticket` on the queue was handed to this
  // consumer and waits, unread, for its next Pop; if so, the earliest such
  // batch is the one that Pop returns. On a broker, a batch of a replica
  // that died comes back after its ack wait to whoever asked: maybe to an
  // [ordered] replica whose last lease waits for the very turn that batch
  // holds up (runtime/worker.cc, "one more"). None by default.
  virtual bool HoldsEarlier(int /*consumer*/, uint64_t /*ticket*/) { return false; }
  // True when Ack (and Progress) may be called for a consumer from another
  // thread while that consumer's Pop blocks: a worker then finishes a lease
  // (publishes its outputs, acknowledges it) while it takes the next one.
  virtual bool AcksDuringPop() const { return false; }

  // From the consuming side: no more records are wanted. Pushes return
  // kCancelled, pops return kCancelled, blocked calls wake up.
  virtual void Cancel() = 0;
  // Shuts the queue down: every call, blocked or later, returns kClosed.
  virtual void Close() = 0;
  // True when attempt() > 1 marks every lease handed out again after its
  // consumer died. A broker may hand a dead consumer's batch out as a first
  // delivery again (nats-server does when the redelivery meets an expired
  // fetch), so a lease of such a queue is looked up in the recovery book
  // whatever its attempt (a scan, cheap beside a fetch from the broker).
  virtual bool MarksRedeliveries() const { return true; }
  // Whether `lease`, taken from this queue, may be handed out again after
  // a death, and so must be looked up in the recovery book.
  bool MayBeRedone(const Lease& lease) const { return lease.attempt() > 1 || !MarksRedeliveries(); }
  // Why the queue closed itself, when it did (a transport that lost its
  // broker): what the worker then says, instead of a bare "shutting down".
  // Empty when the run closed it.
  virtual std::string Failure() const { return ""; }
};

}  // namespace flow
