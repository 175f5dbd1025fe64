// Code for function calls (docs/language.md "Functions"). Arguments are
// evaluated left to right, the first error wins, as in the interpreter's
// EvalCall; the text functions call the interpreter's own code through
// jit_runtime.cc.
#include <llvm/IR/Intrinsics.h>

#include <optional>

#include "compiler/block_codegen.h"
#include "compiler/regex.h"
#include "compiler/text_functions.h"

namespace flow {
namespace {

// One piece of a fmt template: literal text or a `{}`.
struct TemplatePiece {
  bool placeholder = false;
  std::string text;
};

// The pieces of a template holding exactly `arguments` placeholders, with
// `{{` and `}}` made single braces; nullopt for a template FormatTemplate
// would refuse (which a checked block never has).
std::optional<std::vector<TemplatePiece>> SplitTemplate(const std::string& tmpl, size_t arguments) {
  std::optional<size_t> count = CountPlaceholders(tmpl, nullptr);
  if (!count || *count != arguments) return std::nullopt;
  std::vector<TemplatePiece> pieces;
  std::string literal;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char next = i + 1 < tmpl.size() ? tmpl[i + 1] : '\0';
    if (tmpl[i] == '{' && next == '}') {
      if (!literal.empty()) pieces.push_back({false, std::move(literal)});
      literal.clear();
      pieces.push_back({true, ""});
      ++i;
    } else {
      literal += tmpl[i];
      if ((tmpl[i] == '{' || tmpl[i] == '}') && next == tmpl[i]) ++i;
    }
  }
  if (!literal.empty()) pieces.push_back({false, std::move(literal)});
  return pieces;
}

}  // namespace

IrValue BlockCodegen::EmitCall(const Expr& e) {
  switch (e.function) {
    case BuiltinFunction::kInt: return EmitToInt(e);
    case BuiltinFunction::kFloat: return EmitToFloat(e);
    case BuiltinFunction::kFmt: return EmitFmt(e);
    case BuiltinFunction::kMin: return EmitMinMax(e, /*max=*/false);
    case BuiltinFunction::kMax: return EmitMinMax(e, /*max=*/true);
    case BuiltinFunction::kMatches:
    case BuiltinFunction::kCapture: return EmitRegex(e);
    default: break;
  }
  const size_t n = e.children.size();
  if (n == 0 || n > 3) return Unsupported(e, "a call with " + std::to_string(n) + " arguments");
  if (IsStrPieces(e)) return EmitStrJoined(e);
  if (e.function == BuiltinFunction::kLen && n == 1 && IsStrPieces(*e.children[0]))
    return IrValue{EmitStrLength(*e.children[0]), nullptr};
  std::vector<IrValue> args;
  for (const ExprPtr& child : e.children) args.push_back(EmitExpr(*child));
  const IrValue& s = args[0];
  auto truth = [&](llvm::Value* i32) { return IrValue{builder_.CreateICmpNE(i32, I32(0)), nullptr}; };
  switch (e.function) {
    case BuiltinFunction::kLen: return IrValue{s.len, nullptr};
    case BuiltinFunction::kUpper: return CallForStr(rt_.upper, {state_, s.v, s.len});
    case BuiltinFunction::kLower: return CallForStr(rt_.lower, {state_, s.v, s.len});
    case BuiltinFunction::kTrim: return CallForStr(rt_.trim, {s.v, s.len});
    case BuiltinFunction::kContains:
      if (n != 2) break;
      return truth(builder_.CreateCall(rt_.contains, {s.v, s.len, args[1].v, args[1].len}));
    case BuiltinFunction::kStartsWith:
      if (n != 2) break;
      return truth(builder_.CreateCall(rt_.starts_with, {s.v, s.len, args[1].v, args[1].len}));
    case BuiltinFunction::kEndsWith:
      if (n != 2) break;
      return truth(builder_.CreateCall(rt_.ends_with, {s.v, s.len, args[1].v, args[1].len}));
    case BuiltinFunction::kFind:
      if (n != 2) break;
      return IrValue{builder_.CreateCall(rt_.find, {s.v, s.len, args[1].v, args[1].len}), nullptr};
    case BuiltinFunction::kReplace:
      if (n != 3) break;
      return CallForStr(rt_.replace, {state_, s.v, s.len, args[1].v, args[1].len, args[2].v, args[2].len});
    case BuiltinFunction::kField:
      if (n < 2) break;
      return EmitFieldCall(e, args);
    case BuiltinFunction::kStr: return ToText(s, e.children[0]->type);
    case BuiltinFunction::kAbs:
      if (e.children[0]->type == Type::kInt) {
        // Wrapping: abs of the smallest int is itself.
        llvm::Value* negative = builder_.CreateICmpSLT(s.v, I64(0));
        return IrValue{builder_.CreateSelect(negative, builder_.CreateSub(I64(0), s.v), s.v), nullptr};
      }
      return IrValue{builder_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, s.v), nullptr};
    case BuiltinFunction::kHash: return IrValue{builder_.CreateCall(rt_.hash, {s.v, s.len}), nullptr};
    default: break;
  }
  return Unsupported(e, std::string("function '") + BuiltinFunctionName(e.function) + "' with " +
                            std::to_string(n) + " arguments");
}

// field(s, i[, sep]): the runtime checks the index, then the separator.
IrValue BlockCodegen::EmitFieldCall(const Expr& e, const std::vector<IrValue>& args) {
  const bool has_sep = args.size() == 3;
  llvm::Value* sep = has_sep ? args[2].v : llvm::ConstantPointerNull::get(builder_.getPtrTy());
  llvm::Value* sep_len = has_sep ? args[2].len : I64(0);
  llvm::AllocaInst* slot = EntryAlloca(rt_.str_type, "field");
  ContinueIf(builder_.CreateCall(rt_.nth_field, {state_, Line(e), Column(e), args[0].v, args[0].len, args[1].v, sep,
                                                 sep_len, I32(has_sep), slot}));
  return LoadStr(slot);
}

// fmt("...", a, ...): the template is split now; each argument's text (as
// str() writes it; a join or substr as its pieces) is joined with the
// literal pieces in the arena, in one allocation.
IrValue BlockCodegen::EmitFmt(const Expr& e) {
  if (e.children.empty() || e.children[0]->kind != ExprKind::kStrLit)
    return Unsupported(e, "'fmt' without a constant template");
  std::vector<StrPieces> texts(e.children.size() - 1);
  for (size_t i = 1; i < e.children.size(); ++i) {
    const Expr& child = *e.children[i];
    if (IsStrPieces(child))
      EmitStrPieces(child, &texts[i - 1]);
    else
      texts[i - 1].push_back(ToText(EmitExpr(child), child.type));
  }
  std::optional<std::vector<TemplatePiece>> pieces = SplitTemplate(e.children[0]->text, texts.size());
  if (!pieces) {
    RaiseError(e, "internal error: the format string does not fit the arguments");
    return Undefined(Type::kStr);
  }
  StrPieces parts;
  size_t next = 0;
  for (const TemplatePiece& piece : *pieces) {
    if (!piece.placeholder) {
      parts.push_back(StrLiteral(piece.text));
      continue;
    }
    const StrPieces& text = texts[next++];
    parts.insert(parts.end(), text.begin(), text.end());
  }
  return Join(parts);
}

// min/max: every argument is evaluated first; a later one replaces the best
// so far only when it compares strictly lower (min) or higher (max), so a
// NaN never replaces it and the first of equal arguments wins.
IrValue BlockCodegen::EmitMinMax(const Expr& e, bool max) {
  if (e.children.empty()) return Unsupported(e, "min/max of nothing");
  const bool is_float = e.type == Type::kFloat;
  std::vector<IrValue> values;
  for (const ExprPtr& child : e.children) {
    IrValue v = EmitExpr(*child);
    if (is_float) v = IrValue{ToDouble(v, child->type), nullptr};
    values.push_back(v);
  }
  IrValue best = values[0];
  for (size_t i = 1; i < values.size(); ++i) {
    const IrValue& a = max ? best : values[i];
    const IrValue& b = max ? values[i] : best;
    llvm::Value* less;
    if (is_float)
      less = builder_.CreateFCmpOLT(a.v, b.v);
    else if (e.type == Type::kInt)
      less = builder_.CreateICmpSLT(a.v, b.v);
    else
      less = builder_.CreateICmpSLT(EmitStrCompare(a, b), I32(0));
    IrValue next{builder_.CreateSelect(less, values[i].v, best.v), nullptr};
    if (e.type == Type::kStr) next.len = builder_.CreateSelect(less, values[i].len, best.len);
    best = next;
  }
  return best;
}

// matches(s, re), capture(s, re, g): the pattern is compiled once per block
// state (JitBlockState::regexes); a pattern that does not compile (which
// the checker refuses) fails every record as the interpreter fails it.
IrValue BlockCodegen::EmitRegex(const Expr& e) {
  const bool capture = e.function == BuiltinFunction::kCapture;
  if (e.children.size() != (capture ? 3u : 2u) || e.children[1]->kind != ExprKind::kStrLit)
    return Unsupported(e, "a regex call without a constant pattern");
  IrValue subject = EmitExpr(*e.children[0]);
  const std::string& pattern = e.children[1]->text;
  std::string error;
  size_t offset = 0;
  if (!Regex::Compile(pattern, &error, &offset)) {
    RaiseError(e, "invalid regex " + QuoteValue(pattern) + ": " + error);
    return Undefined(e.type);
  }
  llvm::Value* index = I32(static_cast<int64_t>(code_->regexes.size()));
  code_->regexes.push_back(pattern);
  if (!capture) {
    llvm::AllocaInst* slot = EntryAlloca(builder_.getInt32Ty(), "matched");
    ContinueIf(builder_.CreateCall(rt_.matches, {state_, Line(e), Column(e), index, subject.v, subject.len, slot}));
    return IrValue{builder_.CreateICmpNE(builder_.CreateLoad(builder_.getInt32Ty(), slot), I32(0)), nullptr};
  }
  llvm::Value* group = EmitExpr(*e.children[2]).v;
  llvm::AllocaInst* slot = EntryAlloca(rt_.str_type, "captured");
  ContinueIf(
      builder_.CreateCall(rt_.capture, {state_, Line(e), Column(e), index, subject.v, subject.len, group, slot}));
  return LoadStr(slot);
}

}  // namespace flow
