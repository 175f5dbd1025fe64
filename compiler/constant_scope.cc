#include "compiler/constant_scope.h"

namespace flow {

void ConstantScope::Define(const std::string& name, SourceLoc loc, std::optional<Value> value) {
  bindings_[name] = Binding{loc, std::move(value), false};
}

void ConstantScope::DeclareLater(const std::string& name, SourceLoc loc) {
  bindings_.emplace(name, Binding{loc, std::nullopt, true});
}

bool ConstantScope::DefinedHere(const std::string& name) const {
  auto it = bindings_.find(name);
  return it != bindings_.end() && !it->second.defined_later;
}

const ConstantScope::Binding* ConstantScope::Find(const std::string& name) const {
  auto it = bindings_.find(name);
  if (it != bindings_.end()) return &it->second;
  return parent_ ? parent_->Find(name) : nullptr;
}

void ConstantScope::CollectNames(std::vector<std::string>* names) const {
  for (const auto& [name, binding] : bindings_)
    if (!binding.defined_later) names->push_back(name);
  if (parent_) parent_->CollectNames(names);
}

ExprPtr LiteralOf(const Value& value, SourceLoc loc) {
  ExprPtr e;
  switch (value.type()) {
    case Type::kInt:
      e = std::make_unique<Expr>(ExprKind::kIntLit, loc);
      e->int_value = value.as_int();
      break;
    case Type::kFloat:
      e = std::make_unique<Expr>(ExprKind::kFloatLit, loc);
      e->float_value = value.as_float();
      break;
    case Type::kStr:
      e = std::make_unique<Expr>(ExprKind::kStrLit, loc);
      e->text = value.as_str();
      break;
    case Type::kBool:
      e = std::make_unique<Expr>(ExprKind::kBoolLit, loc);
      e->bool_value = value.as_bool();
      break;
    case Type::kDuration:
      e = std::make_unique<Expr>(ExprKind::kDurationLit, loc);
      e->int_value = value.as_duration().nanoseconds;
      break;
    case Type::kSize:
      e = std::make_unique<Expr>(ExprKind::kSizeLit, loc);
      e->int_value = value.as_size().bytes;
      break;
    case Type::kUnknown:
      return nullptr;
  }
  e->type = value.type();
  return e;
}

std::optional<Value> ValueOfLiteral(const Expr& expr) {
  switch (expr.kind) {
    case ExprKind::kIntLit: return Value::Int(expr.int_value);
    case ExprKind::kFloatLit: return Value::Float(expr.float_value);
    case ExprKind::kStrLit: return Value::Str(expr.text);
    case ExprKind::kBoolLit: return Value::Bool(expr.bool_value);
    case ExprKind::kDurationLit: return Value::Dur(Duration{expr.int_value});
    case ExprKind::kSizeLit: return Value::Bytes(Size{expr.int_value});
    case ExprKind::kUnary:
      if (expr.op != Op::kNeg) return std::nullopt;
      if (expr.children[0]->kind == ExprKind::kIntLit)
        // Two's complement wrap, as the language's `-` does.
        return Value::Int(static_cast<int64_t>(0ULL - static_cast<uint64_t>(expr.children[0]->int_value)));
      if (expr.children[0]->kind == ExprKind::kFloatLit) return Value::Float(-expr.children[0]->float_value);
      return std::nullopt;
    default: return std::nullopt;
  }
}

}  // namespace flow
