// How an inline block reaches the runtime: a plain function pointer with a
// fixed C signature, the same whether the JIT compiled the block or the
// reference interpreter runs it. The runtime knows nothing else of blocks.
#pragma once

#include <cstdint>

extern "C" {

// What the stage wants of the block's value; fixed when the block function
// is made, so the block itself writes the text of an int or a float (and
// the JIT and the interpreter write it the same way).
enum FlowBlockWant : int32_t {
  kFlowWantText = 0,    // map, flatmap, distinct, count_by: the value as text
  kFlowWantBool = 1,    // filter
  kFlowWantNumber = 2,  // sum: int_value or float_value, by is_float
};

struct FlowBlockResult {
  int32_t ok;        // 1: a value; 0: a record error, in error/error_len
  int32_t is_float;  // kFlowWantNumber: 1 when the value is float_value
  int64_t int_value;
  double float_value;
  int32_t bool_value;
  // kFlowWantText: the text, valid until the next call of the function.
  const char* text;
  uint64_t text_len;
  // A record error: "examples/etl.flow:9:16: cannot convert 'x' to int",
  // valid until the next call.
  const char* error;
  uint64_t error_len;
};

// Evaluates the block on one record. `state` is the block's own (compiled
// regexes, a field splitter, an arena); one state per worker process.
typedef void (*FlowBlockFn)(void* state, const char* record, uint64_t record_len, int64_t nr,
                            FlowBlockResult* result);
}

namespace flow {

struct BlockFunction {
  FlowBlockFn fn = nullptr;
  void* state = nullptr;

  explicit operator bool() const { return fn != nullptr; }
  void operator()(const char* record, uint64_t len, int64_t nr, FlowBlockResult* result) const {
    fn(state, record, len, nr, result);
  }
};

}  // namespace flow
