// Code for the str expressions that only rearrange bytes: `a + b` and
// substr(s, m[, n]) (docs/language.md "Functions"). Such a value is kept
// as the list of pieces it is made of, each a (pointer, length) into a
// record, a literal or the arena, until something needs its bytes in one
// place: `substr("0000000000" + $0, len($0) + 1) + substr(t, 1, k)` is then
// one arena allocation and three copies, where joining at every `+` made two
// allocations and four copies, and substr is arithmetic on the pieces
// instead of a call. Joining has no errors and no other effect, so the
// order of evaluation and the first error are the interpreter's.
#include "compiler/block_codegen.h"

#include <limits>

namespace flow {
namespace {

bool IsStrJoin(const Expr& e) {
  return e.kind == ExprKind::kBinary && e.op == Op::kAdd && e.children.size() == 2 &&
         e.children[0]->type == Type::kStr && e.children[1]->type == Type::kStr;
}

bool IsSubstr(const Expr& e) {
  return e.kind == ExprKind::kCall && e.function == BuiltinFunction::kSubstr &&
         (e.children.size() == 2 || e.children.size() == 3) && e.children[0]->type == Type::kStr;
}

}  // namespace

bool BlockCodegen::IsStrPieces(const Expr& e) { return IsStrJoin(e) || IsSubstr(e); }

void BlockCodegen::EmitStrPieces(const Expr& e, StrPieces* pieces) {
  if (IsStrJoin(e)) {
    EmitStrPieces(*e.children[0], pieces);
    EmitStrPieces(*e.children[1], pieces);
    return;
  }
  if (!IsSubstr(e)) {
    pieces->push_back(EmitExpr(e));
    return;
  }
  // substr: its string's pieces, then the arguments, as the interpreter
  // evaluates them.
  StrPieces from;
  EmitStrPieces(*e.children[0], &from);
  llvm::Value* m = EmitExpr(*e.children[1]).v;
  llvm::Value* n = e.children.size() == 3 ? EmitExpr(*e.children[2]).v : nullptr;
  EmitSubstrPieces(from, m, n, pieces);
}

// Substr (text_functions.cc) on the whole, without branches: the bytes
// [start, stop) of the joined string (0-based; both 0 for ""), then each
// piece's share of them.
void BlockCodegen::EmitSubstrPieces(const StrPieces& from, llvm::Value* m, llvm::Value* n, StrPieces* out) {
  auto smax = [&](llvm::Value* a, llvm::Value* b) {
    return builder_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, a, b);
  };
  auto smin = [&](llvm::Value* a, llvm::Value* b) {
    return builder_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, a, b);
  };
  llvm::Value* int_max = I64(std::numeric_limits<int64_t>::max());
  llvm::Value* total = I64(0);
  for (const IrValue& piece : from) total = builder_.CreateAdd(total, piece.len);
  llvm::Value* begin = smax(m, I64(1));
  llvm::Value* end = int_max;
  llvm::Value* empty = builder_.getFalse();
  if (n != nullptr) {
    // m + n, saturated: only a positive m can overflow with a positive n
    // (the add wraps, and a wrapped sum is never selected).
    llvm::Value* overflows = builder_.CreateAnd(builder_.CreateICmpSGT(m, I64(0)),
                                                builder_.CreateICmpSGT(n, builder_.CreateSub(int_max, m)));
    end = builder_.CreateSelect(overflows, int_max, builder_.CreateAdd(m, n));
    empty = builder_.CreateICmpSLE(n, I64(0));
  }
  // A string's length is below 2^63, so total + 1 does not overflow.
  end = smin(end, builder_.CreateAdd(total, I64(1)));
  empty = builder_.CreateOr(empty, builder_.CreateICmpSLE(end, begin));
  llvm::Value* start = builder_.CreateSelect(empty, I64(0), builder_.CreateSub(begin, I64(1)));
  llvm::Value* stop = builder_.CreateSelect(empty, I64(0), builder_.CreateSub(end, I64(1)));
  llvm::Value* offset = I64(0);
  for (const IrValue& piece : from) {
    // This piece holds bytes [offset, offset + len) of the whole.
    llvm::Value* lo = smin(smax(builder_.CreateSub(start, offset), I64(0)), piece.len);
    llvm::Value* hi = smin(smax(builder_.CreateSub(stop, offset), I64(0)), piece.len);
    // No `inbounds`: a piece of length 0 may have a null pointer.
    out->push_back(IrValue{builder_.CreateGEP(builder_.getInt8Ty(), piece.v, lo), builder_.CreateSub(hi, lo)});
    offset = builder_.CreateAdd(offset, piece.len);
  }
}

IrValue BlockCodegen::EmitStrJoined(const Expr& e) {
  StrPieces pieces;
  EmitStrPieces(e, &pieces);
  return Join(pieces);
}

llvm::Value* BlockCodegen::EmitStrLength(const Expr& e) {
  StrPieces pieces;
  EmitStrPieces(e, &pieces);
  llvm::Value* total = I64(0);
  for (const IrValue& piece : pieces) total = builder_.CreateAdd(total, piece.len);
  return total;
}

}  // namespace flow
