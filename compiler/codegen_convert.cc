// Code for the conversions int(x[, d]), float(x[, d]) and str(x)
// (docs/language.md "Functions", "Conversions"), as the interpreter's
// EvalToInt, EvalToFloat and Value::ToText do them.
#include "compiler/block_codegen.h"

namespace flow {

// int(x[, d]): an int is itself and a bool 0 or 1 (`d` is not evaluated);
// a float truncates when it lies in [-2^63, 2^63), a str parses; otherwise
// `d`, evaluated only then, or a record error at the call.
IrValue BlockCodegen::EmitToInt(const Expr& e) {
  if (e.children.empty() || e.children.size() > 2) return Unsupported(e, "'int' with a wrong argument count");
  const Expr& x_expr = *e.children[0];
  IrValue x = EmitExpr(x_expr);
  llvm::Value* converted = nullptr;
  llvm::Value* ok = nullptr;
  switch (x_expr.type) {
    case Type::kInt: return x;
    case Type::kBool: return IrValue{builder_.CreateZExt(x.v, builder_.getInt64Ty()), nullptr};
    case Type::kFloat: {
      // NaN fails both comparisons.
      llvm::Value* low = llvm::ConstantFP::get(builder_.getDoubleTy(), -0x1p63);
      llvm::Value* high = llvm::ConstantFP::get(builder_.getDoubleTy(), 0x1p63);
      ok = builder_.CreateAnd(builder_.CreateFCmpOGE(x.v, low), builder_.CreateFCmpOLT(x.v, high));
      break;
    }
    case Type::kStr: {
      llvm::AllocaInst* slot = EntryAlloca(builder_.getInt64Ty(), "parsed");
      ok = builder_.CreateICmpNE(builder_.CreateCall(rt_.parse_int, {x.v, x.len, slot}), I32(0));
      converted = slot;
      break;
    }
    default: return Unsupported(e, std::string("'int' of a ") + TypeName(x_expr.type));
  }
  llvm::BasicBlock* good = NewBlock("int.ok");
  llvm::BasicBlock* bad = NewBlock("int.bad");
  builder_.CreateCondBr(ok, good, bad);
  builder_.SetInsertPoint(good);
  llvm::Value* value = x_expr.type == Type::kFloat ? builder_.CreateFPToSI(x.v, builder_.getInt64Ty())
                                                   : builder_.CreateLoad(builder_.getInt64Ty(), converted);
  builder_.SetInsertPoint(bad);
  if (e.children.size() == 1) {
    if (x_expr.type == Type::kFloat)
      builder_.CreateCall(rt_.error_convert_float, {state_, Line(e), Column(e), x.v});
    else
      builder_.CreateCall(rt_.error_convert_str, {state_, Line(e), Column(e), x.v, x.len, I32(0)});
    builder_.CreateBr(fail_block_);
    builder_.SetInsertPoint(good);
    return IrValue{value, nullptr};
  }
  IrValue fallback = EmitExpr(*e.children[1]);
  llvm::BasicBlock* bad_end = builder_.GetInsertBlock();
  llvm::BasicBlock* done = NewBlock("int.done");
  builder_.CreateBr(done);
  builder_.SetInsertPoint(good);
  builder_.CreateBr(done);
  builder_.SetInsertPoint(done);
  return Merge(Type::kInt, IrValue{value, nullptr}, good, fallback, bad_end);
}

// float(x[, d]): as int(), only a str can fail; an int default is widened.
IrValue BlockCodegen::EmitToFloat(const Expr& e) {
  if (e.children.empty() || e.children.size() > 2) return Unsupported(e, "'float' with a wrong argument count");
  const Expr& x_expr = *e.children[0];
  IrValue x = EmitExpr(x_expr);
  llvm::Type* f64 = builder_.getDoubleTy();
  switch (x_expr.type) {
    case Type::kInt: return IrValue{ToDouble(x, Type::kInt), nullptr};
    case Type::kFloat: return x;
    case Type::kBool:
      return IrValue{builder_.CreateSelect(x.v, llvm::ConstantFP::get(f64, 1.0), llvm::ConstantFP::get(f64, 0.0)),
                     nullptr};
    case Type::kStr: break;
    default: return Unsupported(e, std::string("'float' of a ") + TypeName(x_expr.type));
  }
  llvm::AllocaInst* slot = EntryAlloca(f64, "parsed");
  llvm::Value* ok = builder_.CreateICmpNE(builder_.CreateCall(rt_.parse_float, {x.v, x.len, slot}), I32(0));
  llvm::BasicBlock* good = NewBlock("float.ok");
  llvm::BasicBlock* bad = NewBlock("float.bad");
  builder_.CreateCondBr(ok, good, bad);
  builder_.SetInsertPoint(good);
  llvm::Value* value = builder_.CreateLoad(f64, slot);
  builder_.SetInsertPoint(bad);
  if (e.children.size() == 1) {
    builder_.CreateCall(rt_.error_convert_str, {state_, Line(e), Column(e), x.v, x.len, I32(1)});
    builder_.CreateBr(fail_block_);
    builder_.SetInsertPoint(good);
    return IrValue{value, nullptr};
  }
  IrValue fallback = Widen(EmitExpr(*e.children[1]), e.children[1]->type, Type::kFloat);
  llvm::BasicBlock* bad_end = builder_.GetInsertBlock();
  llvm::BasicBlock* done = NewBlock("float.done");
  builder_.CreateBr(done);
  builder_.SetInsertPoint(good);
  builder_.CreateBr(done);
  builder_.SetInsertPoint(done);
  return Merge(Type::kFloat, IrValue{value, nullptr}, good, fallback, bad_end);
}

// str(x), and what map writes: ints in decimal, floats as FormatFloat
// writes them (in the arena), bools as literals.
IrValue BlockCodegen::ToText(IrValue value, Type type) {
  switch (type) {
    case Type::kStr: return value;
    case Type::kInt: return CallForStr(rt_.int_text, {state_, value.v});
    case Type::kFloat: return CallForStr(rt_.float_text, {state_, value.v});
    case Type::kBool: {
      IrValue yes = StrLiteral("true"), no = StrLiteral("false");
      return IrValue{builder_.CreateSelect(value.v, yes.v, no.v), builder_.CreateSelect(value.v, yes.len, no.len)};
    }
    default: break;
  }
  if (error_.empty()) error_ = std::string("internal error: no text for a ") + TypeName(type);
  return Undefined(Type::kStr);
}

}  // namespace flow
