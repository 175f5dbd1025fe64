// The OnRun of a stage that makes at most one output per record from its
// block's value (map, filter): the block's run entry on kBlockRunRecords
// records a call, their outputs emitted with one EmitEachOf; a call per
// record when the block has no run entry (the interpreter's). A template,
// so that each stage's choice of output inlines into the loop: these are the
// hottest loops of a run of cheap stages.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "stdlib/block_call.h"

namespace flow {

// BlockStageOnRun's way for a block without a run entry: a call per record
// from record `from` on.
template <class OfResult>
size_t BlockStageByRecord(const BlockFunction& block, FlowBlockResult* result, const RecordRun& run, size_t from,
                          Emitter& out, StageStatus* status, OfResult of_result) {
  for (size_t i = from; i < run.size(); ++i) {
    const std::string_view bytes = run.bytes(i);
    block(bytes.data(), bytes.size(), run.nrs[i], result);
    if (result->ok == 0) [[unlikely]] {
      *status = BlockRecordError(*result);
      return i;
    }
    std::string_view output;
    if (of_result(*result, bytes, &output) && !out.EmitOf(i, output, run.nrs[i])) return i + 1;
  }
  return run.size();
}

// Goes through `run` as OnRun does (runtime/stage.h); `*result` is the
// stage's block result. Whether a record makes an output, and which (into
// *output), the stage says with of_value(const FlowRunValue&, record bytes,
// std::string_view* output) from the run entry's value of the record, and
// with of_result(const FlowBlockResult&, record bytes, output) from a
// per-record call. An of_value that returns std::true_type says that every
// record makes an output (map).
template <class OfValue, class OfResult>
size_t BlockStageOnRun(const BlockFunction& block, FlowBlockResult* result, const RecordRun& run, Emitter& out,
                       StageStatus* status, OfValue of_value, OfResult of_result) {
  constexpr bool kEveryRecord =
      std::is_same_v<std::invoke_result_t<OfValue, const FlowRunValue&, std::string_view, std::string_view*>,
                     std::true_type>;
  FlowRunValue values[kBlockRunRecords];
  for (size_t at = 0; at < run.size();) {
    const size_t n = std::min(run.size() - at, kBlockRunRecords);
    const uint64_t done = CallBlockRun(block, run, at, n, values, result);
    if (done == kFlowNoRun) return BlockStageByRecord(block, result, run, at, out, status, of_result);
    // The outputs of the records evaluated, emitted in one call; `count`
    // grows only for a record that makes one (no branch). When every record
    // makes one, their NRs are the run's own: no copy.
    uint32_t which[kBlockRunRecords];
    std::string_view outputs[kBlockRunRecords];
    int64_t kept_nrs[kBlockRunRecords];
    size_t count = 0;
    for (size_t k = 0; k < done; ++k) {
      which[count] = static_cast<uint32_t>(at + k);
      if constexpr (!kEveryRecord) kept_nrs[count] = run.nrs[at + k];
      const bool makes = of_value(values[k], run.bytes(at + k), &outputs[count]);
      count += makes;
    }
    const int64_t* nrs = kEveryRecord ? run.nrs + at : kept_nrs;
    const size_t emitted = out.EmitEachOf(which, outputs, nrs, count);
    // Stopped after output emitted - 1 (>= 0): its record is the last done.
    if (emitted < count) return which[emitted - 1] + size_t{1};
    if (done < n) {
      *status = BlockRecordError(*result);
      return at + done;
    }
    at += n;
  }
  return run.size();
}

}  // namespace flow
