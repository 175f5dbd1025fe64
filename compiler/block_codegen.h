// The inside of code generation, shared by codegen*.cc only (it includes
// LLVM's headers, which are slow to compile: nothing else includes it).
//
// One BlockCodegen emits one block's function; one Emit* function per kind
// of node, each under the rule of docs/language.md it implements.
#pragma once

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ast.h"
#include "compiler/block_function.h"
#include "compiler/codegen.h"

namespace flow {

// A value of the expression language in IR: an int is an i64, a float a
// double, a bool an i1; a str is a pointer `v` and an i64 length `len`.
struct IrValue {
  llvm::Value* v = nullptr;
  llvm::Value* len = nullptr;
};

// The functions of jit_runtime.h, declared in a module with the IR types of
// their C signatures (codegen_runtime.cc).
struct RuntimeFunctions {
  explicit RuntimeFunctions(llvm::Module& module);

  llvm::StructType* str_type;  // FlowStr: { ptr, i64 }
  llvm::FunctionCallee begin, begin_run, begin_record;
  llvm::FunctionCallee return_str, return_int_text, return_float_text, return_bool, return_int, return_float,
      return_error;
  llvm::FunctionCallee error_text, error_negative_field, error_convert_str, error_convert_float;
  llvm::FunctionCallee field, nf, split, nth_field;
  llvm::FunctionCallee alloc;
  llvm::FunctionCallee compare, upper, lower, trim, contains, starts_with, ends_with, find, replace,
      hash;
  llvm::FunctionCallee parse_int, parse_float, int_text, float_text;
  llvm::FunctionCallee float_add, float_sub, float_mul, float_div, float_mod;
  llvm::FunctionCallee matches, capture;
  llvm::FunctionCallee memcmp;
};

// A str as the pieces it joins, left to right (codegen_str.cc).
using StrPieces = std::vector<IrValue>;

// The module's string literals, one global per distinct text.
using StringLiterals = std::map<std::string, llvm::GlobalVariable*, std::less<>>;

class BlockCodegen {
 public:
  BlockCodegen(llvm::Module& module, const RuntimeFunctions& rt, StringLiterals& literals)
      : module_(module), rt_(rt), literals_(literals), builder_(module.getContext()) {}

  // Emits the function; false and `*error` (the function removed again)
  // when the block holds a node a checked block cannot hold.
  bool Emit(const Block& block, FlowBlockWant want, const std::string& symbol, BlockCode* code,
            std::string* error);
  // Emits the block's run entry (FlowBlockRunFn of block_function.h), for
  // kFlowWantText and kFlowWantBool; as Emit otherwise. `code` receives
  // the same regexes as Emit's, in the same order.
  bool EmitRun(const Block& block, FlowBlockWant want, const std::string& symbol, BlockCode* code,
               std::string* error);

 private:
  // The block's value, as the stage wants it (codegen.cc).
  void EmitReturn(IrValue value, Type type, FlowBlockWant want);
  // In a run entry: the value stored to run_value_ instead.
  void EmitRunValue(IrValue value, Type type, FlowBlockWant want);
  // The lets and the result, after the record's split (codegen.cc).
  void EmitBody(const Block& block, FlowBlockWant want);
  // Checks the function and erases it again on an error.
  bool Verify(std::string* error);

  // Expressions (codegen_expr.cc).
  IrValue EmitExpr(const Expr& e);
  IrValue EmitField(const Expr& e);
  IrValue EmitFieldExpr(const Expr& e);
  IrValue EmitUnary(const Expr& e);
  IrValue EmitBinary(const Expr& e);
  IrValue EmitLogical(const Expr& e);
  IrValue EmitComparison(Op op, IrValue a, Type at, IrValue b, Type bt);
  IrValue EmitIntArithmetic(const Expr& e, llvm::Value* a, llvm::Value* b);
  IrValue EmitFloatArithmetic(const Expr& e, llvm::Value* a, llvm::Value* b);
  llvm::Value* EmitStrEqual(IrValue a, IrValue b);
  llvm::Value* EmitStrCompare(IrValue a, IrValue b);  // i32: <0, 0, >0
  IrValue EmitConditional(const Expr& e);

  // Function calls (codegen_call.cc, codegen_convert.cc).
  IrValue EmitCall(const Expr& e);
  IrValue EmitFieldCall(const Expr& e, const std::vector<IrValue>& args);
  IrValue EmitToInt(const Expr& e);
  IrValue EmitToFloat(const Expr& e);
  IrValue EmitParseInt(IrValue text);
  IrValue EmitFmt(const Expr& e);
  IrValue EmitMinMax(const Expr& e, bool max);
  IrValue EmitRegex(const Expr& e);
  IrValue ToText(IrValue value, Type type);

  // `a + b` and substr as pieces, joined only where the bytes are needed
  // (codegen_str.cc). IsStrPieces: `e` is one of them.
  static bool IsStrPieces(const Expr& e);
  void EmitStrPieces(const Expr& e, StrPieces* pieces);
  void EmitSubstrPieces(const StrPieces& from, llvm::Value* m, llvm::Value* n, StrPieces* out);
  // The value of such an `e`, joined in the arena when it has several pieces.
  IrValue EmitStrJoined(const Expr& e);
  // len(e) of such an `e`, without joining it.
  llvm::Value* EmitStrLength(const Expr& e);

  // Helpers (codegen.cc).
  llvm::Value* I32(int64_t v) { return builder_.getInt32(static_cast<uint32_t>(v)); }
  llvm::Value* I64(int64_t v) { return builder_.getInt64(static_cast<uint64_t>(v)); }
  llvm::Value* Line(const Expr& e) { return builder_.getInt32(e.loc.line); }
  llvm::Value* Column(const Expr& e) { return builder_.getInt32(e.loc.column); }
  llvm::Type* IrType(Type type);
  IrValue StrLiteral(std::string_view text);
  IrValue Undefined(Type type);
  llvm::AllocaInst* EntryAlloca(llvm::Type* type, const char* name);
  llvm::BasicBlock* NewBlock(const char* name);
  // Reads the FlowStr an out-parameter received.
  IrValue LoadStr(llvm::AllocaInst* slot);
  // Calls `callee`, which returns a FlowStr, with `args`.
  IrValue CallForStr(llvm::FunctionCallee callee, std::vector<llvm::Value*> args);
  // The strs one after the other, in the arena (`a + b`, `fmt`); a single
  // one as it is.
  IrValue Join(const std::vector<IrValue>& parts);
  // Goes on when `ok` (an i32 from a runtime function) is non-zero; else the
  // record error that the runtime function set is returned.
  void ContinueIf(llvm::Value* ok);
  // When `condition` holds, `set_error` emits the call that sets the record
  // error, which is then returned; otherwise code goes on.
  void ErrorIf(llvm::Value* condition, llvm::function_ref<void()> set_error);
  // The record error `message` at `e`, unconditionally; code emitted after
  // it is unreachable (and removed by the optimizer).
  void RaiseError(const Expr& e, std::string_view message);
  // `a` and `b`, both of `type`, joined where two paths meet.
  IrValue Merge(Type type, IrValue a, llvm::BasicBlock* a_end, IrValue b, llvm::BasicBlock* b_end);
  llvm::Value* ToDouble(IrValue v, Type type);
  // An int value where a float is expected (`?:` branches, defaults).
  IrValue Widen(IrValue v, Type from, Type to);
  // Records that code generation cannot handle `e`; returns a placeholder.
  IrValue Unsupported(const Expr& e, const std::string& what);

  llvm::Module& module_;
  const RuntimeFunctions& rt_;
  StringLiterals& literals_;
  llvm::IRBuilder<> builder_;
  llvm::Function* function_ = nullptr;
  llvm::BasicBlock* fail_block_ = nullptr;
  llvm::Value* state_ = nullptr;
  llvm::Value* record_ = nullptr;
  llvm::Value* record_len_ = nullptr;
  llvm::Value* nr_ = nullptr;
  llvm::Value* result_ = nullptr;
  llvm::Value* run_value_ = nullptr;  // a run entry: &values[i]
  // The fields 1..split_count_ split at entry (flow_jit_split), when the
  // block reads constant fields.
  llvm::AllocaInst* split_fields_ = nullptr;
  int64_t split_count_ = 0;
  std::vector<IrValue> lets_;
  BlockCode* code_ = nullptr;
  std::string error_;  // the first node code generation could not handle
};

}  // namespace flow
