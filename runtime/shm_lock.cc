#include "runtime/shm_lock.h"

#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace flow::shm {

CrashHook crash_hook = nullptr;

bool InitRobustMutex(pthread_mutex_t* mutex, std::string* error) {
  pthread_mutexattr_t attr;
  int rc = pthread_mutexattr_init(&attr);
  if (rc == 0) rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  if (rc == 0) rc = pthread_mutex_init(mutex, &attr);
  pthread_mutexattr_destroy(&attr);
  if (rc != 0) *error = std::string("cannot make the queue's lock: ") + std::strerror(rc);
  return rc == 0;
}

Section::Section(char* base, Header* header, const char* op)
    : base_(base), header_(header), op_(op) {
  Lock();
}

Section::~Section() {
  if (locked_) Unlock();
}

void Section::Lock() {
  assert(!locked_ && "the section already holds the lock");
  int rc = pthread_mutex_lock(&header_->lock);
  if (rc == EOWNERDEAD) {
    // The previous holder died inside a section: undo its unfinished change
    // before anyone looks at the state, then declare the mutex usable.
    RollBack();
    rc = pthread_mutex_consistent(&header_->lock);
  }
  // ENOTRECOVERABLE cannot happen (every EOWNERDEAD is made consistent);
  // any error here means the segment is not a queue.
  if (rc != 0) std::abort();
  locked_ = true;
}

void Section::Unlock() {
  assert(locked_ && "the section does not hold the lock");
  assert(header_->undo.count.load(std::memory_order_relaxed) == 0 &&
         "a section must commit before it unlocks");
  locked_ = false;
  if (pthread_mutex_unlock(&header_->lock) != 0) std::abort();
}

void Section::Set(Word& field, uint64_t value) {
  UndoLog& log = header_->undo;
  uint64_t n = log.count.load(std::memory_order_relaxed);
  assert(n < kMaxUndo && "a section changes more fields than the undo log holds");
  uint64_t offset = static_cast<uint64_t>(reinterpret_cast<char*>(&field) - base_);
  log.entries[n].offset.store(offset, std::memory_order_relaxed);
  log.entries[n].old.store(field.load(std::memory_order_relaxed), std::memory_order_relaxed);
  log.count.store(n + 1, std::memory_order_release);
  field.store(value, std::memory_order_release);
  CrashPoint(op_, "set");
}

void Section::Commit() {
  CrashPoint(op_, "commit");
  header_->undo.count.store(0, std::memory_order_release);
  CrashPoint(op_, "committed");
}

void Section::RollBack() {
  UndoLog& log = header_->undo;
  uint64_t n = log.count.load(std::memory_order_acquire);
  if (n > kMaxUndo) std::abort();  // not a log we wrote
  for (uint64_t i = n; i-- > 0;) {
    uint64_t offset = log.entries[i].offset.load(std::memory_order_relaxed);
    // Only words of the metadata part of the segment are ever logged.
    if (offset % sizeof(Word) != 0 || offset >= header_->arena_off) std::abort();
    auto* field = reinterpret_cast<Word*>(base_ + offset);
    field->store(log.entries[i].old.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  log.count.store(0, std::memory_order_release);
}

}  // namespace flow::shm
