// Checks pipelines, replacing each use of a defined stage by a checked copy
// of its body: a defined stage is a macro, each use its own copy with the
// parameters bound to the values given there (docs/language.md "Names and
// constants"). Builtin calls go to the StageChecker; tee and merge
// pipelines are expanded the same way, recursively.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "compiler/ast.h"
#include "compiler/check_context.h"
#include "compiler/checked_pipeline.h"
#include "compiler/constant_folder.h"
#include "compiler/constant_scope.h"
#include "compiler/stage_checker.h"
#include "compiler/stage_definitions.h"

namespace flow {

// Defined stages used inside each other multiply: beyond this many builtin
// stages in all, the program is refused rather than the machine exhausted.
// Each stage is at least one process, far more than the planner accepts.
inline constexpr int64_t kMaxExpandedStages = 100'000;

class StageExpander {
 public:
  StageExpander(CheckContext& ctx, ConstantFolder& folder, StageChecker& stage_checker,
                const StageDefinitions& definitions, const ConstantScope& globals)
      : ctx_(ctx), folder_(folder), stage_checker_(stage_checker), definitions_(definitions), globals_(globals) {}

  // Checks `pipeline` (in place) with names resolved in `scope`.
  CheckedPipeline Expand(Pipeline& pipeline, const ConstantScope& scope);

  // A defined stage that no pipeline uses is still checked, once, its
  // parameters unknown, so `check` reports every error in the file.
  void CheckUnusedDefinitions();

 private:
  void ExpandCall(StageCall& call, const ConstantScope& scope, CheckedPipeline* out);
  void ExpandUse(StageCall& call, const StageDef& def, const ConstantScope& scope, CheckedPipeline* out);
  void BindUseArgs(StageCall& call, const StageDef& def, const ConstantScope& scope, ConstantScope* body_scope);
  void MoveUseSettings(StageCall& call, const StageDef& def, const ConstantScope& scope, Pipeline* body);

  CheckContext& ctx_;
  ConstantFolder& folder_;
  StageChecker& stage_checker_;
  const StageDefinitions& definitions_;
  const ConstantScope& globals_;
  std::set<std::string> used_;
  int64_t expanded_stages_ = 0;
};

}  // namespace flow
