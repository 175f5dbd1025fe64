// FLOWRUN_TRACE=PATH: every process of a run (the origin, its keeper and
// workers, the `flowrun worker` daemons, their parts and instances) appends
// one line per milestone to PATH: wall-clock microseconds, pid, what. For
// finding where a run's time goes across processes (bench/trace_report.py
// lines them up); the machines of one trace must share a file system and a
// clock. Unset, a milestone costs a load and a branch.
#pragma once

#include <string_view>

namespace flow {

void TraceEvent(std::string_view what);
// Whether milestones are written: checked first where making the line
// costs something (once per lease).
bool Tracing();

}  // namespace flow
