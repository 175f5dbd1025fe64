// Name resolution, type checking, constant folding, and the stage graph.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"
#include "compiler/stage_graph.h"

namespace flow {

struct CheckOptions {
  // `-p NAME=VALUE`, read by `arg("NAME", default)`.
  std::map<std::string, std::string> params;
  // `env("VAR", default)` reads through this, so tests need no real environment.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // `--queue`: the capacity of every queue no `[queue]` option sets.
  int64_t queue_records = kDefaultQueueRecords;
  int64_t queue_bytes = kDefaultQueueBytes;
  // What `* auto` means: the online CPUs.
  int online_cpus = 1;
};

// Checks `program` (annotating its expressions with types, resolving and
// folding names in place) and builds the graph the runtime will execute.
// Every error is reported to `sink`; returns nullopt when there was any.
std::optional<StageGraph> CheckProgram(Program& program, const CheckOptions& options, DiagnosticSink& sink);

}  // namespace flow
