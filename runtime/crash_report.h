// A worker that dies of a fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE) or of an
// abort() prints where, before it dies: the signal and a raw stack trace,
// on its stderr, which the supervisor prefixes and forwards ([map#2] ...).
// Why: a library that aborts without a word (libnats does, on a mutex it
// cannot lock) or a fault in generated code otherwise leaves only "killed
// by signal SIGABRT" behind, and the run's one clue is gone with the
// process. The signal is then raised again with its default action, so
// the exit status, core dumps and the supervisor's account are unchanged.
//
// Under AddressSanitizer too: a worker starts with the handlers it
// inherited reset to their defaults (runtime/process.cc), ASan's with
// them, so ASan's own report never came (a worker killed by SIGSEGV in CI
// left nothing but its signal).
#pragma once

namespace flow {

// In a worker, once, early (before any thread starts).
void InstallCrashReport();
// What InstallCrashReport needs loaded first (about 0.15 ms, once per
// process image): called by a parent before it forks, its children have
// it already.
void PrepareCrashReport();

}  // namespace flow
