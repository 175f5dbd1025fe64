// map and filter on runs (Stage::OnRun) through a compiled block's run
// entry, against the same stages on the interpreter's block (which has no
// run entry and goes record by record): the same outputs, the same counts
// returned, the same record errors, when an emitter stops early too.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "compiler/checker.h"
#include "compiler/compiled_blocks.h"
#include "compiler/interpreted_block.h"
#include "grammar/parser.h"
#include "stdlib/stage_factory.h"
#include "tests/stdlib/stage_test_util.h"

namespace flow {
namespace {

using stagetest::CollectingEmitter;

// Records stored by columns, as a lease hands them to OnRun.
struct Columns {
  explicit Columns(const std::vector<std::string>& records) {
    for (size_t i = 0; i < records.size(); ++i) {
      data += records[i];
      ends.push_back(static_cast<uint32_t>(data.size()));
      nrs.push_back(static_cast<int64_t>(i + 1));
      seqs.push_back(static_cast<int64_t>(i));
    }
  }
  // Records [from, end).
  RecordRun Run(size_t from) const {
    RecordRun run;
    run.data = data.data();
    run.ends = ends.data() + from;
    run.nrs = nrs.data() + from;
    run.seqs = seqs.data() + from;
    run.base = from == 0 ? 0 : ends[from - 1];
    run.count = ends.size() - from;
    return run;
  }
  std::string data;
  std::vector<uint32_t> ends;
  std::vector<int64_t> nrs, seqs;
};

// Everything OnRun said, in order, driven as the worker drives it: a
// failed record is noted and passed over, and the next run starts after it.
std::string Drive(Stage& stage, const Columns& columns, int64_t emit_limit) {
  CollectingEmitter out(emit_limit);
  std::string log;
  for (size_t done = 0; done < columns.ends.size();) {
    StageStatus status;
    const RecordRun run = columns.Run(done);
    const size_t n = stage.OnRun(run, out, &status);
    log += "run of " + std::to_string(run.size()) + ": " + std::to_string(n) + "\n";
    done += n;
    if (n < run.size() && !status.ok()) {
      log += "error: " + status.message + "\n";
      ++done;
    } else if (n < run.size()) {
      break;  // the emitter wanted no more
    }
  }
  for (const auto& record : out.records) log += record.bytes + "/" + std::to_string(record.nr) + "\n";
  return log;
}

// Returns the compiled side's log.
std::string Compare(const std::string& stage_text, const std::string& name, const std::vector<std::string>& records,
             int64_t emit_limit = -1) {
  SourceFile file("t.flow", "lines(\"\") | " + stage_text + " | discard");
  DiagnosticSink sink(&file);
  Program program = ParseProgram(file, sink);
  CheckOptions options;
  options.getenv = [](const std::string&) { return std::optional<std::string>(); };
  std::optional<StageGraph> graph = CheckProgram(program, options, sink);
  INFO(sink.Render());
  REQUIRE(graph.has_value());
  const StageNode* node = nullptr;
  for (const StageNode& n : graph->nodes)
    if (n.name == name) node = &n;
  REQUIRE(node != nullptr);
  auto fs = node->args.find("fs");
  const std::string separator = fs == node->args.end() ? "" : fs->second.as_str();

  CompiledBlocks compiled;
  InterpretedBlocks interpreted;
  StageContext jit_context, reference_context;
  jit_context.node = reference_context.node = node;
  jit_context.block = compiled.Make(*node->block, separator, StageBlockWant(*node), file);
  reference_context.block = interpreted.Make(*node->block, separator, StageBlockWant(*node), file);
  std::string error;
  REQUIRE_MESSAGE(compiled.Finalize(&error), error);
  REQUIRE(compiled.interpreted_count() == 0);
  // The compiled block has a run entry (the stage takes it), the interpreted one none.
  const uint32_t no_ends[1] = {0};
  const int64_t no_nrs[1] = {0};
  FlowRunValue no_values[1];
  FlowBlockResult no_error{};
  CHECK(jit_context.block.run(jit_context.block.state, "", no_ends, 0, no_nrs, 0, no_values, &no_error) == 0);
  CHECK(!reference_context.block.run);
  std::unique_ptr<Stage> jit = MakeStage(jit_context, &error);
  std::unique_ptr<Stage> reference = MakeStage(reference_context, &error);
  REQUIRE(jit != nullptr);
  REQUIRE(reference != nullptr);

  const Columns columns(records);
  const std::string log = Drive(*jit, columns, emit_limit);
  CHECK(log == Drive(*reference, columns, emit_limit));
  return log;
}

std::vector<std::string> Numbered(size_t count, const std::string& every_seventh) {
  std::vector<std::string> records;
  for (size_t i = 0; i < count; ++i)
    records.push_back(i % 7 == 6 ? every_seventh : std::to_string(i) + " f" + std::to_string(i % 3));
  return records;
}

}  // namespace

TEST_SUITE("stages") {
  TEST_CASE("map and filter on runs: a compiled block's run entry gives what the interpreter gives") {
    const std::string binary("a\0b\xff c", 6);
    for (size_t count : {0, 1, 63, 64, 65, 200}) {
      CAPTURE(count);
      const std::vector<std::string> records = Numbered(count, binary);
      Compare("map { $0 }", "map", records);
      Compare("map { $2 + \"|\" + $1 }", "map", records);
      Compare("map { NR * 3 }", "map", records);
      Compare("map { len($0) > 3 }", "map", records);
      Compare("map { upper($0) + str(NF) }", "map", records);
      Compare("filter { true }", "filter", records);
      Compare("filter { NR % 3 == 0 || $2 == \"f1\" }", "filter", records);
      // Record errors in the middle of runs.
      const std::string errors = Compare("map { str(int($1) * 2) }", "map", records);
      CHECK((count < 7 || errors.find("error: t.flow:1:23: cannot convert 'a") != std::string::npos));
      Compare("filter { int($1) % 2 == 0 }", "filter", records);
      // An emitter that stops wanting records part of the way.
      const std::string stopped = Compare("map { $1 }", "map", records, 70);
      CHECK((count < 70 || stopped.find("run of " + std::to_string(count) + ": 70\n") != std::string::npos));
      Compare("filter { NR % 2 == 0 }", "filter", records, 40);
    }
  }
}

}  // namespace flow
