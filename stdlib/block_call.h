// Calling a stage's block on a record, for the stages that have one.
#pragma once

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
