#include "compiler/codegen.h"

#include <algorithm>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include "compiler/block_codegen.h"

namespace flow {
namespace {

// The highest N of the block's constant fields $N (0 when it reads none).
int64_t HighestConstantField(const Expr& e) {
  int64_t highest = e.kind == ExprKind::kField ? e.int_value : 0;
  for (const ExprPtr& child : e.children) highest = std::max(highest, HighestConstantField(*child));
  return highest;
}

int64_t HighestConstantField(const Block& block) {
  int64_t highest = HighestConstantField(*block.result);
  for (const BlockLet& let : block.lets) highest = std::max(highest, HighestConstantField(*let.value));
  return highest;
}

// Beyond this, a block's constant fields are read one call at a time.
constexpr int64_t kMaxSplitFields = 64;

void Optimize(llvm::Module& module, llvm::TargetMachine& target) {
  // Declared in this order so that they are destroyed in the reverse one, as
  // LLVM's pass-manager documentation does it.
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager cgsccs;
  llvm::ModuleAnalysisManager modules;
  llvm::PassBuilder builder(&target);
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(cgsccs);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, cgsccs, modules);
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2).run(module, modules);
}

}  // namespace

struct ModuleCodegen::Impl {
  std::unique_ptr<llvm::LLVMContext> context = std::make_unique<llvm::LLVMContext>();
  std::unique_ptr<llvm::Module> module = std::make_unique<llvm::Module>("flow_blocks", *context);
  RuntimeFunctions runtime{*module};
  StringLiterals literals;
};

ModuleCodegen::ModuleCodegen() : impl_(std::make_unique<Impl>()) {}

ModuleCodegen::~ModuleCodegen() {
  if (!impl_) return;
  impl_->module.reset();  // before the context that owns its types
  impl_->context.reset();
}

bool ModuleCodegen::AddBlock(const Block& block, FlowBlockWant want, const std::string& symbol, BlockCode* code,
                             std::string* error) {
  BlockCodegen codegen(*impl_->module, impl_->runtime, impl_->literals);
  if (!codegen.Emit(block, want, symbol, code, error)) return false;
  if (want != kFlowWantText && want != kFlowWantBool) return true;
  // The same nodes again, in a loop: the regexes come out numbered as the
  // first function numbered them.
  BlockCodegen run(*impl_->module, impl_->runtime, impl_->literals);
  BlockCode run_code;
  std::string run_error;
  code->has_run = run.EmitRun(block, want, symbol + "_run", &run_code, &run_error) &&
                  run_code.regexes == code->regexes;
  if (!code->has_run && run_error.empty()) impl_->module->getFunction(symbol + "_run")->eraseFromParent();
  return true;
}

JitModule ModuleCodegen::Finish(llvm::TargetMachine& target) {
  impl_->module->setDataLayout(target.createDataLayout());
  impl_->module->setTargetTriple(target.getTargetTriple().str());
  Optimize(*impl_->module, target);
  JitModule out;
  out.module = std::move(impl_->module);
  out.context = std::move(impl_->context);
  impl_.reset();
  return out;
}

std::string ModuleCodegen::PrintIr() const {
  std::string text;
  llvm::raw_string_ostream out(text);
  impl_->module->print(out, nullptr);
  return text;
}

// The function of one block:
//   void flow_block_N(state, record, record_len, nr, result)
// `entry` resets the state for the record, evaluates each `let` in order
// (its SSA value serves every later use, as the interpreter's vector of
// let values does), then the result, and returns it; every record error
// branches to `fail`, which returns the message a runtime function set.
bool BlockCodegen::Emit(const Block& block, FlowBlockWant want, const std::string& symbol, BlockCode* code,
                        std::string* error) {
  llvm::Type* ptr = builder_.getPtrTy();
  llvm::Type* i64 = builder_.getInt64Ty();
  auto* type = llvm::FunctionType::get(builder_.getVoidTy(), {ptr, ptr, i64, i64, ptr}, /*isVarArg=*/false);
  function_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, symbol, module_);
  function_->setDoesNotThrow();
  state_ = function_->getArg(0);
  record_ = function_->getArg(1);
  record_len_ = function_->getArg(2);
  nr_ = function_->getArg(3);
  result_ = function_->getArg(4);
  code_ = code;

  llvm::BasicBlock* entry = NewBlock("entry");
  fail_block_ = NewBlock("fail");
  builder_.SetInsertPoint(entry);
  builder_.CreateCall(rt_.begin, {state_, record_, record_len_});
  EmitBody(block, want);
  builder_.CreateRetVoid();
  builder_.SetInsertPoint(fail_block_);
  builder_.CreateCall(rt_.return_error, {state_, result_});
  builder_.CreateRetVoid();
  return Verify(error);
}

// The run entry of a block:
//   u64 flow_block_N_run(state, data, ends, base, nrs, count, values, error)
// `entry` resets the arena once for the whole run; `loop` takes record i
// apart from the columns, evaluates the body as the function of one record
// does, stores its value to values[i] and goes on with i + 1; `fail`
// returns i, the record error in *error. No result is copied out of the
// record (it outlives the values) and no runtime call is made per record
// unless the block reads fields or calls a text function.
bool BlockCodegen::EmitRun(const Block& block, FlowBlockWant want, const std::string& symbol, BlockCode* code,
                           std::string* error) {
  llvm::Type* ptr = builder_.getPtrTy();
  llvm::Type* i64 = builder_.getInt64Ty();
  llvm::Type* i32 = builder_.getInt32Ty();
  auto* type = llvm::FunctionType::get(i64, {ptr, ptr, ptr, i32, ptr, i64, ptr, ptr}, /*isVarArg=*/false);
  function_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, symbol, module_);
  function_->setDoesNotThrow();
  state_ = function_->getArg(0);
  llvm::Value* data = function_->getArg(1);
  llvm::Value* ends = function_->getArg(2);
  llvm::Value* base = function_->getArg(3);
  llvm::Value* nrs = function_->getArg(4);
  llvm::Value* count = function_->getArg(5);
  llvm::Value* values = function_->getArg(6);
  result_ = function_->getArg(7);
  code_ = code;
  if (want != kFlowWantText && want != kFlowWantBool) {
    error_ = "internal error: no run entry for this want";
    return Verify(error);
  }

  llvm::BasicBlock* entry = NewBlock("entry");
  llvm::BasicBlock* loop = NewBlock("loop");
  llvm::BasicBlock* done = NewBlock("done");
  fail_block_ = NewBlock("fail");
  builder_.SetInsertPoint(entry);
  builder_.CreateCall(rt_.begin_run, {state_});
  builder_.CreateCondBr(builder_.CreateICmpEQ(count, I64(0)), done, loop);

  builder_.SetInsertPoint(loop);
  llvm::PHINode* i = builder_.CreatePHI(i64, 2, "i");
  i->addIncoming(I64(0), entry);
  // Record i begins where record i - 1 ended (record 0 at `base`): carried
  // from one iteration to the next, so the first one is not special (with
  // a select on i == 0, LLVM peeled it: the body twice, twice the time to
  // compile).
  llvm::PHINode* begin = builder_.CreatePHI(i32, 2, "begin");
  begin->addIncoming(base, entry);
  llvm::Value* end = builder_.CreateLoad(i32, builder_.CreateInBoundsGEP(i32, ends, i));
  record_ = builder_.CreateInBoundsGEP(builder_.getInt8Ty(), data, builder_.CreateZExt(begin, i64));
  record_len_ = builder_.CreateZExt(builder_.CreateSub(end, begin), i64);
  nr_ = builder_.CreateLoad(i64, builder_.CreateInBoundsGEP(i64, nrs, i));
  auto* value_type = llvm::StructType::get(module_.getContext(), {ptr, i64});
  run_value_ = builder_.CreateInBoundsGEP(value_type, values, i);
  llvm::CallInst* begin_record = builder_.CreateCall(rt_.begin_record, {state_, record_, record_len_});
  EmitBody(block, want);
  llvm::Value* next = builder_.CreateAdd(i, I64(1));
  i->addIncoming(next, builder_.GetInsertBlock());
  begin->addIncoming(end, builder_.GetInsertBlock());
  builder_.CreateCondBr(builder_.CreateICmpULT(next, count), loop, done);
  builder_.SetInsertPoint(done);
  builder_.CreateRet(count);
  builder_.SetInsertPoint(fail_block_);
  builder_.CreateCall(rt_.return_error, {state_, result_});
  builder_.CreateRet(i);

  // The record is only the field functions' business: a block that reads
  // none (`$0`, NR, literals) does without the call.
  llvm::FunctionCallee field = rt_.field, nf = rt_.nf, split = rt_.split;
  bool reads_fields = false;
  for (llvm::BasicBlock& b : *function_)
    for (llvm::Instruction& instruction : b)
      if (auto* call = llvm::dyn_cast<llvm::CallInst>(&instruction)) {
        const llvm::Function* callee = call->getCalledFunction();
        reads_fields = reads_fields || callee == field.getCallee() || callee == nf.getCallee() ||
                       callee == split.getCallee();
      }
  if (!reads_fields) begin_record->eraseFromParent();
  return Verify(error);
}

void BlockCodegen::EmitBody(const Block& block, FlowBlockWant want) {
  // Splitting up front, as far as the highest constant field and no
  // further, costs one call; field reads are then loads.
  split_count_ = HighestConstantField(block);
  if (split_count_ > kMaxSplitFields) split_count_ = 0;
  if (split_count_ > 0) {
    auto* array_type = llvm::ArrayType::get(rt_.str_type, static_cast<uint64_t>(split_count_) + 1);
    split_fields_ = EntryAlloca(array_type, "fields");
    builder_.CreateCall(rt_.split, {state_, I64(split_count_), split_fields_});
  }
  lets_.clear();
  for (const BlockLet& let : block.lets) lets_.push_back(EmitExpr(*let.value));
  if (run_value_ != nullptr)
    EmitRunValue(EmitExpr(*block.result), block.result->type, want);
  else
    EmitReturn(EmitExpr(*block.result), block.result->type, want);
}

bool BlockCodegen::Verify(std::string* error) {
  if (error_.empty()) {
    std::string problems;
    llvm::raw_string_ostream out(problems);
    if (llvm::verifyFunction(*function_, &out)) error_ = "internal error: the generated code is invalid: " + problems;
  }
  if (!error_.empty()) {
    function_->eraseFromParent();
    *error = error_;
    return false;
  }
  return true;
}

void BlockCodegen::EmitRunValue(IrValue value, Type type, FlowBlockWant want) {
  IrValue out;
  if (want == kFlowWantBool && type == Type::kBool) {
    out = IrValue{llvm::ConstantPointerNull::get(builder_.getPtrTy()),
                  builder_.CreateZExt(value.v, builder_.getInt64Ty())};
  } else if (want == kFlowWantText && type == Type::kInt) {
    out = CallForStr(rt_.int_text, {state_, value.v});
  } else if (want == kFlowWantText && type == Type::kFloat) {
    out = CallForStr(rt_.float_text, {state_, value.v});
  } else if (want == kFlowWantText && (type == Type::kStr || type == Type::kBool)) {
    out = ToText(value, type);
  } else {
    error_ = std::string("internal error: no run value of type ") + TypeName(type);
    return;
  }
  auto* value_type = llvm::StructType::get(module_.getContext(), {builder_.getPtrTy(), builder_.getInt64Ty()});
  builder_.CreateStore(out.v, builder_.CreateStructGEP(value_type, run_value_, 0));
  builder_.CreateStore(out.len, builder_.CreateStructGEP(value_type, run_value_, 1));
}

void BlockCodegen::EmitReturn(IrValue value, Type type, FlowBlockWant want) {
  switch (want) {
    case kFlowWantText:
      if (type == Type::kInt) {
        builder_.CreateCall(rt_.return_int_text, {state_, result_, value.v});
      } else if (type == Type::kFloat) {
        builder_.CreateCall(rt_.return_float_text, {state_, result_, value.v});
      } else if (type == Type::kStr || type == Type::kBool) {
        IrValue text = ToText(value, type);
        builder_.CreateCall(rt_.return_str, {state_, result_, text.v, text.len});
      } else {
        error_ = std::string("internal error: a block of type ") + TypeName(type) + " cannot be written as text";
      }
      return;
    case kFlowWantBool:
      if (type == Type::kBool) {
        builder_.CreateCall(rt_.return_bool, {result_, builder_.CreateZExt(value.v, builder_.getInt32Ty())});
      } else {
        error_ = std::string("internal error: a block of type ") + TypeName(type) + " where a bool is wanted";
      }
      return;
    case kFlowWantNumber:
      if (type == Type::kInt) {
        builder_.CreateCall(rt_.return_int, {result_, value.v});
      } else if (type == Type::kFloat) {
        builder_.CreateCall(rt_.return_float, {result_, value.v});
      } else {
        error_ = std::string("internal error: a block of type ") + TypeName(type) + " where a number is wanted";
      }
      return;
  }
  error_ = "internal error: unknown block want " + std::to_string(static_cast<int>(want));
}

llvm::Type* BlockCodegen::IrType(Type type) {
  switch (type) {
    case Type::kInt: return builder_.getInt64Ty();
    case Type::kFloat: return builder_.getDoubleTy();
    case Type::kBool: return builder_.getInt1Ty();
    default: return builder_.getPtrTy();  // a str's data pointer
  }
}

IrValue BlockCodegen::StrLiteral(std::string_view text) {
  auto it = literals_.find(text);
  if (it == literals_.end()) {
    // With a NUL after it, so that even "" has an address.
    llvm::Constant* bytes =
        llvm::ConstantDataArray::getString(module_.getContext(), llvm::StringRef(text.data(), text.size()), true);
    auto* global = new llvm::GlobalVariable(module_, bytes->getType(), /*isConstant=*/true,
                                            llvm::GlobalValue::PrivateLinkage, bytes, ".str");
    global->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    global->setAlignment(llvm::Align(1));
    it = literals_.emplace(std::string(text), global).first;
  }
  return IrValue{it->second, I64(static_cast<int64_t>(text.size()))};
}

IrValue BlockCodegen::Undefined(Type type) {
  IrValue v{llvm::PoisonValue::get(IrType(type)), nullptr};
  if (type == Type::kStr) v.len = llvm::PoisonValue::get(builder_.getInt64Ty());
  return v;
}

llvm::AllocaInst* BlockCodegen::EntryAlloca(llvm::Type* type, const char* name) {
  // In the entry block, so each slot is one fixed stack location.
  llvm::BasicBlock& entry = function_->getEntryBlock();
  llvm::IRBuilder<> at(&entry, entry.begin());
  return at.CreateAlloca(type, nullptr, name);
}

llvm::BasicBlock* BlockCodegen::NewBlock(const char* name) {
  return llvm::BasicBlock::Create(module_.getContext(), name, function_);
}

IrValue BlockCodegen::LoadStr(llvm::AllocaInst* slot) {
  llvm::Value* data = builder_.CreateLoad(builder_.getPtrTy(), builder_.CreateStructGEP(rt_.str_type, slot, 0));
  llvm::Value* len = builder_.CreateLoad(builder_.getInt64Ty(), builder_.CreateStructGEP(rt_.str_type, slot, 1));
  return IrValue{data, len};
}

IrValue BlockCodegen::CallForStr(llvm::FunctionCallee callee, std::vector<llvm::Value*> args) {
  llvm::Value* str = builder_.CreateCall(callee, args);
  return IrValue{builder_.CreateExtractValue(str, 0), builder_.CreateExtractValue(str, 1)};
}

IrValue BlockCodegen::Join(const std::vector<IrValue>& parts) {
  if (parts.empty()) return StrLiteral("");
  if (parts.size() == 1) return parts[0];
  // One arena allocation, then a memcpy of each part, inline: LLVM writes
  // a literal's bytes as constants and calls memcpy for the rest. (Copying
  // short parts with no call at all, two overlapping loads and stores,
  // saved 1.5 ns a record but cost 10 ms more to compile each program.)
  llvm::Value* total = I64(0);
  for (const IrValue& part : parts) total = builder_.CreateAdd(total, part.len);
  llvm::Value* joined = builder_.CreateCall(rt_.alloc, {state_, total});
  llvm::Value* at = I64(0);
  for (const IrValue& part : parts) {
    builder_.CreateMemCpy(builder_.CreateGEP(builder_.getInt8Ty(), joined, at), llvm::MaybeAlign(1), part.v,
                          llvm::MaybeAlign(1), part.len);
    at = builder_.CreateAdd(at, part.len);
  }
  return IrValue{joined, total};
}

void BlockCodegen::ContinueIf(llvm::Value* ok) {
  llvm::BasicBlock* next = NewBlock("ok");
  builder_.CreateCondBr(builder_.CreateICmpNE(ok, I32(0)), next, fail_block_);
  builder_.SetInsertPoint(next);
}

void BlockCodegen::ErrorIf(llvm::Value* condition, llvm::function_ref<void()> set_error) {
  llvm::BasicBlock* error = NewBlock("error");
  llvm::BasicBlock* next = NewBlock("ok");
  builder_.CreateCondBr(condition, error, next);
  builder_.SetInsertPoint(error);
  set_error();
  builder_.CreateBr(fail_block_);
  builder_.SetInsertPoint(next);
}

void BlockCodegen::RaiseError(const Expr& e, std::string_view message) {
  IrValue text = StrLiteral(message);
  builder_.CreateCall(rt_.error_text, {state_, Line(e), Column(e), text.v, text.len});
  builder_.CreateBr(fail_block_);
  builder_.SetInsertPoint(NewBlock("unreachable"));
}

IrValue BlockCodegen::Merge(Type type, IrValue a, llvm::BasicBlock* a_end, IrValue b, llvm::BasicBlock* b_end) {
  llvm::PHINode* v = builder_.CreatePHI(IrType(type), 2);
  v->addIncoming(a.v, a_end);
  v->addIncoming(b.v, b_end);
  if (type != Type::kStr) return IrValue{v, nullptr};
  llvm::PHINode* len = builder_.CreatePHI(builder_.getInt64Ty(), 2);
  len->addIncoming(a.len, a_end);
  len->addIncoming(b.len, b_end);
  return IrValue{v, len};
}

llvm::Value* BlockCodegen::ToDouble(IrValue v, Type type) {
  return type == Type::kInt ? builder_.CreateSIToFP(v.v, builder_.getDoubleTy()) : v.v;
}

IrValue BlockCodegen::Widen(IrValue v, Type from, Type to) {
  if (to == Type::kFloat && from == Type::kInt) return IrValue{ToDouble(v, from), nullptr};
  return v;
}

IrValue BlockCodegen::Unsupported(const Expr& e, const std::string& what) {
  if (error_.empty())
    error_ = "internal error: no code for " + what + " at " + std::to_string(e.loc.line) + ":" +
             std::to_string(e.loc.column);
  return Undefined(e.type == Type::kUnknown ? Type::kInt : e.type);
}

}  // namespace flow
