// The syntax tree of a .flow program. Every node carries its source location.
//
// The parser (grammar/) builds it; the checker (compiler/checker) annotates
// expressions with their types and resolves names in place; the stage-graph
// builder, the interpreter and the code generator read it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "compiler/functions.h"
#include "compiler/source.h"
#include "compiler/value.h"

namespace flow {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;
struct Pipeline;
using PipelinePtr = std::unique_ptr<Pipeline>;

enum class ExprKind : uint8_t {
  kIntLit,       // int_value
  kFloatLit,     // float_value
  kStrLit,       // text (escapes already decoded)
  kBoolLit,      // bool_value
  kDurationLit,  // int_value = nanoseconds
  kSizeLit,      // int_value = bytes
  kField,        // $N: int_value = N (0 is the whole record, as is `_`)
  kFieldExpr,    // $(expr): children[0] = the index
  kNF,
  kNR,
  kName,         // text = the name; after checking, see `local_slot`
  kUnary,        // op, children[0]
  kBinary,       // op, children[0] op children[1]
  kConditional,  // children[0] ? children[1] : children[2]
  kCall,         // text = function name, children = arguments
};

enum class Op : uint8_t {
  kNone,
  kNeg, kNot,                       // unary - !
  kMul, kDiv, kMod,                 // * / %
  kAdd, kSub,                       // + -
  kLess, kLessEq, kGreater, kGreaterEq,
  kEq, kNotEq,
  kAnd, kOr,
};

// The operator as written in source ("+", "<=", "!"), for diagnostics.
const char* OpSpelling(Op op);

struct Expr {
  ExprKind kind;
  SourceLoc loc;
  Op op = Op::kNone;
  int64_t int_value = 0;
  double float_value = 0;
  bool bool_value = false;
  std::string text;
  std::vector<ExprPtr> children;

  // Set by the checker.
  Type type = Type::kUnknown;
  // kName resolved to a block-local `let`: its index in Block::lets.
  // (Names of global constants and stage parameters are replaced by their
  // folded literal during checking, so a checked block holds no other names.)
  int local_slot = -1;
  // kCall: the function, resolved from `text`.
  BuiltinFunction function = BuiltinFunction::kNone;

  Expr(ExprKind k, SourceLoc l) : kind(k), loc(l) {}
};

// A deep copy (defined stages are instantiated once per use).
ExprPtr CloneExpr(const Expr& e);

// `let NAME = expr ;` inside a block.
struct BlockLet {
  SourceLoc loc;
  std::string name;
  ExprPtr value;
};

// `{ let a = ...; let b = ...; result }`
struct Block {
  SourceLoc loc;  // the '{'
  std::vector<BlockLet> lets;
  ExprPtr result;
};
std::unique_ptr<Block> CloneBlock(const Block& b);

// One argument of a stage call: `expr`, `name = expr`, or a whole pipeline
// (the arguments of `tee(...)` and `merge(...)`). The parser makes an
// argument a pipeline only when it cannot be read as an expression (it has a
// `|`, a block, a `*` count or options); the checker turns a plain call or
// name into a one-stage pipeline where the parameter wants one.
struct Arg {
  SourceLoc loc;
  std::string name;  // "" for a positional argument
  ExprPtr value;     // exactly one of value and pipeline is set
  PipelinePtr pipeline;
};

enum class ReplicaKind : uint8_t { kNone, kLiteral, kName, kAuto };

// `* 12`, `* workers`, `* auto` after a stage.
struct Replicas {
  ReplicaKind kind = ReplicaKind::kNone;
  SourceLoc loc;
  int64_t count = 1;  // kLiteral: as written, possibly 0 or negative (the checker refuses those)
  std::string name;   // kName
};

// `[ordered, retries = 2, timeout = 5s, on_error = skip]`
struct Option {
  SourceLoc loc;
  std::string name;
  ExprPtr value;  // null for a bare flag such as `ordered`
};

// One stage of a pipeline: `name(args) { block } * count [options]`.
struct StageCall {
  SourceLoc loc;
  std::string name;
  bool has_parens = false;
  std::vector<Arg> args;
  std::unique_ptr<Block> block;
  Replicas replicas;
  std::vector<Option> options;
};

struct Pipeline {
  SourceLoc loc;
  std::vector<StageCall> stages;
};
PipelinePtr ClonePipeline(const Pipeline& p);

// `let NAME = expr`
struct LetDef {
  SourceLoc loc;
  std::string name;
  ExprPtr value;
};

struct StageParam {
  SourceLoc loc;
  std::string name;
};

// `stage NAME(params) = pipeline`
struct StageDef {
  SourceLoc loc;
  std::string name;
  std::vector<StageParam> params;
  Pipeline body;
};

using Statement = std::variant<LetDef, StageDef, Pipeline>;

struct Program {
  std::vector<Statement> statements;
};

}  // namespace flow
