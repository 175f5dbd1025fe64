// Code for expressions: literals, fields, names, operators and `?:`
// (docs/language.md "Types and operators", "Records and fields"). Each
// function mirrors the interpreter's Evaluator method of the same node.
#include "compiler/block_codegen.h"
#include "compiler/text_functions.h"

namespace flow {
namespace {

bool IsComparison(Op op) { return op >= Op::kLess && op <= Op::kNotEq; }

llvm::CmpInst::Predicate IntPredicate(Op op, bool is_signed) {
  switch (op) {
    case Op::kLess: return is_signed ? llvm::CmpInst::ICMP_SLT : llvm::CmpInst::ICMP_ULT;
    case Op::kLessEq: return is_signed ? llvm::CmpInst::ICMP_SLE : llvm::CmpInst::ICMP_ULE;
    case Op::kGreater: return is_signed ? llvm::CmpInst::ICMP_SGT : llvm::CmpInst::ICMP_UGT;
    case Op::kGreaterEq: return is_signed ? llvm::CmpInst::ICMP_SGE : llvm::CmpInst::ICMP_UGE;
    case Op::kEq: return llvm::CmpInst::ICMP_EQ;
    default: return llvm::CmpInst::ICMP_NE;
  }
}

// As C++ compares doubles: ordered (false with a NaN), but `!=` unordered
// (true with a NaN).
llvm::CmpInst::Predicate FloatPredicate(Op op) {
  switch (op) {
    case Op::kLess: return llvm::CmpInst::FCMP_OLT;
    case Op::kLessEq: return llvm::CmpInst::FCMP_OLE;
    case Op::kGreater: return llvm::CmpInst::FCMP_OGT;
    case Op::kGreaterEq: return llvm::CmpInst::FCMP_OGE;
    case Op::kEq: return llvm::CmpInst::FCMP_OEQ;
    default: return llvm::CmpInst::FCMP_UNE;
  }
}

}  // namespace

IrValue BlockCodegen::EmitExpr(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kIntLit: return IrValue{I64(e.int_value), nullptr};
    // APFloat keeps every bit of the double, a folded NaN's sign included.
    case ExprKind::kFloatLit: return IrValue{llvm::ConstantFP::get(module_.getContext(), llvm::APFloat(e.float_value))};
    case ExprKind::kStrLit: return StrLiteral(e.text);
    case ExprKind::kBoolLit: return IrValue{builder_.getInt1(e.bool_value), nullptr};
    case ExprKind::kDurationLit:
    case ExprKind::kSizeLit: return Unsupported(e, "a duration or size inside a block");
    case ExprKind::kField: return EmitField(e);
    case ExprKind::kFieldExpr: return EmitFieldExpr(e);
    case ExprKind::kNF: return IrValue{builder_.CreateCall(rt_.nf, {state_}), nullptr};
    case ExprKind::kNR: return IrValue{nr_, nullptr};
    case ExprKind::kName:
      if (e.local_slot < 0 || static_cast<size_t>(e.local_slot) >= lets_.size())
        return Unsupported(e, "the unresolved name '" + e.text + "'");
      return lets_[static_cast<size_t>(e.local_slot)];
    case ExprKind::kUnary: return EmitUnary(e);
    case ExprKind::kBinary: return EmitBinary(e);
    case ExprKind::kConditional: return EmitConditional(e);
    case ExprKind::kCall: return EmitCall(e);
  }
  return Unsupported(e, "an unknown kind of expression");
}

// $N: the record itself for $0; a load from the fields split at entry;
// or, past kMaxSplitFields, the splitter, which splits as far as field N.
IrValue BlockCodegen::EmitField(const Expr& e) {
  if (e.int_value == 0) return IrValue{record_, record_len_};
  if (e.int_value < 0) return StrLiteral("");
  if (e.int_value <= split_count_) {
    auto* array_type = llvm::ArrayType::get(rt_.str_type, static_cast<uint64_t>(split_count_) + 1);
    llvm::Value* field =
        builder_.CreateConstInBoundsGEP2_64(array_type, split_fields_, 0, static_cast<uint64_t>(e.int_value));
    llvm::Value* data = builder_.CreateLoad(builder_.getPtrTy(), builder_.CreateStructGEP(rt_.str_type, field, 0));
    llvm::Value* len = builder_.CreateLoad(builder_.getInt64Ty(), builder_.CreateStructGEP(rt_.str_type, field, 1));
    return IrValue{data, len};
  }
  return CallForStr(rt_.field, {state_, I64(e.int_value)});
}

// $(i): a negative index is a record error at the `$`.
IrValue BlockCodegen::EmitFieldExpr(const Expr& e) {
  if (e.children.size() != 1) return Unsupported(e, "'$(...)' without one index");
  llvm::Value* index = EmitExpr(*e.children[0]).v;
  ErrorIf(builder_.CreateICmpSLT(index, I64(0)), [&] {
    builder_.CreateCall(rt_.error_negative_field, {state_, Line(e), Column(e), index});
  });
  return CallForStr(rt_.field, {state_, index});
}

IrValue BlockCodegen::EmitUnary(const Expr& e) {
  if (e.children.size() != 1) return Unsupported(e, "a unary operator without one operand");
  const Expr& operand = *e.children[0];
  llvm::Value* v = EmitExpr(operand).v;
  if (e.op == Op::kNot) return IrValue{builder_.CreateNot(v), nullptr};
  // -i wraps (no `nsw`): -(smallest int) is itself.
  if (operand.type == Type::kInt) return IrValue{builder_.CreateSub(I64(0), v), nullptr};
  if (operand.type == Type::kFloat) return IrValue{builder_.CreateFNeg(v), nullptr};
  return Unsupported(e, "'-' on a " + std::string(TypeName(operand.type)));
}

IrValue BlockCodegen::EmitBinary(const Expr& e) {
  if (e.children.size() != 2) return Unsupported(e, "a binary operator without two operands");
  if (e.op == Op::kAnd || e.op == Op::kOr) return EmitLogical(e);
  const Type at = e.children[0]->type, bt = e.children[1]->type;
  if (at == Type::kStr && bt == Type::kStr && e.op == Op::kAdd) return EmitStrJoined(e);
  IrValue a = EmitExpr(*e.children[0]);
  IrValue b = EmitExpr(*e.children[1]);
  if (IsComparison(e.op)) return EmitComparison(e.op, a, at, b, bt);
  // An int meeting a float is widened, as the interpreter does.
  if (at == Type::kFloat || bt == Type::kFloat) return EmitFloatArithmetic(e, ToDouble(a, at), ToDouble(b, bt));
  if (at == Type::kInt && bt == Type::kInt) return EmitIntArithmetic(e, a.v, b.v);
  return Unsupported(e, std::string("operator '") + OpSpelling(e.op) + "' on " + TypeName(at));
}

IrValue BlockCodegen::EmitComparison(Op op, IrValue a, Type at, IrValue b, Type bt) {
  if (at == Type::kFloat || bt == Type::kFloat)
    return IrValue{builder_.CreateFCmp(FloatPredicate(op), ToDouble(a, at), ToDouble(b, bt)), nullptr};
  if (at == Type::kStr) {
    if (op == Op::kEq) return IrValue{EmitStrEqual(a, b), nullptr};
    if (op == Op::kNotEq) return IrValue{builder_.CreateNot(EmitStrEqual(a, b)), nullptr};
    return IrValue{builder_.CreateICmp(IntPredicate(op, true), EmitStrCompare(a, b), I32(0)), nullptr};
  }
  // Ints compare signed; bools as false < true, as C++ compares them.
  return IrValue{builder_.CreateICmp(IntPredicate(op, at == Type::kInt), a.v, b.v), nullptr};
}

// Equal lengths, then memcmp: LLVM turns a comparison with a literal into a
// few loads.
llvm::Value* BlockCodegen::EmitStrEqual(IrValue a, IrValue b) {
  llvm::BasicBlock* start = builder_.GetInsertBlock();
  llvm::BasicBlock* compare = NewBlock("streq.bytes");
  llvm::BasicBlock* done = NewBlock("streq.done");
  builder_.CreateCondBr(builder_.CreateICmpEQ(a.len, b.len), compare, done);
  builder_.SetInsertPoint(compare);
  llvm::Value* same = builder_.CreateICmpEQ(builder_.CreateCall(rt_.memcmp, {a.v, b.v, a.len}), I32(0));
  builder_.CreateBr(done);
  builder_.SetInsertPoint(done);
  llvm::PHINode* equal = builder_.CreatePHI(builder_.getInt1Ty(), 2);
  equal->addIncoming(builder_.getFalse(), start);
  equal->addIncoming(same, compare);
  return equal;
}

llvm::Value* BlockCodegen::EmitStrCompare(IrValue a, IrValue b) {
  return builder_.CreateCall(rt_.compare, {a.v, a.len, b.v, b.len});
}

// Integer arithmetic wraps: add/sub/mul carry no `nsw`. Division and
// remainder by zero are record errors; for a divisor of -1 the result is
// computed as `0 - a` (wrapping, so the smallest int divided by -1 is
// itself) and 0, since LLVM's sdiv/srem of the smallest int by -1 is
// undefined behaviour.
IrValue BlockCodegen::EmitIntArithmetic(const Expr& e, llvm::Value* a, llvm::Value* b) {
  switch (e.op) {
    case Op::kAdd: return IrValue{builder_.CreateAdd(a, b), nullptr};
    case Op::kSub: return IrValue{builder_.CreateSub(a, b), nullptr};
    case Op::kMul: return IrValue{builder_.CreateMul(a, b), nullptr};
    case Op::kDiv:
    case Op::kMod: {
      ErrorIf(builder_.CreateICmpEQ(b, I64(0)), [&] {
        IrValue text = StrLiteral(kDivisionByZeroMessage);
        builder_.CreateCall(rt_.error_text, {state_, Line(e), Column(e), text.v, text.len});
      });
      llvm::Value* minus_one = builder_.CreateICmpEQ(b, I64(-1));
      llvm::Value* safe = builder_.CreateSelect(minus_one, I64(1), b);
      if (e.op == Op::kDiv)
        return IrValue{builder_.CreateSelect(minus_one, builder_.CreateSub(I64(0), a), builder_.CreateSDiv(a, safe)),
                       nullptr};
      return IrValue{builder_.CreateSelect(minus_one, I64(0), builder_.CreateSRem(a, safe)), nullptr};
    }
    default: break;
  }
  return Unsupported(e, std::string("operator '") + OpSpelling(e.op) + "' on int");
}

// IEEE 754: x / 0 is ±inf or NaN, no error; `%` is fmod. Each operation
// is a call of a runtime function compiled as the interpreter is: LLVM may
// fold, commute or rewrite float arithmetic (`a + -b` into `a - b`) in ways
// that give a NaN result another sign, which `str()` writes ("-nan"); a
// call it cannot see into keeps the result the interpreter's to the bit.
IrValue BlockCodegen::EmitFloatArithmetic(const Expr& e, llvm::Value* a, llvm::Value* b) {
  switch (e.op) {
    case Op::kAdd: return IrValue{builder_.CreateCall(rt_.float_add, {a, b}), nullptr};
    case Op::kSub: return IrValue{builder_.CreateCall(rt_.float_sub, {a, b}), nullptr};
    case Op::kMul: return IrValue{builder_.CreateCall(rt_.float_mul, {a, b}), nullptr};
    case Op::kDiv: return IrValue{builder_.CreateCall(rt_.float_div, {a, b}), nullptr};
    case Op::kMod: return IrValue{builder_.CreateCall(rt_.float_mod, {a, b}), nullptr};
    default: break;
  }
  return Unsupported(e, std::string("operator '") + OpSpelling(e.op) + "' on float");
}

// `a && b`, `a || b`: the right side runs (and can fail) only when the left
// does not decide.
IrValue BlockCodegen::EmitLogical(const Expr& e) {
  llvm::Value* left = EmitExpr(*e.children[0]).v;
  llvm::BasicBlock* left_end = builder_.GetInsertBlock();
  llvm::BasicBlock* right_block = NewBlock(e.op == Op::kAnd ? "and.right" : "or.right");
  llvm::BasicBlock* done = NewBlock("logical.done");
  if (e.op == Op::kAnd)
    builder_.CreateCondBr(left, right_block, done);
  else
    builder_.CreateCondBr(left, done, right_block);
  builder_.SetInsertPoint(right_block);
  llvm::Value* right = EmitExpr(*e.children[1]).v;
  llvm::BasicBlock* right_end = builder_.GetInsertBlock();
  builder_.CreateBr(done);
  builder_.SetInsertPoint(done);
  return Merge(Type::kBool, IrValue{left, nullptr}, left_end, IrValue{right, nullptr}, right_end);
}

// `c ? a : b`: only the chosen branch runs; an int branch of a float `?:`
// is widened.
IrValue BlockCodegen::EmitConditional(const Expr& e) {
  if (e.children.size() != 3) return Unsupported(e, "'?:' without three operands");
  llvm::Value* condition = EmitExpr(*e.children[0]).v;
  llvm::BasicBlock* then_block = NewBlock("cond.then");
  llvm::BasicBlock* else_block = NewBlock("cond.else");
  llvm::BasicBlock* done = NewBlock("cond.done");
  builder_.CreateCondBr(condition, then_block, else_block);
  builder_.SetInsertPoint(then_block);
  IrValue a = Widen(EmitExpr(*e.children[1]), e.children[1]->type, e.type);
  llvm::BasicBlock* then_end = builder_.GetInsertBlock();
  builder_.CreateBr(done);
  builder_.SetInsertPoint(else_block);
  IrValue b = Widen(EmitExpr(*e.children[2]), e.children[2]->type, e.type);
  llvm::BasicBlock* else_end = builder_.GetInsertBlock();
  builder_.CreateBr(done);
  builder_.SetInsertPoint(done);
  return Merge(e.type, a, then_end, b, else_end);
}

}  // namespace flow
