// The reference interpreter: the semantics of section 5, written for clarity.
// The JIT must agree with it byte for byte.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ast.h"
#include "compiler/source.h"
#include "compiler/value.h"

namespace flow {

// A failure on one record: `int("x")` with no default, a division by zero.
// `loc` is where in the block it happened.
struct RecordError {
  SourceLoc loc;
  std::string message;
};

// Evaluates one checked block against records. Construct it once per stage
// (it compiles the block's regexes once); call Evaluate per record.
class BlockInterpreter {
 public:
  // `fs`: the stage's field separator; "" means awk's default splitting.
  BlockInterpreter(const Block& block, std::string fs);
  ~BlockInterpreter();
  BlockInterpreter(const BlockInterpreter&) = delete;
  BlockInterpreter& operator=(const BlockInterpreter&) = delete;

  // The block's value for `record`, whose number at its source is `nr`; on a
  // record error, nullopt and `*error` set.
  std::optional<Value> Evaluate(std::string_view record, int64_t nr, RecordError* error);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Evaluates a checked expression that reads no record and no block-local
// name: the checker folds `let` constants with it. nullopt and `*error` on
// an error (such as `1 / 0`), which the checker reports as a compile error.
std::optional<Value> EvaluateConstant(const Expr& expr, RecordError* error);

}  // namespace flow
