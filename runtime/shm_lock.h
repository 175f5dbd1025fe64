// The one lock of a shared-memory queue and what makes it safe to die
// holding: a robust process-shared mutex plus an undo log. Internal to
// runtime/shm_queue*.
//
// A Section is a stretch of code under the lock. Every change it makes to
// the shared state goes through Set, which logs the field's old value
// before storing the new one; Commit ends the change by emptying the log.
// If the process dies anywhere in between, at any instruction, the kernel
// releases the robust mutex with FUTEX_OWNER_DIED, the next process to lock
// gets EOWNERDEAD, rolls the log back and marks the mutex consistent: the
// shared state is exactly as before the interrupted change. Rolling back is
// idempotent, so a process that dies while rolling back is harmless too.
//
// Memory orders in Set: the entry (relaxed) then `count` (release) then the
// field (release). Release on `count` makes the entry visible before it is
// counted; release on the field makes the count visible before the change.
// So whatever prefix of a dead process's stores other processes can see, a
// changed field always has its old value logged. Commit stores count = 0
// with release, after every change of the section. Stores that a killed
// process had executed are not lost: a store retires into the cache, which
// is shared; only unexecuted instructions vanish.
#pragma once

#include <string>

#include "runtime/shm_queue_layout.h"

namespace flow::shm {

// For tests: called at named points ("push.publish", "set") so that a test
// can kill the process there. Null in production; one load and a branch.
using CrashHook = void (*)(const char* op, const char* phase);
extern CrashHook crash_hook;
inline void CrashPoint(const char* op, const char* phase) {
  if (crash_hook != nullptr) crash_hook(op, phase);
}

// Makes `*mutex` a robust, process-shared mutex. False with `*error` set on
// failure.
bool InitRobustMutex(pthread_mutex_t* mutex, std::string* error);

class Section {
 public:
  // Locks. `op` names the operation for crash points.
  Section(char* base, Header* header, const char* op);
  ~Section();
  Section(const Section&) = delete;
  Section& operator=(const Section&) = delete;

  void Set(Word& field, uint64_t value);
  void Commit();

  // For waiting inside an operation: everything must be committed.
  void Unlock();
  void Lock();

  const char* op() const { return op_; }
  void set_op(const char* op) { op_ = op; }

 private:
  void RollBack();

  char* base_;
  Header* header_;
  const char* op_;
  bool locked_ = false;
};

}  // namespace flow::shm
