// One call of a builtin stage: its arguments bound to the signature's
// parameters and folded, its block typed, its replicas and options read
// (contract section 6, docs/language.md "Stages").
#pragma once

#include <optional>
#include <vector>

#include "compiler/ast.h"
#include "compiler/check_context.h"
#include "compiler/checked_pipeline.h"
#include "compiler/constant_folder.h"
#include "compiler/constant_scope.h"
#include "stdlib/signatures.h"

namespace flow {

// Replica counts above this are refused outright; the planner checks the
// machine's real limits.
inline constexpr int64_t kMaxReplicas = 1'000'000;

class StageChecker {
 public:
  StageChecker(CheckContext& ctx, ConstantFolder& folder) : ctx_(ctx), folder_(folder) {}

  // Checks `call` of `signature` with names resolved in `scope`. The
  // pipeline arguments (tee's branch, merge's inputs) are not checked here
  // but appended to `pipeline_args` in order, for the caller to expand; an
  // argument written as a plain call or name (`tee(discard)`) is first turned
  // into a one-stage pipeline in place.
  CheckedStage Check(StageCall& call, const StageSignature& signature, const ConstantScope& scope,
                     std::vector<Pipeline*>* pipeline_args);

  // The count of `* N`, `* name` or `* auto` (1 when there is none), or
  // nullopt after reporting an error.
  std::optional<int> ResolveReplicas(const Replicas& replicas, const ConstantScope& scope);

 private:
  void BindArgs(StageCall& call, const StageSignature& signature, std::vector<Arg*>* bound,
                std::vector<Arg*>* variadic);
  void CheckArg(const StageSignature& signature, const ParamSignature& param, Arg& arg, const ConstantScope& scope,
                CheckedStage* stage, std::vector<Pipeline*>* pipeline_args);
  void CheckArgValue(const StageSignature& signature, const ParamSignature& param, const Value& value,
                     SourceLoc loc);
  void CheckBlock(StageCall& call, const StageSignature& signature, const ConstantScope& scope,
                  CheckedStage* stage);

  CheckContext& ctx_;
  ConstantFolder& folder_;
};

}  // namespace flow
