#include "compiler/interpreter.h"

#include <cmath>
#include <limits>
#include <unordered_map>

#include "compiler/fields.h"
#include "compiler/regex.h"
#include "compiler/text_functions.h"

namespace flow {
namespace {

// The compiled regex of each `matches` and `capture` call of a block.
using RegexTable = std::unordered_map<const Expr*, std::unique_ptr<Regex>>;

// What an expression reads besides its own nodes. `fields` is null when a
// constant is folded: there is no record then, and no block-local name.
struct Frame {
  FieldSplitter* fields = nullptr;
  int64_t nr = 0;
  const std::vector<Value>* lets = nullptr;  // the block's lets evaluated so far
  const RegexTable* regexes = nullptr;       // null: compile on use
};

// Integer arithmetic wraps (two's complement): done in uint64_t, where
// overflow is defined, and converted back, which C++20 defines as modular.
int64_t WrappingAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t WrappingSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t WrappingMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

// The number a value stands for where an int meets a float.
double AsDouble(const Value& v) { return v.type() == Type::kInt ? static_cast<double>(v.as_int()) : v.as_float(); }

// An int where the expression's type is float (a `?:` branch, `float`'s
// default) becomes a float; anything else is already of the right type.
Value Widen(Value v, Type type) {
  if (type == Type::kFloat && v.type() == Type::kInt) return Value::Float(static_cast<double>(v.as_int()));
  return v;
}

template <class T>
bool Compare(Op op, const T& a, const T& b) {
  switch (op) {
    case Op::kLess: return a < b;
    case Op::kLessEq: return a <= b;
    case Op::kGreater: return a > b;
    case Op::kGreaterEq: return a >= b;
    case Op::kEq: return a == b;
    default: return a != b;  // Op::kNotEq
  }
}

bool IsComparison(Op op) { return op >= Op::kLess && op <= Op::kNotEq; }

// Evaluates the nodes of one expression tree. Arguments are evaluated left
// to right and the first error wins; `&&`, `||`, `?:` and the default of
// `int`/`float` evaluate only what they need.
class Evaluator {
 public:
  Evaluator(const Frame& frame, RecordError* error) : frame_(frame), error_(error) {}

  std::optional<Value> Eval(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kIntLit: return Value::Int(e.int_value);
      case ExprKind::kFloatLit: return Value::Float(e.float_value);
      case ExprKind::kStrLit: return Value::Str(e.text);
      case ExprKind::kBoolLit: return Value::Bool(e.bool_value);
      case ExprKind::kDurationLit: return Value::Dur(Duration{e.int_value});
      case ExprKind::kSizeLit: return Value::Bytes(Size{e.int_value});
      case ExprKind::kField:
        if (!frame_.fields) return NeedsRecord(e);
        return Value::Str(std::string(frame_.fields->Field(e.int_value)));
      case ExprKind::kFieldExpr: return EvalFieldExpr(e);
      case ExprKind::kNF:
        if (!frame_.fields) return NeedsRecord(e);
        return Value::Int(frame_.fields->Count());
      case ExprKind::kNR:
        if (!frame_.fields) return NeedsRecord(e);
        return Value::Int(frame_.nr);
      case ExprKind::kName:
        if (!frame_.lets || e.local_slot < 0 || static_cast<size_t>(e.local_slot) >= frame_.lets->size())
          return Fail(e, "internal error: name '" + e.text + "' was not resolved to an evaluated block 'let'");
        return (*frame_.lets)[static_cast<size_t>(e.local_slot)];
      case ExprKind::kUnary: return EvalUnary(e);
      case ExprKind::kBinary: return EvalBinary(e);
      case ExprKind::kConditional: return EvalConditional(e);
      case ExprKind::kCall: return EvalCall(e);
    }
    return Fail(e, "internal error: unknown expression kind");
  }

 private:
  std::optional<Value> Fail(const Expr& e, std::string message) {
    if (error_) *error_ = RecordError{e.loc, std::move(message)};
    return std::nullopt;
  }

  std::optional<Value> NeedsRecord(const Expr& e) {
    return Fail(e, "internal error: a constant expression cannot read the record");
  }

  std::optional<Value> EvalFieldExpr(const Expr& e) {
    if (!frame_.fields) return NeedsRecord(e);
    std::optional<Value> index = Eval(*e.children[0]);
    if (!index) return std::nullopt;
    if (index->as_int() < 0) return Fail(e, NegativeFieldMessage(index->as_int()));
    return Value::Str(std::string(frame_.fields->Field(index->as_int())));
  }

  std::optional<Value> EvalUnary(const Expr& e) {
    std::optional<Value> v = Eval(*e.children[0]);
    if (!v) return std::nullopt;
    if (e.op == Op::kNot) return Value::Bool(!v->as_bool());
    if (v->type() == Type::kInt) return Value::Int(WrappingSub(0, v->as_int()));
    return Value::Float(-v->as_float());
  }

  std::optional<Value> EvalBinary(const Expr& e) {
    std::optional<Value> left = Eval(*e.children[0]);
    if (!left) return std::nullopt;
    if (e.op == Op::kAnd || e.op == Op::kOr) {
      // Short circuit: the right side is not evaluated (nor can it fail)
      // when the left side decides.
      if (left->as_bool() == (e.op == Op::kOr)) return left;
      return Eval(*e.children[1]);
    }
    std::optional<Value> right = Eval(*e.children[1]);
    if (!right) return std::nullopt;
    const Type lt = left->type(), rt = right->type();
    const bool any_float = lt == Type::kFloat || rt == Type::kFloat;
    if (IsComparison(e.op)) {
      if (any_float) return Value::Bool(Compare(e.op, AsDouble(*left), AsDouble(*right)));
      switch (lt) {
        case Type::kInt: return Value::Bool(Compare(e.op, left->as_int(), right->as_int()));
        // std::string compares through char_traits<char>, which compares
        // bytes as unsigned char.
        case Type::kStr: return Value::Bool(Compare(e.op, left->as_str(), right->as_str()));
        case Type::kBool: return Value::Bool(Compare(e.op, left->as_bool(), right->as_bool()));
        default: return Fail(e, std::string("internal error: cannot compare values of type ") + TypeName(lt));
      }
    }
    if (lt == Type::kStr && e.op == Op::kAdd) return Value::Str(left->as_str() + right->as_str());
    // An int meeting a float is widened: the checker inserts no conversion.
    if (any_float) return FloatArithmetic(e, AsDouble(*left), AsDouble(*right));
    if (lt == Type::kInt) return IntArithmetic(e, left->as_int(), right->as_int());
    return Fail(e, std::string("internal error: operator '") + OpSpelling(e.op) + "' on " + TypeName(lt));
  }

  std::optional<Value> IntArithmetic(const Expr& e, int64_t a, int64_t b) {
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    switch (e.op) {
      case Op::kAdd: return Value::Int(WrappingAdd(a, b));
      case Op::kSub: return Value::Int(WrappingSub(a, b));
      case Op::kMul: return Value::Int(WrappingMul(a, b));
      case Op::kDiv:
        if (b == 0) return Fail(e, kDivisionByZeroMessage);
        // The one quotient that overflows wraps to itself.
        return Value::Int(a == kMin && b == -1 ? kMin : a / b);
      case Op::kMod:
        if (b == 0) return Fail(e, kDivisionByZeroMessage);
        // kMin % -1 is undefined in C++ although its value is 0.
        return Value::Int(b == -1 ? 0 : a % b);
      default: break;
    }
    return Fail(e, std::string("internal error: operator '") + OpSpelling(e.op) + "' on int");
  }

  std::optional<Value> FloatArithmetic(const Expr& e, double a, double b) {
    switch (e.op) {
      case Op::kAdd: return Value::Float(a + b);
      case Op::kSub: return Value::Float(a - b);
      case Op::kMul: return Value::Float(a * b);
      case Op::kDiv: return Value::Float(a / b);  // IEEE 754: x / 0 is ±inf or NaN
      case Op::kMod: return Value::Float(std::fmod(a, b));
      default: break;
    }
    return Fail(e, std::string("internal error: operator '") + OpSpelling(e.op) + "' on float");
  }

  std::optional<Value> EvalConditional(const Expr& e) {
    std::optional<Value> condition = Eval(*e.children[0]);
    if (!condition) return std::nullopt;
    std::optional<Value> chosen = Eval(*e.children[condition->as_bool() ? 1 : 2]);
    if (!chosen) return std::nullopt;
    return Widen(std::move(*chosen), e.type);
  }

  std::optional<Value> EvalCall(const Expr& e) {
    switch (e.function) {
      case BuiltinFunction::kInt: return EvalToInt(e);
      case BuiltinFunction::kFloat: return EvalToFloat(e);
      case BuiltinFunction::kFmt: return EvalFmt(e);
      case BuiltinFunction::kMin: return EvalMinMax(e, /*max=*/false);
      case BuiltinFunction::kMax: return EvalMinMax(e, /*max=*/true);
      case BuiltinFunction::kMatches:
      case BuiltinFunction::kCapture: return EvalRegex(e);
      default: break;
    }
    // Every other function takes one to three arguments, all evaluated.
    Value args[3];
    const size_t n = e.children.size();
    if (n == 0 || n > 3) return Fail(e, "internal error: wrong argument count");
    for (size_t i = 0; i < n; ++i) {
      std::optional<Value> v = Eval(*e.children[i]);
      if (!v) return std::nullopt;
      args[i] = std::move(*v);
    }
    switch (e.function) {
      case BuiltinFunction::kLen: return Value::Int(static_cast<int64_t>(args[0].as_str().size()));
      case BuiltinFunction::kUpper: return Value::Str(Upper(args[0].as_str()));
      case BuiltinFunction::kLower: return Value::Str(Lower(args[0].as_str()));
      case BuiltinFunction::kTrim: return Value::Str(std::string(Trim(args[0].as_str())));
      case BuiltinFunction::kSubstr:
        if (n == 2) return Value::Str(std::string(Substr(args[0].as_str(), args[1].as_int())));
        return Value::Str(std::string(Substr(args[0].as_str(), args[1].as_int(), args[2].as_int())));
      case BuiltinFunction::kContains:
        return Value::Bool(args[0].as_str().find(args[1].as_str()) != std::string::npos);
      case BuiltinFunction::kStartsWith: return Value::Bool(args[0].as_str().starts_with(args[1].as_str()));
      case BuiltinFunction::kEndsWith: return Value::Bool(args[0].as_str().ends_with(args[1].as_str()));
      case BuiltinFunction::kFind: return Value::Int(Find(args[0].as_str(), args[1].as_str()));
      case BuiltinFunction::kReplace:
        return Value::Str(Replace(args[0].as_str(), args[1].as_str(), args[2].as_str()));
      case BuiltinFunction::kField: {
        if (args[1].as_int() < 0) return Fail(e, NegativeFieldMessage(args[1].as_int()));
        std::string_view sep = n == 3 ? std::string_view(args[2].as_str()) : std::string_view();
        if (n == 3 && sep.empty()) return Fail(e, kEmptySeparatorMessage);
        return Value::Str(std::string(NthField(args[0].as_str(), args[1].as_int(), sep)));
      }
      case BuiltinFunction::kStr: return Value::Str(args[0].ToText());
      case BuiltinFunction::kAbs:
        if (args[0].type() == Type::kInt) return Value::Int(WrappingAbs(args[0].as_int()));
        return Value::Float(std::fabs(args[0].as_float()));
      case BuiltinFunction::kHash: return Value::Int(Hash(args[0].as_str()));
      default: break;
    }
    return Fail(e, std::string("internal error: function '") + BuiltinFunctionName(e.function) +
                       "' cannot be evaluated here");
  }

  // int(x[, d]): the default is evaluated only when the conversion fails.
  std::optional<Value> EvalToInt(const Expr& e) {
    std::optional<Value> x = Eval(*e.children[0]);
    if (!x) return std::nullopt;
    std::optional<int64_t> result;
    switch (x->type()) {
      case Type::kInt: return x;
      case Type::kBool: return Value::Int(x->as_bool() ? 1 : 0);
      case Type::kFloat: result = FloatToInt(x->as_float()); break;
      case Type::kStr: result = ParseInt(x->as_str()); break;
      default: break;
    }
    if (result) return Value::Int(*result);
    if (e.children.size() > 1) return Eval(*e.children[1]);
    if (x->type() == Type::kFloat) return Fail(e, CannotConvertMessage(x->as_float(), "int"));
    if (x->type() == Type::kStr) return Fail(e, CannotConvertMessage(x->as_str(), "int"));
    return Fail(e, std::string("internal error: int() of ") + TypeName(x->type()));
  }

  // float(x[, d]): as int(), only a str can fail.
  std::optional<Value> EvalToFloat(const Expr& e) {
    std::optional<Value> x = Eval(*e.children[0]);
    if (!x) return std::nullopt;
    switch (x->type()) {
      case Type::kInt: return Value::Float(static_cast<double>(x->as_int()));
      case Type::kFloat: return x;
      case Type::kBool: return Value::Float(x->as_bool() ? 1.0 : 0.0);
      case Type::kStr: break;
      default: return Fail(e, std::string("internal error: float() of ") + TypeName(x->type()));
    }
    if (std::optional<double> parsed = ParseFloat(x->as_str())) return Value::Float(*parsed);
    if (e.children.size() > 1) {
      std::optional<Value> fallback = Eval(*e.children[1]);
      if (!fallback) return std::nullopt;
      return Widen(std::move(*fallback), Type::kFloat);
    }
    return Fail(e, CannotConvertMessage(x->as_str(), "float"));
  }

  std::optional<Value> EvalFmt(const Expr& e) {
    std::optional<Value> tmpl = Eval(*e.children[0]);
    if (!tmpl) return std::nullopt;
    std::vector<std::string> texts;
    texts.reserve(e.children.size() - 1);
    for (size_t i = 1; i < e.children.size(); ++i) {
      std::optional<Value> v = Eval(*e.children[i]);
      if (!v) return std::nullopt;
      texts.push_back(v->ToText());
    }
    std::vector<std::string_view> views(texts.begin(), texts.end());
    std::optional<std::string> out = FormatTemplate(tmpl->as_str(), views);
    if (!out) return Fail(e, "internal error: the format string does not fit the arguments");
    return Value::Str(std::move(*out));
  }

  // min/max of ints, of strings, or of numbers with a float among them
  // (then every int is widened). A later argument replaces the result only
  // when it compares strictly lower (min) or higher (max), so a comparison
  // with NaN, which is false, keeps the earlier argument.
  std::optional<Value> EvalMinMax(const Expr& e, bool max) {
    std::vector<Value> values;
    values.reserve(e.children.size());
    bool any_float = false;
    for (const ExprPtr& child : e.children) {
      std::optional<Value> v = Eval(*child);
      if (!v) return std::nullopt;
      any_float = any_float || v->type() == Type::kFloat;
      values.push_back(std::move(*v));
    }
    if (values.empty()) return Fail(e, "internal error: min/max of nothing");
    size_t best = 0;
    for (size_t i = 1; i < values.size(); ++i) {
      const Value& a = max ? values[best] : values[i];
      const Value& b = max ? values[i] : values[best];
      bool less;
      if (any_float)
        less = AsDouble(a) < AsDouble(b);
      else if (a.type() == Type::kInt)
        less = a.as_int() < b.as_int();
      else
        less = a.as_str() < b.as_str();
      if (less) best = i;
    }
    return any_float ? Value::Float(AsDouble(values[best])) : std::move(values[best]);
  }

  std::optional<Value> EvalRegex(const Expr& e) {
    std::optional<Value> subject = Eval(*e.children[0]);
    if (!subject) return std::nullopt;
    const Regex* regex = nullptr;
    std::unique_ptr<Regex> compiled_here;  // constant folding compiles on use
    if (frame_.regexes) {
      auto it = frame_.regexes->find(&e);
      if (it != frame_.regexes->end()) regex = it->second.get();
    }
    std::string error;
    if (!regex) {
      std::optional<Value> pattern = Eval(*e.children[1]);
      if (!pattern) return std::nullopt;
      size_t offset = 0;
      compiled_here = Regex::Compile(pattern->as_str(), &error, &offset);
      if (!compiled_here) return Fail(e, "invalid regex " + QuoteValue(pattern->as_str()) + ": " + error);
      regex = compiled_here.get();
    }
    if (e.function == BuiltinFunction::kMatches) {
      std::optional<bool> matched = regex->Matches(subject->as_str(), &error);
      if (!matched) return Fail(e, error);
      return Value::Bool(*matched);
    }
    std::optional<Value> group = Eval(*e.children[2]);
    if (!group) return std::nullopt;
    std::optional<std::string_view> captured = regex->Capture(subject->as_str(), group->as_int(), &error);
    if (!captured) return Fail(e, error);
    return Value::Str(std::string(*captured));
  }

  const Frame& frame_;
  RecordError* error_;
};

void CollectRegexes(const Expr& e, RegexTable* table) {
  const bool regex_call = e.kind == ExprKind::kCall &&
                          (e.function == BuiltinFunction::kMatches || e.function == BuiltinFunction::kCapture);
  if (regex_call && e.children.size() >= 2 && e.children[1]->kind == ExprKind::kStrLit) {
    std::string error;
    size_t offset = 0;
    // A pattern that does not compile stays out of the table; the checker
    // has reported it, and evaluating the call reports it again.
    if (auto regex = Regex::Compile(e.children[1]->text, &error, &offset)) (*table)[&e] = std::move(regex);
  }
  for (const ExprPtr& child : e.children) CollectRegexes(*child, table);
}

}  // namespace

// The interpreter keeps its own copy of the block, so the Expr addresses
// that key the regex table stay valid whatever happens to the caller's tree.
struct BlockInterpreter::Impl {
  std::unique_ptr<Block> block;
  FieldSplitter fields;
  std::vector<Value> lets;
  RegexTable regexes;

  Impl(const Block& b, const std::string& fs) : block(CloneBlock(b)), fields(fs) {}
};

BlockInterpreter::BlockInterpreter(const Block& block, std::string fs) : impl_(std::make_unique<Impl>(block, fs)) {
  for (const BlockLet& let : impl_->block->lets) CollectRegexes(*let.value, &impl_->regexes);
  CollectRegexes(*impl_->block->result, &impl_->regexes);
  impl_->lets.reserve(impl_->block->lets.size());
}

BlockInterpreter::~BlockInterpreter() = default;

std::optional<Value> BlockInterpreter::Evaluate(std::string_view record, int64_t nr, RecordError* error) {
  impl_->fields.Reset(record);
  impl_->lets.clear();
  Frame frame{&impl_->fields, nr, &impl_->lets, &impl_->regexes};
  Evaluator evaluator(frame, error);
  // Each let once per record, in order: a let sees only those before it.
  for (const BlockLet& let : impl_->block->lets) {
    std::optional<Value> v = evaluator.Eval(*let.value);
    if (!v) return std::nullopt;
    impl_->lets.push_back(std::move(*v));
  }
  return evaluator.Eval(*impl_->block->result);
}

std::optional<Value> EvaluateConstant(const Expr& expr, RecordError* error) {
  Frame frame;
  return Evaluator(frame, error).Eval(expr);
}

}  // namespace flow
