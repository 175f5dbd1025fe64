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
