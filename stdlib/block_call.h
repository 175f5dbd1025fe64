// Calling a stage's block on a record, for the stages that have one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "compiler/block_function.h"
#include "runtime/queue.h"
#include "runtime/stage.h"

namespace flow {

// Runs `block` on `record` into `*result`; true when it gave a value.
inline bool CallBlock(const BlockFunction& block, const RecordView& record, FlowBlockResult* result) {
  block(record.bytes.data(), record.bytes.size(), record.nr, result);
  return result->ok != 0;
}

// Records per call of a block's run entry (a stage's values array).
inline constexpr size_t kBlockRunRecords = 64;

// Evaluates records [at, at + n) of `run` (n <= kBlockRunRecords) with the
// block's run entry, value k into values[k]; how many it evaluated (n, or
// k when record at + k failed, its error in *error), or kFlowNoRun when
// the block has no run entry (the stage then calls it per record).
inline uint64_t CallBlockRun(const BlockFunction& block, const RecordRun& run, size_t at, size_t n,
                             FlowRunValue* values, FlowBlockResult* error) {
  if (block.run == nullptr) return kFlowNoRun;
  return block.run(block.state, run.data, run.ends + at, run.begin(at), run.nrs + at, n, values, error);
}

// The block's text (kFlowWantText): valid until the block's next call.
inline std::string_view BlockText(const FlowBlockResult& result) {
  return {result.text, static_cast<size_t>(result.text_len)};
}

// A failed call as the record error the worker applies [on_error] to; the
// block's message already names the program, line and column.
inline StageStatus BlockRecordError(const FlowBlockResult& result) {
  return StageStatus::RecordError(std::string(result.error, static_cast<size_t>(result.error_len)));
}

}  // namespace flow
