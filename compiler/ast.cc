#include "compiler/ast.h"

namespace flow {

const char* OpSpelling(Op op) {
  switch (op) {
    case Op::kNone: return "";
    case Op::kNeg: return "-";
    case Op::kNot: return "!";
    case Op::kMul: return "*";
    case Op::kDiv: return "/";
    case Op::kMod: return "%";
    case Op::kAdd: return "+";
    case Op::kSub: return "-";
    case Op::kLess: return "<";
    case Op::kLessEq: return "<=";
    case Op::kGreater: return ">";
    case Op::kGreaterEq: return ">=";
    case Op::kEq: return "==";
    case Op::kNotEq: return "!=";
    case Op::kAnd: return "&&";
    case Op::kOr: return "||";
  }
  return "";
}

ExprPtr CloneExpr(const Expr& e) {
  auto copy = std::make_unique<Expr>(e.kind, e.loc);
  copy->op = e.op;
  copy->int_value = e.int_value;
  copy->float_value = e.float_value;
  copy->bool_value = e.bool_value;
  copy->text = e.text;
  copy->type = e.type;
  copy->local_slot = e.local_slot;
  copy->function = e.function;
  copy->children.reserve(e.children.size());
  for (const ExprPtr& child : e.children) copy->children.push_back(CloneExpr(*child));
  return copy;
}

std::unique_ptr<Block> CloneBlock(const Block& b) {
  auto copy = std::make_unique<Block>();
  copy->loc = b.loc;
  for (const BlockLet& let : b.lets) copy->lets.push_back({let.loc, let.name, CloneExpr(*let.value)});
  if (b.result) copy->result = CloneExpr(*b.result);
  return copy;
}

PipelinePtr ClonePipeline(const Pipeline& p) {
  auto copy = std::make_unique<Pipeline>();
  copy->loc = p.loc;
  for (const StageCall& s : p.stages) {
    StageCall c;
    c.loc = s.loc;
    c.name = s.name;
    c.has_parens = s.has_parens;
    for (const Arg& a : s.args) {
      Arg arg;
      arg.loc = a.loc;
      arg.name = a.name;
      if (a.value) arg.value = CloneExpr(*a.value);
      if (a.pipeline) arg.pipeline = ClonePipeline(*a.pipeline);
      c.args.push_back(std::move(arg));
    }
    if (s.block) c.block = CloneBlock(*s.block);
    c.replicas = s.replicas;
    for (const Option& o : s.options) c.options.push_back({o.loc, o.name, o.value ? CloneExpr(*o.value) : nullptr});
    copy->stages.push_back(std::move(c));
  }
  return copy;
}

}  // namespace flow
