// Constants folded at compile time: the global `let`s, stage arguments and
// option values (docs/language.md "Names and constants").
#pragma once

#include <optional>

#include "compiler/ast.h"
#include "compiler/check_context.h"
#include "compiler/constant_scope.h"

namespace flow {

class ConstantFolder {
 public:
  explicit ConstantFolder(CheckContext& ctx) : ctx_(ctx) {}

  // Type-checks `expr` as a constant in `scope` (in place, as TypeChecker
  // does) and evaluates it. nullopt when it has an error (reported) or uses
  // a value an earlier error left unknown (nothing more is reported).
  std::optional<Value> Fold(ExprPtr& expr, const ConstantScope& scope);

  // Folds every `let` of `program` in order into `globals`: a `let` sees the
  // ones above it. Errors leave the name defined with an unknown value.
  void FoldGlobalLets(Program& program, ConstantScope& globals);

  // A `-p NAME=VALUE` that no `arg("NAME")` read is a warning, most likely a
  // typo. Call after everything that can read one has been checked.
  void WarnUnreadParams();

 private:
  std::optional<Value> Evaluate(const Expr& expr);

  CheckContext& ctx_;
};

}  // namespace flow
