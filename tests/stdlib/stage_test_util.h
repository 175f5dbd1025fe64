// Runs standard-library stages without processes or queues: a fake Emitter
// collects what a stage emits, and stages with blocks are made from real
// program text through the front end (parser, checker, interpreter) and the
// real factory, as the worker makes them.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/checker.h"
#include "compiler/interpreted_block.h"
#include "grammar/parser.h"
#include "stdlib/stage_factory.h"

namespace flow::stagetest {

struct Emitted {
  std::string bytes;
  int64_t nr = 0;
  bool operator==(const Emitted&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const Emitted& e) { return os << "{\"" << e.bytes << "\", " << e.nr << "}"; }

// Collects records; after `limit` of them (when >= 0) Emit returns false,
// as when downstream needs no more.
class CollectingEmitter : public Emitter {
 public:
  explicit CollectingEmitter(int64_t limit = -1) : limit_(limit) {}

  bool Emit(std::string_view bytes, int64_t nr) override {
    records.push_back({std::string(bytes), nr});
    return limit_ < 0 || static_cast<int64_t>(records.size()) < limit_;
  }

  std::vector<std::string> Texts() const {
    std::vector<std::string> texts;
    for (const Emitted& e : records) texts.push_back(e.bytes);
    return texts;
  }
  std::vector<int64_t> Nrs() const {
    std::vector<int64_t> nrs;
    for (const Emitted& e : records) nrs.push_back(e.nr);
    return nrs;
  }

  std::vector<Emitted> records;

 private:
  int64_t limit_;
};

// What feeding records through a transform or sink gave.
struct Outcome {
  std::vector<Emitted> records;
  std::vector<std::string> record_errors;  // in order; the run went on past them
  std::string fatal;                       // the first Fatal message, "" if none
  int64_t fed = 0;                         // records given to OnRecord

  std::vector<std::string> Texts() const {
    std::vector<std::string> texts;
    for (const Emitted& e : records) texts.push_back(e.bytes);
    return texts;
  }
};

// Feeds `inputs` (NR 1, 2, ...) as the worker would: stops at a Fatal or
// once the stage is Satisfied, then calls Finish. Record errors are
// collected and skipped, as [on_error = skip] does.
inline Outcome Feed(Stage& stage, const std::vector<std::string>& inputs) {
  Outcome outcome;
  CollectingEmitter out;
  auto note = [&](const StageStatus& status) {
    if (status.kind == StageStatus::Kind::kRecordError) outcome.record_errors.push_back(status.message);
    if (status.kind == StageStatus::Kind::kFatal && outcome.fatal.empty()) outcome.fatal = status.message;
  };
  for (size_t i = 0; i < inputs.size() && !stage.Satisfied() && outcome.fatal.empty(); ++i) {
    ++outcome.fed;
    note(stage.OnRecord(RecordView{inputs[i], static_cast<int64_t>(i + 1), static_cast<int64_t>(i)}, out));
  }
  if (outcome.fatal.empty()) note(stage.Finish(out));
  outcome.records = std::move(out.records);
  return outcome;
}

// Runs a source's Produce and Finish.
inline Outcome Produce(Stage& stage, int64_t limit = -1) {
  Outcome outcome;
  CollectingEmitter out(limit);
  StageStatus status = stage.Produce(out);
  if (status.ok()) status = stage.Finish(out);
  if (!status.ok()) outcome.fatal = status.message;
  outcome.records = std::move(out.records);
  return outcome;
}

// A checked program whose stages the real factory makes.
class TestProgram {
 public:
  explicit TestProgram(const std::string& text) : file_(std::make_unique<SourceFile>("t.flow", text)) {
    DiagnosticSink sink(file_.get());
    program_ = ParseProgram(*file_, sink);
    CheckOptions options;
    options.getenv = [](const std::string&) { return std::optional<std::string>(); };
    graph_ = CheckProgram(program_, options, sink);
    INFO(sink.Render());
    REQUIRE(graph_.has_value());
  }

  // The first node running the builtin `name`.
  const StageNode& Node(const std::string& name) const {
    for (const StageNode& node : graph_->nodes)
      if (node.name == name) return node;
    FAIL("no stage '" << name << "' in the program");
    return graph_->nodes.front();
  }

  // MakeStage for the first `name` node, its block made as the worker
  // makes it; `base` gives the rest of the context.
  std::unique_ptr<Stage> Make(const std::string& name, StageContext base = {}, std::string* error = nullptr) {
    const StageNode& node = Node(name);
    base.node = &node;
    if (node.block) {
      auto fs = node.args.find("fs");
      base.block = blocks_.Make(*node.block, fs == node.args.end() ? "" : fs->second.as_str(),
                                StageBlockWant(node), *file_);
    }
    std::string local_error;
    std::unique_ptr<Stage> stage = MakeStage(base, error != nullptr ? error : &local_error);
    if (error == nullptr) {
      INFO(local_error);
      REQUIRE(stage != nullptr);
    }
    return stage;
  }

 private:
  std::unique_ptr<SourceFile> file_;
  Program program_;
  std::optional<StageGraph> graph_;
  InterpretedBlocks blocks_;
};

// A fresh directory under /tmp, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "flowrun-stages-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

  std::string Write(const std::string& name, const std::string& bytes) const {
    std::string path = File(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) names.push_back(entry.path().filename());
    return names;
  }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace flow::stagetest
