#include "compiler/type_checker.h"

namespace flow {
namespace {

bool IsNumber(Type t) { return t == Type::kInt || t == Type::kFloat; }

// `int op float` widens to float.
Type Widen(Type a, Type b) { return a == Type::kFloat || b == Type::kFloat ? Type::kFloat : Type::kInt; }

bool IsPlainValue(Type t) { return t == Type::kInt || t == Type::kFloat || t == Type::kStr || t == Type::kBool; }

std::string Pair(Type a, Type b) { return std::string(TypeName(a)) + " and " + TypeName(b); }

std::string FieldSpelling(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kField: return "$" + std::to_string(e.int_value);
    case ExprKind::kFieldExpr: return "$(...)";
    case ExprKind::kNF: return "NF";
    default: return "NR";
  }
}

}  // namespace

std::string WithArticle(Type type) {
  return std::string(type == Type::kInt ? "an " : "a ") + TypeName(type);
}

Type TypeChecker::Check(ExprPtr& expr) {
  Type type = CheckKind(expr);
  expr->type = type;
  return type;
}

Type TypeChecker::CheckBlock(Block& block) {
  block_ = &block;
  locals_.clear();
  for (size_t i = 0; i < block.lets.size(); ++i) {
    Check(block.lets[i].value);
    // Pushed after its value is checked: a `let` cannot use itself.
    locals_.emplace_back(block.lets[i].name, static_cast<int>(i));
  }
  return Check(block.result);
}

Type TypeChecker::CheckKind(ExprPtr& expr) {
  Expr& e = *expr;
  switch (e.kind) {
    case ExprKind::kIntLit: return Type::kInt;
    case ExprKind::kFloatLit: return Type::kFloat;
    case ExprKind::kStrLit: return Type::kStr;
    case ExprKind::kBoolLit: return Type::kBool;
    case ExprKind::kDurationLit:
    case ExprKind::kSizeLit: {
      Type type = e.kind == ExprKind::kDurationLit ? Type::kDuration : Type::kSize;
      if (place_ == ExprPlace::kConstant) return type;
      ctx_.Error(e.loc, WithArticle(type) + " cannot be used inside a block");
      return Type::kUnknown;
    }
    case ExprKind::kField: return CheckRecordRead(e, Type::kStr);
    case ExprKind::kFieldExpr: {
      Type index = Check(e.children[0]);
      if (index != Type::kUnknown && index != Type::kInt)
        ctx_.Error(e.children[0]->loc, "a field index '$(...)' must be an int, got " + std::string(TypeName(index)));
      return CheckRecordRead(e, Type::kStr);
    }
    case ExprKind::kNF:
    case ExprKind::kNR: return CheckRecordRead(e, Type::kInt);
    case ExprKind::kName: return CheckName(expr);
    case ExprKind::kUnary: return CheckUnary(e);
    case ExprKind::kBinary: return CheckBinary(e);
    case ExprKind::kConditional: return CheckConditional(e);
    case ExprKind::kCall: return CheckCall(expr);
  }
  return Type::kUnknown;
}

Type TypeChecker::CheckRecordRead(const Expr& e, Type type) {
  if (place_ == ExprPlace::kBlock) return type;
  ctx_.Error(e.loc, "'" + FieldSpelling(e) + "' reads a record; it can only be used inside a block");
  return Type::kUnknown;
}

Type TypeChecker::CheckName(ExprPtr& expr) {
  Expr& e = *expr;
  for (auto it = locals_.rbegin(); it != locals_.rend(); ++it) {
    if (it->first != e.text) continue;
    e.local_slot = it->second;
    return block_->lets[static_cast<size_t>(it->second)].value->type;
  }
  const ConstantScope::Binding* binding = scope_.Find(e.text);
  if (!binding) {
    std::vector<std::string> names;
    for (const auto& local : locals_) names.push_back(local.first);
    scope_.CollectNames(&names);
    ctx_.Error(e.loc, "unknown name '" + e.text + "'" + DidYouMean(e.text, names));
    return Type::kUnknown;
  }
  if (binding->defined_later) {
    ctx_.Error(e.loc, "'" + e.text + "' is defined later, at line " + std::to_string(binding->loc.line) +
                          "; a let can only use the lets above it");
    return Type::kUnknown;
  }
  if (!binding->value) return Type::kUnknown;
  expr = LiteralOf(*binding->value, e.loc);
  // The literal is checked again: a duration constant is an error in a block.
  return CheckKind(expr);
}

Type TypeChecker::CheckUnary(Expr& e) {
  Type operand = Check(e.children[0]);
  if (e.op == Op::kNot) {
    if (operand == Type::kUnknown || operand == Type::kBool) return Type::kBool;
    ctx_.Error(e.loc, "operator '!' needs a bool, got " + std::string(TypeName(operand)));
    return Type::kUnknown;
  }
  if (operand == Type::kUnknown) return Type::kUnknown;
  if (!IsNumber(operand)) {
    ctx_.Error(e.loc, "operator '-' needs an int or a float, got " + std::string(TypeName(operand)));
    return Type::kUnknown;
  }
  return operand;
}

Type TypeChecker::CheckBinary(Expr& e) {
  Type left = Check(e.children[0]);
  Type right = Check(e.children[1]);
  std::string op = std::string("operator '") + OpSpelling(e.op) + "'";
  bool known = left != Type::kUnknown && right != Type::kUnknown;
  switch (e.op) {
    case Op::kAnd:
    case Op::kOr:
      if (known && (left != Type::kBool || right != Type::kBool)) {
        ctx_.Error(e.loc, op + " needs bools, got " + Pair(left, right));
        return Type::kUnknown;
      }
      return Type::kBool;
    case Op::kEq:
    case Op::kNotEq: {
      bool same = left == right && IsPlainValue(left);
      if (known && !same && !(IsNumber(left) && IsNumber(right))) {
        ctx_.Error(e.loc, op + " cannot compare " + Pair(left, right));
        return Type::kUnknown;
      }
      return Type::kBool;
    }
    case Op::kLess:
    case Op::kLessEq:
    case Op::kGreater:
    case Op::kGreaterEq:
      if (known && !(IsNumber(left) && IsNumber(right)) && !(left == Type::kStr && right == Type::kStr)) {
        ctx_.Error(e.loc, op + " needs two numbers or two strings, got " + Pair(left, right));
        return Type::kUnknown;
      }
      return Type::kBool;
    case Op::kAdd:
      if (!known) return Type::kUnknown;
      if (left == Type::kStr && right == Type::kStr) return Type::kStr;
      if (IsNumber(left) && IsNumber(right)) return Widen(left, right);
      if ((left == Type::kStr && IsPlainValue(right)) || (right == Type::kStr && IsPlainValue(left))) {
        ctx_.Error(e.loc, op + " needs two numbers or two strings, got " + Pair(left, right) +
                              "; convert with str()");
      } else {
        ctx_.Error(e.loc, op + " needs two numbers or two strings, got " + Pair(left, right));
      }
      return Type::kUnknown;
    default:  // - * / %
      if (!known) return Type::kUnknown;
      if (IsNumber(left) && IsNumber(right)) return Widen(left, right);
      ctx_.Error(e.loc, op + " needs numbers, got " + Pair(left, right));
      return Type::kUnknown;
  }
}

Type TypeChecker::CheckConditional(Expr& e) {
  Type condition = Check(e.children[0]);
  Type a = Check(e.children[1]);
  Type b = Check(e.children[2]);
  if (condition != Type::kUnknown && condition != Type::kBool)
    ctx_.Error(e.children[0]->loc, "the condition of '?:' must be a bool, got " + std::string(TypeName(condition)));
  if (a == Type::kUnknown || b == Type::kUnknown) return Type::kUnknown;
  if (a == b) return a;
  if (IsNumber(a) && IsNumber(b)) return Type::kFloat;
  ctx_.Error(e.loc, "the branches of '?:' have different types: " + Pair(a, b));
  return Type::kUnknown;
}

}  // namespace flow
