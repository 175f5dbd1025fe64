// The shared words that let a dead worker be replaced with nothing lost and
// nothing doubled (section 7: "a run that survives failures delivers every
// record exactly once to the sink" for stages without side effects).
//
// How exactly-once works. Every record a worker emits carries in its `seq`
// where it came from: for a consumer, (index of the input record in its
// lease, rank among that record's outputs), for a source a resume token
// (read: the byte offset after the record, seq and lines: the record's
// number). Each output batch also names its lease (RecordBatch::origin).
// The queue publishes both with the records, under its lock, in the
// producer's slot: so after a producer dies, the output queue itself says
// exactly which outputs of which lease went out.
//
// When a worker dies, the supervisor, before it hands the dead worker's
// leases to anybody, writes a RedoEntry for the lease it was processing:
// per output, the first position not yet published; the record it was on
// (so a record that kills every worker that touches it is found and given
// to on_error after [retries] deaths). ([ordered]: the lease keeps its
// place in the output order by itself, see OrderGate.) Whichever replica takes the lease again
// (its attempt is then > 1) reads the entry, runs the lease again and drops
// the outputs that were already published. Pure stages emit the same
// outputs for the same input, so what is dropped is exactly what was sent.
//
// A sink has no output queue: after each lease it makes its output durable
// (Stage::Sync) and records in its journal (lease, token) before it
// acknowledges. Its replacement cuts the output back to the last token
// (Stage::Resume) and skips a lease the journal says it wrote.
//
// Every word is an address-free atomic in an anonymous shared mapping made
// before the fork. A journal has one writer (its worker) and is read by the
// supervisor only after that worker died; a redo entry is written by the
// supervisor before the lease is put back in its queue (whose lock orders
// the two) and read by the worker that takes it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace flow {

// A lease, named across the run: its edge and its queue ticket (tickets are
// never reused within a queue).
inline uint64_t RecoveryKey(size_t edge, uint64_t ticket) { return (static_cast<uint64_t>(edge) << 48) | ticket; }
// A consumer's output position: input record `index`, its `rank`-th output.
inline int64_t OutputPosition(uint64_t index, uint64_t rank) { return static_cast<int64_t>((index << 32) | rank); }

inline constexpr size_t kMaxRedoOutputs = 4;
inline constexpr uint64_t kWholeLease = ~0ull;  // a sink's floor: every record of the lease is written

// One stage instance's own account of where it is.
struct InstanceJournal {
  std::atomic<uint64_t> lease{0};     // RecoveryKey + 1 of the lease in hand; 0: none
  std::atomic<uint64_t> record{0};    // index + 1 of the input record inside the stage; 0: none
  // Sinks: the last durable point, double-buffered: a death while writing
  // one leaves the other whole. marks[count % 2] is the latest.
  struct Mark {
    std::atomic<uint64_t> lease{0};  // RecoveryKey + 1 of the lease it ends with
    std::atomic<uint64_t> token{0};  // what Stage::Sync returned
  };
  std::atomic<uint64_t> mark_count{0};
  Mark marks[2];

  void SetMark(uint64_t lease_plus_one, uint64_t token);
  // The latest mark; {0, 0} when none was made.
  std::pair<uint64_t, uint64_t> LastMark() const;
};

// A lease handed out again after its holder died.
struct RedoEntry {
  std::atomic<uint64_t> key{0};  // RecoveryKey + 1; 0: the entry is free
  // Per output: outputs whose position is below this were published
  // (0: none). A sink's floors[0] is kWholeLease once the lease is written.
  std::atomic<uint64_t> floors[kMaxRedoOutputs] = {};
  std::atomic<uint64_t> poison{0};    // index + 1 of the record its holders died on
  std::atomic<uint64_t> deaths{0};    // how many holders died on that record
  char reason[120] = {};              // how the last one died, for on_error

  std::string_view Reason() const;
};

class RecoveryBook {
 public:
  static std::unique_ptr<RecoveryBook> Create(size_t instances, std::string* error);
  ~RecoveryBook();
  RecoveryBook(const RecoveryBook&) = delete;
  RecoveryBook& operator=(const RecoveryBook&) = delete;

  InstanceJournal& journal(size_t instance) const;

  // Worker: the entry for `key`, null when there is none.
  RedoEntry* Find(uint64_t key) const;
  // Worker: the lease of `entry` was acknowledged; the entry is free again.
  static void Release(RedoEntry* entry);
  // Supervisor: the entry for `key`, a free one claimed for it when there is
  // none yet (fresh: no floors, no poison); null when every entry is taken.
  RedoEntry* Claim(uint64_t key);
  // Supervisor: `reason` stored (cut to fit) in `entry`.
  static void SetReason(RedoEntry* entry, std::string_view reason);

 private:
  RecoveryBook(char* base, size_t bytes, size_t instances);

  char* base_;
  size_t bytes_;
  size_t instances_;
};

}  // namespace flow
