// The options of section 7 after a stage: `[ordered, retries = 2,
// timeout = 5s, on_error = skip, queue = 16MiB]` (docs/language.md "Stages").
#pragma once

#include <vector>

#include "compiler/ast.h"
#include "compiler/check_context.h"
#include "compiler/constant_folder.h"
#include "compiler/constant_scope.h"
#include "compiler/stage_graph.h"
#include "stdlib/signatures.h"

namespace flow {

class OptionChecker {
 public:
  OptionChecker(CheckContext& ctx, ConstantFolder& folder) : ctx_(ctx), folder_(folder) {}

  // The options of one call of `signature`, their values folded in `scope`.
  // `replicated`: the stage runs as `* N` with N > 1 or `* auto` (needed by
  // `ordered`). Options with errors keep their defaults.
  StageOptionsSet Check(std::vector<Option>& options, const StageSignature& signature, bool replicated,
                        const ConstantScope& scope);

 private:
  void CheckOnError(const Option& option, StageOptionsSet* set);
  void Apply(const Option& option, const Value& value, const StageSignature& signature, bool replicated,
             StageOptionsSet* set);

  CheckContext& ctx_;
  ConstantFolder& folder_;
};

}  // namespace flow
