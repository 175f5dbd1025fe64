// The standard library's stage signatures: names, parameters, types, blocks.
//
// This is data: the checker reads it to resolve and type stage calls. The
// stages' implementations (one file per stage) come with the runtime.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/value.h"

namespace flow {

enum class StageKind : uint8_t {
  kSource,     // takes no input: may only start a pipeline
  kTransform,  // input and output
  kSink,       // takes input, emits nothing: may only end a pipeline
};

// What an argument of a stage may be.
enum class ParamType : uint8_t {
  kInt, kFloat, kStr, kBool, kDuration, kSize,
  kIntOrSize,  // `[queue = 4096]` or `[queue = 16MiB]`
  kPipeline,   // tee(pipeline), merge(p1, p2, ...)
};
const char* ParamTypeName(ParamType type);

// What a string argument names outside the program, so `check` can verify
// it before anything runs.
enum class PathRole : uint8_t {
  kNone,
  kInputFile,   // read(path): must exist and be readable ("-" is stdin; a glob must match)
  kOutputFile,  // write(path), report(path): its directory must be writable ("-" is stdout)
};

struct ParamSignature {
  std::string name;
  ParamType type;
  std::optional<Value> default_value;  // nullopt: the argument is required
  PathRole path_role = PathRole::kNone;
};

// What the block `{ ... }` after a stage must be.
enum class BlockRule : uint8_t {
  kNone,      // the stage takes no block
  kOptional,  // distinct [{ key }]
  kRequired,  // map {}, filter {}, ...
};

// The type the block's result must have.
enum class BlockResult : uint8_t {
  kAny,     // map: written as text
  kBool,    // filter
  kNumber,  // sum: int or float
};

struct StageSignature {
  std::string name;
  StageKind kind;
  std::vector<ParamSignature> params;
  // merge(p1, p2, ...): the last parameter repeats (at least once).
  bool variadic = false;
  BlockRule block = BlockRule::kNone;
  BlockResult block_result = BlockResult::kAny;
  // Keeps state across records (count, sort, distinct, ...): replicating it
  // would change its meaning, so `*N` is refused.
  bool stateful = false;
  // Has effects outside the pipeline (exec, sh, whois, write): retrying a
  // record may repeat them. The fault-tolerance docs say what that means.
  bool side_effects = false;
  // Its Finish may emit records (what sh's command writes once its input
  // closes; every stateful stage's result). A stage without it emits only
  // while it works on a record, which lets the consumers on a broker end
  // as soon as its input is drained (runtime/nats_queue.h).
  bool emits_at_end = false;
  std::string summary;  // one line for `--help` and "did you mean"
};

// Every builtin stage of section 6 of the contract.
const std::vector<StageSignature>& BuiltinStages();
// The signature named `name`, or nullptr.
const StageSignature* FindBuiltinStage(const std::string& name);

// The options of section 7 (`[ordered, retries = 2, ...]`).
struct OptionSignature {
  std::string name;
  ParamType type;       // a bare flag (`ordered`) means `= true` for kBool
  std::string summary;
};
const std::vector<OptionSignature>& StageOptions();
const OptionSignature* FindStageOption(const std::string& name);

}  // namespace flow
