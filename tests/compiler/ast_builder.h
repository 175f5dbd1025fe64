// Builds checked (typed, resolved) expression trees for tests that must not
// depend on the parser or the checker: `Bin(Op::kAdd, Int(1), Int(2), Type::kInt)`.
// Every node gets a distinct location (line 1, column = a counter) unless one
// is given with `At`, so a test can tell which node an error points at.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "compiler/ast.h"

namespace flow::test {

inline SourceLoc NextLoc() {
  static uint32_t column = 0;
  ++column;
  return SourceLoc{column, 1, column};
}

inline ExprPtr Node(ExprKind kind, Type type) {
  auto e = std::make_unique<Expr>(kind, NextLoc());
  e->type = type;
  return e;
}

inline ExprPtr At(SourceLoc loc, ExprPtr e) {
  e->loc = loc;
  return e;
}

inline ExprPtr Int(int64_t v) {
  ExprPtr e = Node(ExprKind::kIntLit, Type::kInt);
  e->int_value = v;
  return e;
}

inline ExprPtr Float(double v) {
  ExprPtr e = Node(ExprKind::kFloatLit, Type::kFloat);
  e->float_value = v;
  return e;
}

inline ExprPtr Str(std::string v) {
  ExprPtr e = Node(ExprKind::kStrLit, Type::kStr);
  e->text = std::move(v);
  return e;
}

inline ExprPtr Bool(bool v) {
  ExprPtr e = Node(ExprKind::kBoolLit, Type::kBool);
  e->bool_value = v;
  return e;
}

// $N
inline ExprPtr Field(int64_t n) {
  ExprPtr e = Node(ExprKind::kField, Type::kStr);
  e->int_value = n;
  return e;
}

// $(index)
inline ExprPtr FieldAt(ExprPtr index) {
  ExprPtr e = Node(ExprKind::kFieldExpr, Type::kStr);
  e->children.push_back(std::move(index));
  return e;
}

inline ExprPtr NF() { return Node(ExprKind::kNF, Type::kInt); }
inline ExprPtr NR() { return Node(ExprKind::kNR, Type::kInt); }

// A block-local `let`, by its index in Block::lets.
inline ExprPtr Local(int slot, Type type, std::string name = "x") {
  ExprPtr e = Node(ExprKind::kName, type);
  e->local_slot = slot;
  e->text = std::move(name);
  return e;
}

inline ExprPtr Un(Op op, ExprPtr operand, Type type) {
  ExprPtr e = Node(ExprKind::kUnary, type);
  e->op = op;
  e->children.push_back(std::move(operand));
  return e;
}

inline ExprPtr Bin(Op op, ExprPtr left, ExprPtr right, Type type) {
  ExprPtr e = Node(ExprKind::kBinary, type);
  e->op = op;
  e->children.push_back(std::move(left));
  e->children.push_back(std::move(right));
  return e;
}

inline ExprPtr Cond(ExprPtr c, ExprPtr a, ExprPtr b, Type type) {
  ExprPtr e = Node(ExprKind::kConditional, type);
  e->children.push_back(std::move(c));
  e->children.push_back(std::move(a));
  e->children.push_back(std::move(b));
  return e;
}

template <class... Args>
ExprPtr Call(BuiltinFunction f, Type type, Args... args) {
  ExprPtr e = Node(ExprKind::kCall, type);
  e->function = f;
  e->text = BuiltinFunctionName(f);
  (e->children.push_back(std::move(args)), ...);
  return e;
}

// `{ result }`; lets are added in order with AddLet.
inline std::unique_ptr<Block> MakeBlock(ExprPtr result) {
  auto block = std::make_unique<Block>();
  block->result = std::move(result);
  return block;
}

// Appends `let name = value;`; returns its slot for Local().
inline int AddLet(Block& block, std::string name, ExprPtr value) {
  SourceLoc loc = value->loc;
  block.lets.push_back({loc, std::move(name), std::move(value)});
  return static_cast<int>(block.lets.size()) - 1;
}

}  // namespace flow::test
