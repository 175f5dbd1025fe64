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

// One record's value from a FlowBlockRunFn. kFlowWantText: the text, which
// may point into the run's own records (they outlive the values) or into
// the block's memory (valid until the next call of either function).
// kFlowWantBool: `text` null and `len` 1 or 0.
struct FlowRunValue {
  const char* text;
  uint64_t len;
};

// Evaluates the block on records [0, count) of a run stored by columns
// (record i is data[begin(i), ends[i]), begin(0) = base, begin(i) =
// ends[i - 1]; its NR is nrs[i]), record i's value into values[i]: a loop
// in generated code, with none of the per-record calls and copies of a
// FlowBlockFn call. Returns how many records it evaluated: `count`, or i
// when record i failed, its record error then in *error (as a FlowBlockFn
// returns it). kFlowNoRun: the block has no run entry (the interpreter's,
// or a want other than text and bool); call the FlowBlockFn per record.
typedef uint64_t (*FlowBlockRunFn)(void* state, const char* data, const uint32_t* ends, uint32_t base,
                                   const int64_t* nrs, uint64_t count, FlowRunValue* values, FlowBlockResult* error);
constexpr uint64_t kFlowNoRun = ~uint64_t{0};
}

namespace flow {

struct BlockFunction {
  FlowBlockFn fn = nullptr;
  void* state = nullptr;
  FlowBlockRunFn run = nullptr;  // null: none (as kFlowNoRun)

  explicit operator bool() const { return fn != nullptr; }
  void operator()(const char* record, uint64_t len, int64_t nr, FlowBlockResult* result) const {
    fn(state, record, len, nr, result);
  }
};

}  // namespace flow
