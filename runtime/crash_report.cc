#include "runtime/crash_report.h"

#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cstdlib>

namespace flow {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
constexpr int kMaxFrames = 48;

void Write(const char* text) {
  size_t left = strlen(text);
  while (left > 0) {
    const ssize_t n = write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<size_t>(n);
  }
}

// Only async-signal-safe calls (backtrace was loaded beforehand, see
// InstallCrashReport, and backtrace_symbols_fd does not allocate). Lines
// start with "crash: " so that one look finds them in a run's log.
void Report(int sig) {
  Write("crash: SIG");
  Write(sigabbrev_np(sig) != nullptr ? sigabbrev_np(sig) : "?");
  Write(" (");
  Write(sigdescr_np(sig) != nullptr ? sigdescr_np(sig) : "?");
  Write("); the stack (addr2line -e flowrun, or gdb, turns it into lines):\n");
  void* frames[kMaxFrames];
  const int n = backtrace(frames, kMaxFrames);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  // SA_RESETHAND put the default action back: the signal kills us now, as
  // it would have without this report.
  raise(sig);
}

}  // namespace

void PrepareCrashReport() {
  // backtrace loads libgcc on its first call, which allocates: done here,
  // not in a signal handler.
  static bool prepared = false;
  if (prepared) return;
  void* warm[1];
  backtrace(warm, 1);
  prepared = true;
}

void InstallCrashReport() {
  PrepareCrashReport();
  // Its own stack: a fault from a stack overflow has none left to run on.
  static char alternate[64 * 1024];
  stack_t stack{};
  stack.ss_sp = alternate;
  stack.ss_size = sizeof alternate;
  sigaltstack(&stack, nullptr);
  struct sigaction report {};
  report.sa_handler = Report;
  sigemptyset(&report.sa_mask);
  report.sa_flags = SA_RESETHAND | SA_ONSTACK;
  for (int sig : kFatalSignals) sigaction(sig, &report, nullptr);
}

}  // namespace flow
