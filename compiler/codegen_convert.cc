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
      IrValue parsed = EmitParseInt(x);
      converted = parsed.v;
      ok = parsed.len;
      break;
    }
    default: return Unsupported(e, std::string("'int' of a ") + TypeName(x_expr.type));
  }
  llvm::BasicBlock* good = NewBlock("int.ok");
  llvm::BasicBlock* bad = NewBlock("int.bad");
  builder_.CreateCondBr(ok, good, bad);
  builder_.SetInsertPoint(good);
  llvm::Value* value = x_expr.type == Type::kFloat ? builder_.CreateFPToSI(x.v, builder_.getInt64Ty()) : converted;
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

// The int of a str's text as ParseInt reads it: `v` the value, `len` an i1,
// true when the text is a number. 1 to 18 plain digits (no sign, no blank:
// they cannot overflow) are read by a loop here; anything else, or a
// non-digit on the way, goes to flow_jit_parse_int, which reads it all.
IrValue BlockCodegen::EmitParseInt(IrValue text) {
  llvm::Type* i64 = builder_.getInt64Ty();
  llvm::BasicBlock* start = builder_.GetInsertBlock();
  llvm::BasicBlock* loop = NewBlock("parse.digit");
  llvm::BasicBlock* digit = NewBlock("parse.next");
  llvm::BasicBlock* slow = NewBlock("parse.slow");
  llvm::BasicBlock* done = NewBlock("parse.done");
  // len - 1 < 18, unsigned: 1 <= len <= 18.
  builder_.CreateCondBr(builder_.CreateICmpULT(builder_.CreateSub(text.len, I64(1)), I64(18)), loop, slow);
  builder_.SetInsertPoint(loop);
  llvm::PHINode* i = builder_.CreatePHI(i64, 2, "i");
  llvm::PHINode* value = builder_.CreatePHI(i64, 2, "value");
  i->addIncoming(I64(0), start);
  value->addIncoming(I64(0), start);
  llvm::Value* byte = builder_.CreateLoad(builder_.getInt8Ty(), builder_.CreateGEP(builder_.getInt8Ty(), text.v, i));
  llvm::Value* d = builder_.CreateSub(byte, builder_.getInt8('0'));
  builder_.CreateCondBr(builder_.CreateICmpULT(d, builder_.getInt8(10)), digit, slow);
  builder_.SetInsertPoint(digit);
  llvm::Value* next_value = builder_.CreateAdd(builder_.CreateMul(value, I64(10)), builder_.CreateZExt(d, i64));
  llvm::Value* next_i = builder_.CreateAdd(i, I64(1));
  i->addIncoming(next_i, digit);
  value->addIncoming(next_value, digit);
  builder_.CreateCondBr(builder_.CreateICmpEQ(next_i, text.len), done, loop);
  builder_.SetInsertPoint(slow);
  llvm::AllocaInst* slot = EntryAlloca(i64, "parsed");
  llvm::Value* slow_ok = builder_.CreateICmpNE(builder_.CreateCall(rt_.parse_int, {text.v, text.len, slot}), I32(0));
  llvm::Value* slow_value = builder_.CreateLoad(i64, slot);
  builder_.CreateBr(done);
  builder_.SetInsertPoint(done);
  llvm::PHINode* result = builder_.CreatePHI(i64, 2, "int");
  result->addIncoming(next_value, digit);
  result->addIncoming(slow_value, slow);
  llvm::PHINode* ok = builder_.CreatePHI(builder_.getInt1Ty(), 2, "int.ok");
  ok->addIncoming(builder_.getTrue(), digit);
  ok->addIncoming(slow_ok, slow);
  return IrValue{result, ok};
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
