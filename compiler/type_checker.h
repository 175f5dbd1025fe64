// The types of expressions (section 5 of the contract, docs/language.md
// "Types and operators" and "Functions"), checked in place.
//
// Checking annotates every Expr with its `type`, sets `function` on calls and
// `local_slot` on names of block-local `let`s, and replaces names of
// constants (global `let`s, a defined stage's parameters) and calls of
// `arg`/`env` by literals of their values, so a checked block holds only
// local names. An expression whose type is unknown because of an earlier
// error reports nothing more (no cascades).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "compiler/ast.h"
#include "compiler/check_context.h"
#include "compiler/constant_scope.h"

namespace flow {

// Where an expression is: a block reads records (fields, NF, NR) and cannot
// hold durations or sizes; a constant (a `let`, a stage argument, an
// option) is the other way round.
enum class ExprPlace { kConstant, kBlock };

class TypeChecker {
 public:
  TypeChecker(CheckContext& ctx, const ConstantScope& scope, ExprPlace place)
      : ctx_(ctx), scope_(scope), place_(place) {}

  // Checks `expr` (which may be replaced, see above) and returns its type.
  Type Check(ExprPtr& expr);
  // Checks a block's `let`s in order and then its result; returns the
  // result's type. Only for ExprPlace::kBlock.
  Type CheckBlock(Block& block);

 private:
  Type CheckKind(ExprPtr& expr);
  Type CheckRecordRead(const Expr& expr, Type type);
  Type CheckName(ExprPtr& expr);
  Type CheckUnary(Expr& expr);
  Type CheckBinary(Expr& expr);
  Type CheckConditional(Expr& expr);

  // Function calls (call_checker.cc).
  Type CheckCall(ExprPtr& expr);
  Type CheckFixedCall(Expr& call, const std::vector<Type>& args);
  Type CheckMinMax(Expr& call, const std::vector<Type>& args);
  Type CheckFmt(Expr& call, const std::vector<Type>& args);
  void CheckRegex(Expr& call, const std::vector<Type>& args);
  Type FoldArgOrEnv(ExprPtr& expr, const std::vector<Type>& args);
  bool CheckArgCount(const Expr& call, size_t min, size_t max);

  CheckContext& ctx_;
  const ConstantScope& scope_;
  ExprPlace place_;
  // The block's `let`s seen so far: name and slot. Later entries shadow
  // earlier ones and every global.
  std::vector<std::pair<std::string, int>> locals_;
  const Block* block_ = nullptr;
};

// "an int", "a str": the type with its article, as diagnostics write it.
std::string WithArticle(Type type);

}  // namespace flow
