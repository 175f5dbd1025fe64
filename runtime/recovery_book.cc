#include "runtime/recovery_book.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace flow {
namespace {

// Leases in recovery at once: one per dead worker's lease in hand until a
// replica finishes it again. Far more than a run has workers.
constexpr size_t kRedoEntries = 1024;

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }
size_t JournalSize() { return RoundUp(sizeof(InstanceJournal), 64); }
size_t EntrySize() { return RoundUp(sizeof(RedoEntry), 64); }
// The mapping starts with one line: how many entries from the first were
// ever claimed (Claim takes the first free one, so they stay few). Find
// reads only those: a lease that may be redone is looked up at its start,
// and the whole table is 1024 entries of 192 bytes, 48 pages each process
// would fault in and read per lease (a slow stage's replica on a broker,
// where every lease may be redone, spent more time there than in libnats's
// parser).
constexpr size_t kHeaderSize = 64;
std::atomic<uint64_t>& EntriesUsed(char* base) { return *reinterpret_cast<std::atomic<uint64_t>*>(base); }

}  // namespace

void InstanceJournal::SetMark(uint64_t lease_plus_one, uint64_t token) {
  const uint64_t next = mark_count.load(std::memory_order_relaxed) + 1;
  Mark& mark = marks[next % 2];
  mark.lease.store(lease_plus_one, std::memory_order_relaxed);
  mark.token.store(token, std::memory_order_relaxed);
  // Release: the mark's words are in place before the count points at it.
  mark_count.store(next, std::memory_order_release);
}

std::pair<uint64_t, uint64_t> InstanceJournal::LastMark() const {
  const uint64_t count = mark_count.load(std::memory_order_acquire);
  if (count == 0) return {0, 0};
  const Mark& mark = marks[count % 2];
  return {mark.lease.load(std::memory_order_relaxed), mark.token.load(std::memory_order_relaxed)};
}

std::string_view RedoEntry::Reason() const { return std::string_view(reason, strnlen(reason, sizeof(reason))); }

std::unique_ptr<RecoveryBook> RecoveryBook::Create(size_t instances, std::string* error) {
  const size_t bytes = RoundUp(kHeaderSize + instances * JournalSize() + kRedoEntries * EntrySize(), 4096);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    *error = std::string("cannot map the recovery journal: ") + std::strerror(errno);
    return nullptr;
  }
  char* base = static_cast<char*>(p);
  new (base) std::atomic<uint64_t>(0);
  for (size_t i = 0; i < instances; ++i) new (base + kHeaderSize + i * JournalSize()) InstanceJournal();
  for (size_t e = 0; e < kRedoEntries; ++e)
    new (base + kHeaderSize + instances * JournalSize() + e * EntrySize()) RedoEntry();
  return std::unique_ptr<RecoveryBook>(new RecoveryBook(base, bytes, instances));
}

RecoveryBook::RecoveryBook(char* base, size_t bytes, size_t instances)
    : base_(base), bytes_(bytes), instances_(instances) {}

RecoveryBook::~RecoveryBook() { munmap(base_, bytes_); }

InstanceJournal& RecoveryBook::journal(size_t instance) const {
  return *reinterpret_cast<InstanceJournal*>(base_ + kHeaderSize + instance * JournalSize());
}

RedoEntry* RecoveryBook::Find(uint64_t key) const {
  char* entries = base_ + kHeaderSize + instances_ * JournalSize();
  // Acquire: pairs with Claim's release, made before the lease went back
  // to its queue, whose lock orders it before this worker took it.
  const uint64_t used = EntriesUsed(base_).load(std::memory_order_acquire);
  for (size_t e = 0; e < used; ++e) {
    auto* entry = reinterpret_cast<RedoEntry*>(entries + e * EntrySize());
    if (entry->key.load(std::memory_order_acquire) == key + 1) return entry;
  }
  return nullptr;
}

void RecoveryBook::Release(RedoEntry* entry) { entry->key.store(0, std::memory_order_release); }

RedoEntry* RecoveryBook::Claim(uint64_t key) {
  if (RedoEntry* found = Find(key)) return found;
  char* entries = base_ + kHeaderSize + instances_ * JournalSize();
  for (size_t e = 0; e < kRedoEntries; ++e) {
    auto* entry = reinterpret_cast<RedoEntry*>(entries + e * EntrySize());
    if (entry->key.load(std::memory_order_acquire) != 0) continue;
    // Counted (only the supervisor claims: no race on the count) before
    // the key is set, and both before the lease goes back to its queue,
    // whose lock makes them visible to the worker that takes it.
    std::atomic<uint64_t>& used = EntriesUsed(base_);
    if (used.load(std::memory_order_relaxed) < e + 1) used.store(e + 1, std::memory_order_release);
    for (auto& floor : entry->floors) floor.store(0, std::memory_order_relaxed);
    entry->poison.store(0, std::memory_order_relaxed);
    entry->deaths.store(0, std::memory_order_relaxed);
    entry->reason[0] = '\0';
    entry->key.store(key + 1, std::memory_order_release);
    return entry;
  }
  return nullptr;
}

void RecoveryBook::SetReason(RedoEntry* entry, std::string_view reason) {
  const size_t n = std::min(reason.size(), sizeof(entry->reason) - 1);
  std::memcpy(entry->reason, reason.data(), n);
  entry->reason[n] = '\0';
}

}  // namespace flow
