// The IR declarations of the runtime-support functions of jit_runtime.h.
// Each type list mirrors the C prototype there; the JIT binds the names to
// the functions' addresses (jit.cc), and the tests call every one of them.
#include "compiler/block_codegen.h"

namespace flow {
namespace {

struct Types {
  llvm::Type* v;
  llvm::Type* p;
  llvm::Type* i32;
  llvm::Type* i64;
  llvm::Type* f64;
};

// Declares `name` as `result(params...)`, nounwind like all C code.
llvm::FunctionCallee Declare(llvm::Module& m, const char* name, llvm::Type* result,
                             std::vector<llvm::Type*> params) {
  llvm::FunctionCallee callee =
      m.getOrInsertFunction(name, llvm::FunctionType::get(result, params, /*isVarArg=*/false));
  auto* f = llvm::cast<llvm::Function>(callee.getCallee());
  f->setDoesNotThrow();
  return callee;
}

// A function that only reads the memory its pointer arguments point to and
// returns: the optimizer may then drop it when unused, or hoist it.
llvm::FunctionCallee DeclarePure(llvm::Module& m, const char* name, llvm::Type* result,
                                 std::vector<llvm::Type*> params) {
  llvm::FunctionCallee callee = Declare(m, name, result, std::move(params));
  auto* f = llvm::cast<llvm::Function>(callee.getCallee());
  f->setMemoryEffects(llvm::MemoryEffects::argMemOnly(llvm::ModRefInfo::Ref));
  f->setWillReturn();
  return callee;
}

// A function of its arguments alone, which LLVM may still not look into.
llvm::FunctionCallee DeclareOpaqueMath(llvm::Module& m, const char* name, llvm::Type* f64) {
  llvm::FunctionCallee callee = Declare(m, name, f64, {f64, f64});
  auto* f = llvm::cast<llvm::Function>(callee.getCallee());
  f->setMemoryEffects(llvm::MemoryEffects::none());
  f->setWillReturn();
  return callee;
}

}  // namespace

RuntimeFunctions::RuntimeFunctions(llvm::Module& m) {
  llvm::LLVMContext& c = m.getContext();
  const Types t{llvm::Type::getVoidTy(c), llvm::PointerType::getUnqual(c), llvm::Type::getInt32Ty(c),
                llvm::Type::getInt64Ty(c), llvm::Type::getDoubleTy(c)};
  str_type = llvm::StructType::get(c, {t.p, t.i64});

  begin = Declare(m, "flow_jit_begin", t.v, {t.p, t.p, t.i64});
  begin_run = Declare(m, "flow_jit_begin_run", t.v, {t.p});
  begin_record = Declare(m, "flow_jit_begin_record", t.v, {t.p, t.p, t.i64});
  return_str = Declare(m, "flow_jit_return_str", t.v, {t.p, t.p, t.p, t.i64});
  return_int_text = Declare(m, "flow_jit_return_int_text", t.v, {t.p, t.p, t.i64});
  return_float_text = Declare(m, "flow_jit_return_float_text", t.v, {t.p, t.p, t.f64});
  return_bool = Declare(m, "flow_jit_return_bool", t.v, {t.p, t.i32});
  return_int = Declare(m, "flow_jit_return_int", t.v, {t.p, t.i64});
  return_float = Declare(m, "flow_jit_return_float", t.v, {t.p, t.f64});
  return_error = Declare(m, "flow_jit_return_error", t.v, {t.p, t.p});

  error_text = Declare(m, "flow_jit_error_text", t.v, {t.p, t.i32, t.i32, t.p, t.i64});
  error_negative_field = Declare(m, "flow_jit_error_negative_field", t.v, {t.p, t.i32, t.i32, t.i64});
  error_convert_str = Declare(m, "flow_jit_error_convert_str", t.v, {t.p, t.i32, t.i32, t.p, t.i64, t.i32});
  error_convert_float = Declare(m, "flow_jit_error_convert_float", t.v, {t.p, t.i32, t.i32, t.f64});

  field = Declare(m, "flow_jit_field", str_type, {t.p, t.i64});
  nf = Declare(m, "flow_jit_nf", t.i64, {t.p});
  split = Declare(m, "flow_jit_split", t.v, {t.p, t.i64, t.p});
  nth_field = Declare(m, "flow_jit_nth_field", t.i32,
                      {t.p, t.i32, t.i32, t.p, t.i64, t.i64, t.p, t.i64, t.i32, t.p});

  compare = DeclarePure(m, "flow_jit_compare", t.i32, {t.p, t.i64, t.p, t.i64});
  // Fresh arena memory, which nothing else points to.
  alloc = Declare(m, "flow_jit_alloc", t.p, {t.p, t.i64});
  llvm::cast<llvm::Function>(alloc.getCallee())->addRetAttr(llvm::Attribute::NoAlias);
  upper = Declare(m, "flow_jit_upper", str_type, {t.p, t.p, t.i64});
  lower = Declare(m, "flow_jit_lower", str_type, {t.p, t.p, t.i64});
  trim = Declare(m, "flow_jit_trim", str_type, {t.p, t.i64});
  contains = DeclarePure(m, "flow_jit_contains", t.i32, {t.p, t.i64, t.p, t.i64});
  starts_with = DeclarePure(m, "flow_jit_starts_with", t.i32, {t.p, t.i64, t.p, t.i64});
  ends_with = DeclarePure(m, "flow_jit_ends_with", t.i32, {t.p, t.i64, t.p, t.i64});
  find = DeclarePure(m, "flow_jit_find", t.i64, {t.p, t.i64, t.p, t.i64});
  replace = Declare(m, "flow_jit_replace", str_type, {t.p, t.p, t.i64, t.p, t.i64, t.p, t.i64});
  hash = DeclarePure(m, "flow_jit_hash", t.i64, {t.p, t.i64});

  parse_int = Declare(m, "flow_jit_parse_int", t.i32, {t.p, t.i64, t.p});
  parse_float = Declare(m, "flow_jit_parse_float", t.i32, {t.p, t.i64, t.p});
  int_text = Declare(m, "flow_jit_int_text", str_type, {t.p, t.i64});
  float_text = Declare(m, "flow_jit_float_text", str_type, {t.p, t.f64});

  float_add = DeclareOpaqueMath(m, "flow_jit_float_add", t.f64);
  float_sub = DeclareOpaqueMath(m, "flow_jit_float_sub", t.f64);
  float_mul = DeclareOpaqueMath(m, "flow_jit_float_mul", t.f64);
  float_div = DeclareOpaqueMath(m, "flow_jit_float_div", t.f64);
  float_mod = DeclareOpaqueMath(m, "flow_jit_float_mod", t.f64);

  matches = Declare(m, "flow_jit_matches", t.i32, {t.p, t.i32, t.i32, t.i32, t.p, t.i64, t.p});
  capture = Declare(m, "flow_jit_capture", t.i32, {t.p, t.i32, t.i32, t.i32, t.p, t.i64, t.i64, t.p});

  // The C library's, which LLVM knows: a comparison with a literal of known
  // length becomes a few loads and compares.
  memcmp = Declare(m, "memcmp", t.i32, {t.p, t.p, t.i64});
}

}  // namespace flow
