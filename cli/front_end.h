// Wires the passes together: load the program, parse, check, build the graph.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "compiler/ast.h"
#include "compiler/source.h"
#include "compiler/stage_graph.h"

namespace flow {

struct FrontEndOptions {
  std::string path;                        // the .flow file; "" with `program`
  std::optional<std::string> program;      // `-e 'PROGRAM'`
  std::map<std::string, std::string> params;  // `-p NAME=VALUE`
  int64_t queue_records = kDefaultQueueRecords;
  int64_t queue_bytes = kDefaultQueueBytes;
  int online_cpus = 1;  // what `* auto` means
  std::string program_name = "<-e>";  // how messages name a `program` given as text
  // The environment that env() reads at compile time: the process's own
  // when unset. A worker compiles with the origin's values (issue 8).
  std::optional<std::map<std::string, std::string>> environment;
  // When set, every variable the program read is noted here (unset ones
  // are left out), so a worker can be given the same.
  std::map<std::string, std::string>* environment_read = nullptr;
};

struct CompiledProgram {
  std::unique_ptr<SourceFile> file;
  Program ast;
  StageGraph graph;
};

// Loads, parses and checks the program; prints every diagnostic (errors and
// warnings) to stderr. Returns nullopt when the program cannot run: the
// caller exits with 2, as for any compile error.
std::optional<CompiledProgram> CompileProgram(const FrontEndOptions& options);

}  // namespace flow
