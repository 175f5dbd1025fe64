// The runtime support of JIT-compiled blocks: the state a compiled block
// function gets, and the `extern "C"` functions its code calls for whatever
// is not worth writing in IR (field splitting, conversions, regexes, text).
//
// Each support function calls the same code the reference interpreter calls
// (fields.h, text_functions.h, regex.h, FormatFloat), so the two agree byte
// for byte by construction. The code generator (codegen_runtime.cc) declares
// these functions in IR with matching types; the JIT binds the names to the
// addresses listed by RuntimeSymbols().
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/arena.h"
#include "compiler/block_function.h"
#include "compiler/fields.h"
#include "compiler/regex.h"

namespace flow {

// What a compiled block function's `state` argument points to: one per block
// (and, after fork, one copy per worker process).
struct JitBlockState {
  JitBlockState(std::string error_path, std::string_view field_separator)
      : path(std::move(error_path)), fs(field_separator), fields(field_separator) {}

  std::string path;  // the program's file, the first part of a record error
  std::string fs;    // "" = awk's default splitting
  // For NF and $(i); constant fields go through flow_jit_split.
  FieldSplitter fields;
  Arena arena;
  // The record being evaluated: a result that points into it is copied to
  // the arena, since the ABI keeps result text valid until the next call.
  const char* record = nullptr;
  uint64_t record_len = 0;
  // The regexes of the block's matches/capture calls, in the order the code
  // generator numbered them.
  std::vector<std::unique_ptr<Regex>> regexes;
  // The last record error, "file:line:col: message".
  std::string error;
};

struct RuntimeSymbol {
  const char* name;
  uintptr_t address;
};
// Every function that generated code may call, support functions and the C
// library functions LLVM may emit calls to (memcmp, bcmp, memcpy, ...).
std::span<const RuntimeSymbol> RuntimeSymbols();

}  // namespace flow

extern "C" {

// A str value: a view into the record, a literal of the module, or the arena.
// The functions that make one return it by value, in two registers (the
// IR declares them returning { ptr, i64 }, which LLVM returns as the C ABI
// does): through an out-parameter, the generated code read it back with
// one 16-byte load from two 8-byte stores, which the CPU cannot forward
// (a stall of a dozen cycles per call in a map { upper($0) }).
struct FlowStr {
  const char* data;
  uint64_t len;
};

using FlowJitState = flow::JitBlockState;

// Per record, before anything else.
void flow_jit_begin(FlowJitState* s, const char* record, uint64_t len);
// A run entry (FlowBlockRunFn): once per run, before its first record (the
// arena is reset per run, so every value of the run stays valid until the
// run's values are used); then per record, only when the block reads
// fields, the record for the field functions.
void flow_jit_begin_run(FlowJitState* s);
void flow_jit_begin_record(FlowJitState* s, const char* record, uint64_t len);

// Results: each writes the whole FlowBlockResult.
void flow_jit_return_str(FlowJitState* s, FlowBlockResult* r, const char* p, uint64_t n);
void flow_jit_return_int_text(FlowJitState* s, FlowBlockResult* r, int64_t v);
void flow_jit_return_float_text(FlowJitState* s, FlowBlockResult* r, double v);
void flow_jit_return_bool(FlowBlockResult* r, int32_t v);
void flow_jit_return_int(FlowBlockResult* r, int64_t v);
void flow_jit_return_float(FlowBlockResult* r, double v);
void flow_jit_return_error(FlowJitState* s, FlowBlockResult* r);

// Record errors: each sets s->error; the caller then returns the error.
void flow_jit_error_text(FlowJitState* s, uint32_t line, uint32_t col, const char* msg, uint64_t n);
void flow_jit_error_negative_field(FlowJitState* s, uint32_t line, uint32_t col, int64_t index);
void flow_jit_error_convert_str(FlowJitState* s, uint32_t line, uint32_t col, const char* p, uint64_t n,
                                int32_t to_float);
void flow_jit_error_convert_float(FlowJitState* s, uint32_t line, uint32_t col, double v);

// Fields: `i` >= 1 (the code handles $0 and negative indexes itself).
FlowStr flow_jit_field(FlowJitState* s, int64_t i);
// Fields 1..k of the record into fields[1..k] in one pass ("" past NF), for
// a block whose highest constant field is $k: one call per record instead
// of one per field read.
void flow_jit_split(FlowJitState* s, int64_t k, FlowStr* fields);
int64_t flow_jit_nf(FlowJitState* s);
// field(s, i[, sep]): 0 and s->error set on a negative `i` or an empty `sep`.
int32_t flow_jit_nth_field(FlowJitState* s, uint32_t line, uint32_t col, const char* p, uint64_t n, int64_t i,
                           const char* sep, uint64_t sep_len, int32_t has_sep, FlowStr* out);

// Text.
int32_t flow_jit_compare(const char* a, uint64_t an, const char* b, uint64_t bn);
// n bytes in the arena, valid until the run's (or record's) end. (`a + b`
// and substr are code, codegen_str.cc: they allocate here and copy.)
char* flow_jit_alloc(FlowJitState* s, uint64_t n);
FlowStr flow_jit_upper(FlowJitState* s, const char* p, uint64_t n);
FlowStr flow_jit_lower(FlowJitState* s, const char* p, uint64_t n);
FlowStr flow_jit_trim(const char* p, uint64_t n);
int32_t flow_jit_contains(const char* p, uint64_t n, const char* t, uint64_t tn);
int32_t flow_jit_starts_with(const char* p, uint64_t n, const char* t, uint64_t tn);
int32_t flow_jit_ends_with(const char* p, uint64_t n, const char* t, uint64_t tn);
int64_t flow_jit_find(const char* p, uint64_t n, const char* t, uint64_t tn);
FlowStr flow_jit_replace(FlowJitState* s, const char* p, uint64_t n, const char* from, uint64_t from_len,
                         const char* to, uint64_t to_len);
int64_t flow_jit_hash(const char* p, uint64_t n);

// Conversions: 1 and *out on success, 0 when the text is not a number.
int32_t flow_jit_parse_int(const char* p, uint64_t n, int64_t* out);
int32_t flow_jit_parse_float(const char* p, uint64_t n, double* out);
FlowStr flow_jit_int_text(FlowJitState* s, int64_t v);
FlowStr flow_jit_float_text(FlowJitState* s, double v);

// Float arithmetic, compiled as the interpreter's is (see EmitFloatArithmetic).
double flow_jit_float_add(double a, double b);
double flow_jit_float_sub(double a, double b);
double flow_jit_float_mul(double a, double b);
double flow_jit_float_div(double a, double b);
double flow_jit_float_mod(double a, double b);

// Regexes, by their number in s->regexes: 0 and s->error set on a PCRE2
// run-time failure (or, for capture, a group outside the regex).
int32_t flow_jit_matches(FlowJitState* s, uint32_t line, uint32_t col, int32_t regex, const char* p, uint64_t n,
                         int32_t* out);
int32_t flow_jit_capture(FlowJitState* s, uint32_t line, uint32_t col, int32_t regex, const char* p, uint64_t n,
                         int64_t group, FlowStr* out);
}
