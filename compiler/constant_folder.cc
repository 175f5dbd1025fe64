#include "compiler/constant_folder.h"

#include "compiler/interpreter.h"
#include "compiler/type_checker.h"

namespace flow {
namespace {

// Whether every part of `expr` has a type. A part that uses a value an
// earlier error left unknown (`let zero = nothing` reported, then
// `10 || zero`) has none, while the whole may still type as a bool: there
// is nothing to evaluate.
bool FullyTyped(const Expr& expr) {
  if (expr.type == Type::kUnknown) return false;
  for (const ExprPtr& child : expr.children) {
    if (child && !FullyTyped(*child)) return false;
  }
  return true;
}

}  // namespace

std::optional<Value> ConstantFolder::Fold(ExprPtr& expr, const ConstantScope& scope) {
  int errors_before = ctx_.errors_seen();
  Type type = TypeChecker(ctx_, scope, ExprPlace::kConstant).Check(expr);
  if (type == Type::kUnknown || ctx_.errors_seen() != errors_before || !FullyTyped(*expr)) return std::nullopt;
  return Evaluate(*expr);
}

std::optional<Value> ConstantFolder::Evaluate(const Expr& expr) {
  if (std::optional<Value> literal = ValueOfLiteral(expr)) return literal;
  // Durations and sizes have no operators; only `?:` can choose between
  // them, and the interpreter (made for blocks) does not know them.
  if (expr.kind == ExprKind::kConditional && (expr.type == Type::kDuration || expr.type == Type::kSize)) {
    std::optional<Value> condition = Evaluate(*expr.children[0]);
    if (!condition) return std::nullopt;
    return Evaluate(*expr.children[condition->as_bool() ? 1 : 2]);
  }
  RecordError error;
  std::optional<Value> value = EvaluateConstant(expr, &error);
  if (!value) ctx_.Error(error.loc.known() ? error.loc : expr.loc, error.message);
  return value;
}

void ConstantFolder::FoldGlobalLets(Program& program, ConstantScope& globals) {
  for (const Statement& statement : program.statements)
    if (const LetDef* let = std::get_if<LetDef>(&statement)) globals.DeclareLater(let->name, let->loc);
  for (Statement& statement : program.statements) {
    LetDef* let = std::get_if<LetDef>(&statement);
    if (!let) continue;
    if (globals.DefinedHere(let->name)) {
      ctx_.Error(let->loc, "'" + let->name + "' is already defined at line " +
                               std::to_string(globals.Find(let->name)->loc.line));
      continue;
    }
    std::optional<Value> value = Fold(let->value, globals);
    globals.Define(let->name, let->loc, std::move(value));
  }
}

void ConstantFolder::WarnUnreadParams() {
  for (const auto& [name, value] : ctx_.options().params)
    if (!ctx_.ParamWasRead(name))
      ctx_.Warning(SourceLoc{}, "-p " + name + "=" + value + " is never read: the program has no arg(\"" + name +
                                    "\")");
}

}  // namespace flow
