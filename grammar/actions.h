// What each rule of grammar/rules.h adds to the syntax tree: PEGTL actions,
// one per rule, each a call into the AstBuilder. Only grammar/parser.cc
// includes this.
// Where each node's source location points is listed in compiler/ast_dump.h.
#pragma once

#include <string_view>
#include <variant>

#include "grammar/ast_builder.h"
#include "grammar/literals.h"
#include "grammar/rules.h"

namespace flow::grammar {

// The identifier that starts at `p` (rules such as arg_name match more).
inline std::string_view IdentifierAt(const char* p, const char* end) {
  const char* q = p;
  while (q < end && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_')) ++q;
  return {p, static_cast<size_t>(q - p)};
}

// The value of a number token, or a SyntaxError at `offset`.
inline NumberLiteral NumberAt(std::string_view token, size_t offset) {
  auto decoded = DecodeNumber(token);
  if (auto* error = std::get_if<LiteralError>(&decoded)) throw SyntaxError{offset + error->offset, error->message};
  return std::get<NumberLiteral>(decoded);
}

// A number token where only a whole number makes sense ($N, * N): `what`
// when it is anything else, the literal's own error when it does not fit.
inline int64_t WholeNumberAt(std::string_view token, size_t offset, size_t error_offset, const std::string& what) {
  bool digits_only = true;
  for (char c : token) digits_only = digits_only && ((c >= '0' && c <= '9') || c == '_');
  if (!digits_only) throw SyntaxError{error_offset, what};
  return NumberAt(token, offset).int_value;
}

template <typename Rule>
struct Action : nothing<Rule> {};

// An action whose body sees the builder `b`, the offset `at` where the match
// began and the matched `text`.
#define FLOW_ACTION(rule, ...)                                                   \
  template <>                                                                    \
  struct Action<rule> {                                                          \
    template <typename In>                                                       \
    static void apply(const In& in, AstBuilder& b) {                             \
      [[maybe_unused]] const size_t at = b.OffsetOf(in.begin());                 \
      [[maybe_unused]] const std::string_view text = in.string_view();           \
      __VA_ARGS__;                                                               \
    }                                                                            \
  }

// ---- Literals and leaves
FLOW_ACTION(number, {
  NumberLiteral n = NumberAt(text, at);
  static constexpr ExprKind kKinds[] = {ExprKind::kIntLit, ExprKind::kFloatLit, ExprKind::kDurationLit,
                                        ExprKind::kSizeLit};
  auto e = b.NewExpr(kKinds[static_cast<int>(n.kind)], at);
  e->int_value = n.int_value;
  e->float_value = n.float_value;
  b.PushLeaf(std::move(e));
});
FLOW_ACTION(string_lit, {
  auto decoded = DecodeString(text.substr(1, text.size() - 2));
  if (auto* error = std::get_if<LiteralError>(&decoded)) throw SyntaxError{at + 1 + error->offset, error->message};
  auto e = b.NewExpr(ExprKind::kStrLit, at);
  e->text = std::move(std::get<std::string>(decoded));
  b.PushLeaf(std::move(e));
});
FLOW_ACTION(raw_string_lit, {
  auto e = b.NewExpr(ExprKind::kStrLit, at);
  e->text = std::string(text.substr(2, text.size() - 3));
  b.PushLeaf(std::move(e));
});
FLOW_ACTION(bool_lit, {
  auto e = b.NewExpr(ExprKind::kBoolLit, at);
  e->bool_value = text == "true";
  b.PushLeaf(std::move(e));
});
FLOW_ACTION(nf, b.PushLeaf(b.NewExpr(ExprKind::kNF, at)));
FLOW_ACTION(nr, b.PushLeaf(b.NewExpr(ExprKind::kNR, at)));
FLOW_ACTION(record, b.PushLeaf(b.NewExpr(ExprKind::kField, at)));
FLOW_ACTION(field_number, {
  auto e = b.NewExpr(ExprKind::kField, at - 1);
  e->int_value = WholeNumberAt(text, at, at - 1, "a field number must be a whole number, as in $1");
  b.PushLeaf(std::move(e));
});
FLOW_ACTION(field_index_expr, b.FieldIndex(at - 1));
FLOW_ACTION(name_ref, {
  auto e = b.NewExpr(ExprKind::kName, at);
  e->text = std::string(text);
  b.PushLeaf(std::move(e));
});
FLOW_ACTION(call_head, b.BeginCall(IdentifierAt(in.begin(), in.end()), at));
FLOW_ACTION(call, b.EndCall());

// ---- Operators
FLOW_ACTION(prefixed, b.Unary(text[0] == '-' ? Op::kNeg : Op::kNot, at));
FLOW_ACTION(chain_begin, b.BeginChain());
FLOW_ACTION(chain, b.EndChain());
FLOW_ACTION(binary_op, {
  static constexpr struct {
    std::string_view spelling;
    Op op;
  } kOps[] = {{"||", Op::kOr},   {"&&", Op::kAnd},      {"==", Op::kEq},   {"!=", Op::kNotEq}, {"<=", Op::kLessEq},
              {">=", Op::kGreaterEq}, {"<", Op::kLess}, {">", Op::kGreater}, {"+", Op::kAdd},  {"-", Op::kSub},
              {"*", Op::kMul},   {"/", Op::kDiv},       {"%", Op::kMod}};
  for (const auto& o : kOps)
    if (o.spelling == text) b.BinaryOperator(o.op, at);
});
FLOW_ACTION(conditional, b.Conditional(at));

// ---- Stage calls
FLOW_ACTION(stage_name, b.BeginStage(text, at));
FLOW_ACTION(stage_args_open, b.StageHasParens());
FLOW_ACTION(arg_expr, b.ArgFromExpr(at));
FLOW_ACTION(arg_pipeline, b.ArgFromPipeline(at));
FLOW_ACTION(arg_name, b.PushName(IdentifierAt(in.begin(), in.end()), at, false));
FLOW_ACTION(named_arg, b.NameLastArg());
FLOW_ACTION(stage_arg, b.AttachArg());
FLOW_ACTION(block_open, b.BeginBlock(at));
FLOW_ACTION(block_let_name, b.PushName(text, at, true));
FLOW_ACTION(block_let, b.BlockLet());
FLOW_ACTION(block_result, b.BlockResult());
FLOW_ACTION(block, b.EndBlock());
FLOW_ACTION(replica_number, {
  const bool negative = text[0] == '-';
  const std::string_view digits = text.substr(negative ? 1 : 0);
  const int64_t count = WholeNumberAt(digits, at + (negative ? 1 : 0), at,
                                      "the count after '*' must be a whole number, not '" + std::string(text) + "'");
  Replicas r;
  r.kind = ReplicaKind::kLiteral;
  r.loc = b.Loc(at);
  r.count = negative ? -count : count;
  b.SetReplicas(std::move(r));
});
FLOW_ACTION(replica_auto, {
  Replicas r;
  r.kind = ReplicaKind::kAuto;
  r.loc = b.Loc(at);
  b.SetReplicas(std::move(r));
});
FLOW_ACTION(replica_name, {
  AstBuilder::CheckName(text, at, false);
  Replicas r;
  r.kind = ReplicaKind::kName;
  r.loc = b.Loc(at);
  r.name = std::string(text);
  b.SetReplicas(std::move(r));
});
FLOW_ACTION(option_name, b.PushName(text, at, false));
FLOW_ACTION(option, b.AddOption(text.size() > IdentifierAt(in.begin(), in.end()).size()));
FLOW_ACTION(stage_call, b.EndStage());
FLOW_ACTION(pipeline_begin, b.BeginPipeline());
FLOW_ACTION(pipeline, b.EndPipeline());

// ---- Statements
FLOW_ACTION(let_name, b.PushName(text, at, true));
FLOW_ACTION(let_def, b.LetDefinition());
FLOW_ACTION(stage_def_name, b.PushName(text, at, false));
FLOW_ACTION(param, b.AddParam(text, at));
FLOW_ACTION(stage_def, b.StageDefinition());
FLOW_ACTION(pipeline_statement, b.PipelineStatement());

#undef FLOW_ACTION

}  // namespace flow::grammar
