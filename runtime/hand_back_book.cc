// The hand-back book: a memfd of fixed-size notes, one page per instance
// slot, mapped before the instances are forked (they inherit the mapping).
#include "runtime/hand_back_book.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "runtime/futex.h"
#include "runtime/nats_queue_parts.h"
#include "runtime/nats_run.h"

namespace flow {

// A note's state says whether its reply is whole: a holder killed while it
// writes one leaves kWriting, which nobody reads.
struct HandBackPage::Entry {
  static constexpr uint32_t kFree = 0, kWriting = 1, kNoted = 2;
  std::atomic<uint32_t> state;
  uint32_t length;
  char reply[HandBackBook::kReplyBytes];
};
static_assert(sizeof(HandBackPage::Entry) == 256, "a note is 256 bytes: 8 KiB a slot");
// Shared between processes: an atomic that took a lock would not be.
static_assert(std::atomic<uint32_t>::is_always_lock_free, "notes need lock-free atomics");

int HandBackPage::Note(const char* reply) const {
  if (entries_ == nullptr || reply == nullptr) return -1;
  const size_t length = std::strlen(reply);
  if (length > HandBackBook::kReplyBytes) return -1;
  for (size_t i = 0; i < HandBackBook::kNotesPerSlot; ++i) {
    Entry& e = entries_[i];
    uint32_t free = Entry::kFree;
    // Several threads of one instance note and forget (a Pop, an Ack on
    // the finisher's thread): an entry is claimed before it is written.
    if (!e.state.compare_exchange_strong(free, Entry::kWriting, std::memory_order_acquire)) continue;
    std::memcpy(e.reply, reply, length);
    e.length = static_cast<uint32_t>(length);
    // Release: a reader that sees kNoted sees the whole reply.
    e.state.store(Entry::kNoted, std::memory_order_release);
    return static_cast<int>(i);
  }
  return -1;
}

void HandBackPage::Forget(int note) const {
  if (entries_ == nullptr || note < 0) return;
  entries_[note].state.store(Entry::kFree, std::memory_order_release);
}

std::vector<std::string> HandBackPage::TakeAll() const {
  std::vector<std::string> replies;
  if (entries_ == nullptr) return replies;
  for (size_t i = 0; i < HandBackBook::kNotesPerSlot; ++i) {
    Entry& e = entries_[i];
    const uint32_t state = e.state.load(std::memory_order_acquire);
    if (state == Entry::kNoted && e.length <= HandBackBook::kReplyBytes) replies.emplace_back(e.reply, e.length);
    if (state != Entry::kFree) e.state.store(Entry::kFree, std::memory_order_relaxed);
  }
  return replies;
}

namespace {

constexpr size_t kPageBytes = HandBackBook::kNotesPerSlot * sizeof(HandBackPage::Entry);
// Before the pages: the leave word (AskToLeave), alone on its cache line.
constexpr size_t kHeaderBytes = 64;

std::atomic<uint32_t>* LeaveWord(void* base) { return static_cast<std::atomic<uint32_t>*>(base); }

}  // namespace

void HandBackBook::AskToLeave() const {
  LeaveWord(base_)->store(1, std::memory_order_release);
  FutexWakeAll(LeaveWord(base_));
}

void HandBackBook::WaitForLeave() const {
  while (LeaveWord(base_)->load(std::memory_order_acquire) == 0) FutexWait(LeaveWord(base_), 0);
}

std::unique_ptr<HandBackBook> HandBackBook::Create(size_t slots, std::string* error) {
  const int fd = memfd_create("flowrun-hand-back", MFD_CLOEXEC);
  if (fd < 0) {
    *error = std::string("cannot make the hand-back book: memfd_create: ") + std::strerror(errno);
    return nullptr;
  }
  return Adopt(fd, slots, error);
}

std::unique_ptr<HandBackBook> HandBackBook::Adopt(int fd, size_t slots, std::string* error) {
  std::unique_ptr<HandBackBook> book = Map(fd, slots, true, error);
  close(fd);  // the mapping keeps the memory; the daemon its own descriptor
  return book;
}

std::unique_ptr<HandBackBook> HandBackBook::Read(int fd, std::string* error) {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    *error = std::string("cannot read the hand-back book: fstat: ") + std::strerror(errno);
    return nullptr;
  }
  if (static_cast<size_t>(st.st_size) < kHeaderBytes + kPageBytes) return nullptr;
  const size_t slots = (static_cast<size_t>(st.st_size) - kHeaderBytes) / kPageBytes;
  return Map(fd, slots, false, error);
}

std::unique_ptr<HandBackBook> HandBackBook::Map(int fd, size_t slots, bool size_it, std::string* error) {
  const size_t bytes = kHeaderBytes + slots * kPageBytes;
  if (slots == 0) {
    *error = "a hand-back book needs a slot at least";
    return nullptr;
  }
  // A few KiB a slot, well under any `ulimit -f` (ShmQueue::Create lifts
  // that limit for its far larger segments): a failure is told, not raised.
  if (size_it && ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    *error = std::string("cannot size the hand-back book: ftruncate: ") + std::strerror(errno);
    return nullptr;
  }
  // Zero-filled by the kernel: every note starts kFree.
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    *error = std::string("cannot map the hand-back book: mmap: ") + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<HandBackBook>(new HandBackBook(base, bytes, slots));
}

HandBackBook::~HandBackBook() { munmap(base_, bytes_); }

HandBackPage HandBackBook::page(size_t slot) const {
  HandBackPage page;
  if (slot < slots_)
    page.entries_ =
        reinterpret_cast<HandBackPage::Entry*>(static_cast<char*>(base_) + kHeaderBytes + slot * kPageBytes);
  return page;
}

bool HandBackBook::Holds() const {
  for (size_t s = 0; s < slots_; ++s) {
    const HandBackPage p = page(s);
    for (size_t i = 0; i < kNotesPerSlot; ++i) {
      if (p.entries_[i].state.load(std::memory_order_acquire) != HandBackPage::Entry::kFree) return true;
    }
  }
  return false;
}

std::vector<std::string> HandBackBook::TakeAll() const {
  std::vector<std::string> replies;
  for (size_t s = 0; s < slots_; ++s) {
    for (std::string& reply : page(s).TakeAll()) replies.push_back(std::move(reply));
  }
  return replies;
}

// (libnats's natsMsg_GetMetaData reads the same subject, but only of a
// message it received on a JetStream subscription: not of a note.)
uint64_t AckSubjectSequence(const std::string& reply) {
  std::vector<std::string_view> tokens;
  std::string_view rest = reply;
  for (size_t dot; (dot = rest.find('.')) != std::string_view::npos; rest.remove_prefix(dot + 1))
    tokens.push_back(rest.substr(0, dot));
  tokens.push_back(rest);
  if (tokens.size() < 9 || tokens[0] != "$JS" || tokens[1] != "ACK") return 0;
  // $JS.ACK.<stream>.<consumer>.<delivered>.<sequence>.<consumer sequence>.<time>.<pending>,
  // or (newer servers) with a domain and an account hash after ACK, and a
  // token more at the end.
  const std::string_view sequence = tokens.size() == 9 ? tokens[5] : tokens.size() >= 12 ? tokens[7] : "";
  uint64_t value = 0;
  for (const char c : sequence) {
    if (c < '0' || c > '9') return 0;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

size_t HandBack(NatsLink& link, const std::vector<std::string>& replies) {
  std::vector<std::pair<uint64_t, const std::string*>> in_order;
  for (const std::string& reply : replies) in_order.emplace_back(AckSubjectSequence(reply), &reply);
  std::stable_sort(in_order.begin(), in_order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t sent = 0;
  for (const auto& [sequence, reply] : in_order) {
    if (natsConnection_PublishString(link.connection(), reply->c_str(), kNakWord) == NATS_OK) ++sent;
  }
  if (sent > 0) natsConnection_FlushTimeout(link.connection(), link.api_wait_ms());
  return sent;
}

}  // namespace flow
