// The standard library's stages, one file each (stdlib/*_stage.cc). The
// factory (stage_factory.cc) reads a node's arguments and calls these; tests
// call them directly. Each takes its arguments already typed, so a stage
// knows nothing of the stage graph.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "compiler/block_function.h"
#include "runtime/stage.h"

namespace flow {

// Sources. `stop_requested` (may be null) turns true on SIGINT/SIGTERM; a
// source checks it often and then returns, as when Emit returns false.
std::unique_ptr<Stage> MakeReadStage(std::string path, std::string sep, const std::atomic<bool>* stop_requested);
std::unique_ptr<Stage> MakeSeqStage(int64_t from, int64_t to, const std::atomic<bool>* stop_requested);
std::unique_ptr<Stage> MakeLinesStage(std::string text);
// merge(p1, p2, ...): the worker loop feeds it every input queue's records.
std::unique_ptr<Stage> MakeMergeStage();

// Transforms. A BlockFunction must have been made with the want its stage
// needs (StageBlockWant in stage_factory.h).
std::unique_ptr<Stage> MakeMapStage(BlockFunction block);
std::unique_ptr<Stage> MakeFilterStage(BlockFunction block);
std::unique_ptr<Stage> MakeFlatmapStage(BlockFunction block);
// `block` may be empty: the key is then the whole record.
std::unique_ptr<Stage> MakeDistinctStage(BlockFunction block);
std::unique_ptr<Stage> MakeHeadStage(int64_t n);
std::unique_ptr<Stage> MakeTailStage(int64_t n);

struct SortSpec {
  int64_t key = 0;  // 0: the whole record; else field `key`, split awk-style
  bool numeric = false;
  bool reverse = false;
  int64_t memory_bytes = 256 << 20;  // held records beyond this spill to temp_dir
  std::string temp_dir = "/tmp";
};
std::unique_ptr<Stage> MakeSortStage(SortSpec spec);

std::unique_ptr<Stage> MakeCountStage();
std::unique_ptr<Stage> MakeCountByStage(BlockFunction block);
std::unique_ptr<Stage> MakeSumStage(BlockFunction block);
std::unique_ptr<Stage> MakeSleepStage(int64_t nanoseconds);
// tee(p): the worker loop gives its Emitter both output queues.
std::unique_ptr<Stage> MakeTeeStage();

// The seeds' workloads.
// sha512(rounds): emits `record\thex`, the digest chained `rounds` times.
std::unique_ptr<Stage> MakeSha512Stage(int64_t rounds);
// exec(cmd): `cmd` run once per record, `{}` the record shell-quoted, `{1}`..
// its fields (awk-style split); stdout lines are records, stderr goes to the
// worker's log. Null and `*error` set when the template is unusable.
std::unique_ptr<Stage> MakeExecStage(std::string command_template, std::string* error);
// sh(cmd): one long-lived `/bin/sh -c cmd` per instance, records on its
// stdin, its stdout lines emitted as records.
std::unique_ptr<Stage> MakeShStage(std::string command, std::string* error);
struct WhoisSpec {
  std::string server;               // "host:port"
  std::vector<std::string> fields;  // keys to emit, in order (empty: none)
  int64_t timeout_ns = 0;           // connect and read timeout; 0: a default
};
std::unique_ptr<Stage> MakeWhoisStage(WhoisSpec spec, std::string* error);

// Sinks. `target` is the path the user wrote ("-": stdout), named in
// errors; a file is written to `temp_path`, created here (null and `*error`
// set when it cannot be).
std::unique_ptr<Stage> MakeWriteStage(const std::string& target, const std::string& temp_path, std::string sep,
                                      std::string* error);
std::unique_ptr<Stage> MakeDiscardStage();
// report(path, format, header): tab-separated records as a tsv, csv, json
// or markdown table, written like write() (temp file, renamed on success).
struct ReportSpec {
  std::string target;     // the path the user wrote ("-": stdout)
  std::string temp_path;  // where a file target is written first
  std::string format;     // "tsv", "csv", "json" or "markdown"
  bool header = false;    // the first record names the columns
};
std::unique_ptr<Stage> MakeReportStage(ReportSpec spec, std::string* error);

}  // namespace flow
