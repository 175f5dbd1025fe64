// The function rules of docs/language.md "Functions": TypeChecker::CheckCall.
#include <cstdint>

#include "compiler/regex.h"
#include "compiler/type_checker.h"

namespace flow {
namespace {

// The types a function argument accepts, as a bit set.
enum Accepts : unsigned {
  kS = 1u << static_cast<unsigned>(Type::kStr),
  kI = 1u << static_cast<unsigned>(Type::kInt),
  kF = 1u << static_cast<unsigned>(Type::kFloat),
  kB = 1u << static_cast<unsigned>(Type::kBool),
  kN = kI | kF,  // a number (an int widens where a float is wanted)
  kA = kS | kI | kF | kB,
};

struct FunctionRule {
  BuiltinFunction function;
  size_t min_args;
  std::vector<unsigned> params;  // max args = params.size()
  Type result;                   // kUnknown: the type of the first argument (abs)
};

const std::vector<FunctionRule>& FixedRules() {
  using F = BuiltinFunction;
  static const std::vector<FunctionRule> rules = {
      {F::kLen, 1, {kS}, Type::kInt},
      {F::kUpper, 1, {kS}, Type::kStr},
      {F::kLower, 1, {kS}, Type::kStr},
      {F::kTrim, 1, {kS}, Type::kStr},
      {F::kSubstr, 2, {kS, kI, kI}, Type::kStr},
      {F::kContains, 2, {kS, kS}, Type::kBool},
      {F::kStartsWith, 2, {kS, kS}, Type::kBool},
      {F::kEndsWith, 2, {kS, kS}, Type::kBool},
      {F::kFind, 2, {kS, kS}, Type::kInt},
      {F::kReplace, 3, {kS, kS, kS}, Type::kStr},
      {F::kField, 2, {kS, kI, kS}, Type::kStr},
      {F::kInt, 1, {kA, kI}, Type::kInt},
      {F::kFloat, 1, {kA, kN}, Type::kFloat},
      {F::kStr, 1, {kA}, Type::kStr},
      {F::kAbs, 1, {kN}, Type::kUnknown},
      {F::kHash, 1, {kS}, Type::kInt},
      {F::kMatches, 2, {kS, kS}, Type::kBool},
      {F::kCapture, 3, {kS, kS, kI}, Type::kStr},
      {F::kArg, 1, {kS, kS}, Type::kStr},
      {F::kEnv, 1, {kS, kS}, Type::kStr},
  };
  return rules;
}

std::string Describe(unsigned accepts) {
  switch (accepts) {
    case kS: return "a str";
    case kI: return "an int";
    case kF: return "a float";
    case kB: return "a bool";
    case kN: return "an int or a float";
    default: return "a str, int, float or bool";
  }
}

bool IsPlainValue(Type t) { return t == Type::kInt || t == Type::kFloat || t == Type::kStr || t == Type::kBool; }

bool Accepted(unsigned accepts, Type type) { return (accepts & (1u << static_cast<unsigned>(type))) != 0; }

std::string Plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// The number of `{}` in a format string, or -1 (with `error` set) for a
// brace that is neither `{}` nor the escapes `{{` and `}}`.
int CountPlaceholders(const std::string& format, std::string* error) {
  int count = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '{' && i + 1 < format.size() && format[i + 1] == '{') {
      ++i;
    } else if (format[i] == '}' && i + 1 < format.size() && format[i + 1] == '}') {
      ++i;
    } else if (format[i] == '{' && i + 1 < format.size() && format[i + 1] == '}') {
      ++i;
      ++count;
    } else if (format[i] == '{' || format[i] == '}') {
      *error = "'fmt' takes '{}' placeholders only; write '" + std::string(2, format[i]) +
               "' for a literal '" + std::string(1, format[i]) + "'";
      return -1;
    }
  }
  return count;
}

}  // namespace

bool TypeChecker::CheckArgCount(const Expr& call, size_t min, size_t max) {
  size_t given = call.children.size();
  if (given >= min && given <= max) return true;
  std::string takes;
  if (min == max) takes = Plural(min, "argument");
  else if (max == SIZE_MAX) takes = "at least " + Plural(min, "argument");
  else if (max == min + 1) takes = std::to_string(min) + " or " + Plural(max, "argument");
  else takes = std::to_string(min) + " to " + Plural(max, "argument");
  ctx_.Error(call.loc, "'" + call.text + "' takes " + takes + ", " + std::to_string(given) + " given");
  return false;
}

Type TypeChecker::CheckCall(ExprPtr& expr) {
  Expr& call = *expr;
  call.function = FindBuiltinFunction(call.text);
  std::vector<Type> args;
  for (ExprPtr& child : call.children) args.push_back(Check(child));
  if (call.function == BuiltinFunction::kNone) {
    ctx_.Error(call.loc, "unknown function '" + call.text + "'" + DidYouMean(call.text, BuiltinFunctionNames()));
    return Type::kUnknown;
  }
  switch (call.function) {
    case BuiltinFunction::kMin:
    case BuiltinFunction::kMax: return CheckMinMax(call, args);
    case BuiltinFunction::kFmt: return CheckFmt(call, args);
    case BuiltinFunction::kArg:
    case BuiltinFunction::kEnv: return FoldArgOrEnv(expr, args);
    default: return CheckFixedCall(call, args);
  }
}

Type TypeChecker::CheckFixedCall(Expr& call, const std::vector<Type>& args) {
  const FunctionRule* rule = nullptr;
  for (const FunctionRule& r : FixedRules())
    if (r.function == call.function) rule = &r;
  if (!CheckArgCount(call, rule->min_args, rule->params.size())) return rule->result;
  bool known = true;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == Type::kUnknown) {
      known = false;
    } else if (!Accepted(rule->params[i], args[i])) {
      ctx_.Error(call.children[i]->loc, "'" + call.text + "' expects " + Describe(rule->params[i]) +
                                            " for argument " + std::to_string(i + 1) + ", got " +
                                            TypeName(args[i]));
      known = false;
    }
  }
  if (call.function == BuiltinFunction::kMatches || call.function == BuiltinFunction::kCapture)
    CheckRegex(call, args);
  if (call.function == BuiltinFunction::kField && args.size() == 3 &&
      call.children[2]->kind == ExprKind::kStrLit && call.children[2]->text.empty())
    ctx_.Error(call.children[2]->loc, "the separator of 'field' must not be empty");
  if (rule->result != Type::kUnknown) return rule->result;
  return known ? args[0] : Type::kUnknown;  // abs
}

Type TypeChecker::CheckMinMax(Expr& call, const std::vector<Type>& args) {
  if (!CheckArgCount(call, 2, SIZE_MAX)) return Type::kUnknown;
  Type result = Type::kUnknown;
  for (size_t i = 0; i < args.size(); ++i) {
    Type t = args[i];
    if (t == Type::kUnknown) return Type::kUnknown;
    if (!IsPlainValue(t) || t == Type::kBool) {
      ctx_.Error(call.children[i]->loc, "'" + call.text + "' expects numbers or strings, got " + TypeName(t));
      return Type::kUnknown;
    }
    if (result == Type::kUnknown) {
      result = t;
    } else if (result == Type::kStr || t == Type::kStr) {
      if (result != t) {
        ctx_.Error(call.children[i]->loc, "'" + call.text + "' needs all numbers or all strings, got " +
                                              TypeName(result) + " and " + TypeName(t));
        return Type::kUnknown;
      }
    } else if (t == Type::kFloat) {
      result = Type::kFloat;
    }
  }
  return result;
}

Type TypeChecker::CheckFmt(Expr& call, const std::vector<Type>& args) {
  if (!CheckArgCount(call, 1, SIZE_MAX)) return Type::kStr;
  for (size_t i = 1; i < args.size(); ++i)
    if (args[i] != Type::kUnknown && !IsPlainValue(args[i]))
      ctx_.Error(call.children[i]->loc, "'fmt' expects a str, int, float or bool for argument " +
                                            std::to_string(i + 1) + ", got " + TypeName(args[i]));
  const Expr& format = *call.children[0];
  if (args[0] == Type::kUnknown) return Type::kStr;
  if (format.kind != ExprKind::kStrLit) {
    ctx_.Error(format.loc, "the format of 'fmt' must be a constant string");
    return Type::kStr;
  }
  std::string error;
  int placeholders = CountPlaceholders(format.text, &error);
  if (placeholders < 0) {
    ctx_.Error(format.loc, error);
  } else if (static_cast<size_t>(placeholders) != args.size() - 1) {
    ctx_.Error(call.loc, "'fmt' has " + Plural(static_cast<size_t>(placeholders), "'{}' placeholder") + " but " +
                             Plural(args.size() - 1, "argument"));
  }
  return Type::kStr;
}

// The regex of matches/capture is compiled now, so a bad pattern is a
// compile error and not a failure on every record.
void TypeChecker::CheckRegex(Expr& call, const std::vector<Type>& args) {
  if (args[1] != Type::kStr) return;
  const Expr& pattern = *call.children[1];
  if (pattern.kind != ExprKind::kStrLit) {
    ctx_.Error(pattern.loc, "the regex of '" + call.text + "' must be a constant string");
    return;
  }
  std::string error;
  size_t offset = 0;
  std::unique_ptr<Regex> regex = Regex::Compile(pattern.text, &error, &offset);
  if (!regex) {
    ctx_.Error(pattern.loc, "invalid regex: " + error);
    return;
  }
  if (call.function != BuiltinFunction::kCapture || args[2] != Type::kInt) return;
  std::optional<Value> group = ValueOfLiteral(*call.children[2]);
  if (!group) return;
  int64_t g = group->as_int();
  if (g < 0 || g > regex->capture_count())
    ctx_.Error(call.children[2]->loc, "capture group " + std::to_string(g) + " does not exist: the regex has " +
                                          Plural(static_cast<size_t>(regex->capture_count()), "group"));
}

// `arg` and `env` are read at compile time: the call becomes the literal of
// its value (or its default expression).
Type TypeChecker::FoldArgOrEnv(ExprPtr& expr, const std::vector<Type>& args) {
  Expr& call = *expr;
  if (!CheckArgCount(call, 1, 2)) return Type::kStr;
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i] != Type::kUnknown && args[i] != Type::kStr) {
      ctx_.Error(call.children[i]->loc, "'" + call.text + "' expects a str for argument " + std::to_string(i + 1) +
                                            ", got " + TypeName(args[i]));
      return Type::kStr;
    }
  if (args[0] == Type::kUnknown) return Type::kStr;
  if (call.children[0]->kind != ExprKind::kStrLit) {
    ctx_.Error(call.children[0]->loc, "the name given to '" + call.text + "' must be a constant string");
    return Type::kStr;
  }
  const std::string name = call.children[0]->text;
  std::optional<std::string> value;
  if (call.function == BuiltinFunction::kArg) {
    ctx_.NoteParamRead(name);
    auto it = ctx_.options().params.find(name);
    if (it != ctx_.options().params.end()) value = it->second;
  } else if (ctx_.options().getenv) {
    value = ctx_.options().getenv(name);
  }
  if (value) {
    expr = LiteralOf(Value::Str(*value), call.loc);
    return Type::kStr;
  }
  if (call.children.size() == 2) {
    if (args[1] == Type::kUnknown) return Type::kUnknown;
    ExprPtr fallback = std::move(call.children[1]);
    expr = std::move(fallback);
    return Type::kStr;
  }
  if (call.function == BuiltinFunction::kArg)
    ctx_.Error(call.loc, "no value for '" + name + "': pass -p " + name + "=VALUE");
  else
    ctx_.Error(call.loc, "environment variable '" + name + "' is not set and 'env' has no default");
  return Type::kStr;
}

}  // namespace flow
