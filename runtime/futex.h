// Blocking on a 32-bit word in memory shared between processes (Linux futex).
// The plain FUTEX_WAIT/FUTEX_WAKE operations, never the _PRIVATE ones: the
// waiters and wakers of a queue are different processes sharing a mapping.
#pragma once

#include <atomic>
#include <cstdint>

namespace flow {

// Sleeps while `*word == expected`. Returns at once when the word already
// differs (the kernel compares atomically with going to sleep, which is what
// makes "read the word, unlock, wait" free of lost wake-ups), when woken, or
// on a signal. Callers always re-check their condition in a loop.
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected);

// Wakes every process sleeping on `word`.
void FutexWakeAll(std::atomic<uint32_t>* word);

}  // namespace flow
