#include "stdlib/signatures.h"

#include <cstdint>
#include <limits>

namespace flow {

const char* ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kInt: return "int";
    case ParamType::kFloat: return "float";
    case ParamType::kStr: return "str";
    case ParamType::kBool: return "bool";
    case ParamType::kDuration: return "duration";
    case ParamType::kSize: return "size";
    case ParamType::kIntOrSize: return "int or size";
    case ParamType::kPipeline: return "pipeline";
  }
  return "";
}

namespace {

ParamSignature Required(std::string name, ParamType type, PathRole role = PathRole::kNone) {
  return {std::move(name), type, std::nullopt, role};
}

ParamSignature Optional(std::string name, ParamType type, Value default_value) {
  return {std::move(name), type, std::move(default_value), PathRole::kNone};
}

// `fs = "..."` on every stage with a block: "" (the default) means awk's
// splitting on runs of blanks; a user may not write "" (the checker refuses it).
ParamSignature FieldSeparator() { return Optional("fs", ParamType::kStr, Value::Str("")); }

ParamSignature RecordSeparator() { return Optional("sep", ParamType::kStr, Value::Str("\n")); }

StageSignature Stage(std::string name, StageKind kind, std::vector<ParamSignature> params, std::string summary) {
  StageSignature s{};
  s.name = std::move(name);
  s.kind = kind;
  s.params = std::move(params);
  s.summary = std::move(summary);
  return s;
}

StageSignature WithBlock(StageSignature s, BlockRule rule, BlockResult result) {
  s.block = rule;
  s.block_result = result;
  return s;
}

StageSignature Stateful(StageSignature s) {
  s.stateful = true;
  s.emits_at_end = true;
  return s;
}

StageSignature EmitsAtEnd(StageSignature s) {
  s.emits_at_end = true;
  return s;
}

StageSignature SideEffects(StageSignature s) {
  s.side_effects = true;
  return s;
}

std::vector<StageSignature> MakeBuiltinStages() {
  using K = StageKind;
  using P = ParamType;
  std::vector<StageSignature> stages;

  // Sources.
  stages.push_back(Stage("read", K::kSource,
                         {Required("path", P::kStr, PathRole::kInputFile), RecordSeparator()},
                         "records of a file (\"-\" is stdin; a glob reads each match in order)"));
  // `seq(to)` and `seq(from, to)`: the checker binds a single positional
  // argument to `to`. The largest int stands for "no end": `seq()` counts
  // 1, 2, 3, ... for as long as anyone reads.
  stages.push_back(Stage("seq", K::kSource,
                         {Optional("from", P::kInt, Value::Int(1)),
                          Optional("to", P::kInt, Value::Int(std::numeric_limits<int64_t>::max()))},
                         "integers from 'from' (default 1) to 'to' inclusive; seq() never ends"));
  stages.push_back(Stage("lines", K::kSource, {Required("s", P::kStr)}, "the lines of a literal string"));
  StageSignature merge = Stage("merge", K::kSource, {Required("pipelines", P::kPipeline)},
                               "the records of several pipelines, each starting with a source");
  merge.variadic = true;
  stages.push_back(std::move(merge));

  // Transforms.
  stages.push_back(WithBlock(Stage("map", K::kTransform, {FieldSeparator()}, "emits the block's value per record"),
                             BlockRule::kRequired, BlockResult::kAny));
  stages.push_back(
      WithBlock(Stage("filter", K::kTransform, {FieldSeparator()}, "keeps records where the block is true"),
                BlockRule::kRequired, BlockResult::kBool));
  stages.push_back(WithBlock(
      Stage("flatmap", K::kTransform, {FieldSeparator()}, "emits each line of the block's value as a record"),
      BlockRule::kRequired, BlockResult::kAny));
  stages.push_back(Stateful(WithBlock(
      Stage("distinct", K::kTransform, {FieldSeparator()}, "keeps the first record of each key, in input order"),
      BlockRule::kOptional, BlockResult::kAny)));
  stages.push_back(Stateful(Stage("head", K::kTransform, {Required("n", P::kInt)}, "the first n records")));
  stages.push_back(Stateful(Stage("tail", K::kTransform, {Required("n", P::kInt)}, "the last n records")));
  stages.push_back(Stateful(Stage("sort", K::kTransform,
                                  {Optional("key", P::kInt, Value::Int(0)),
                                   Optional("numeric", P::kBool, Value::Bool(false)),
                                   Optional("reverse", P::kBool, Value::Bool(false))},
                                  "stable sort on the whole record (key = 0) or on field 'key'")));
  stages.push_back(Stateful(Stage("count", K::kTransform, {}, "emits how many records came in")));
  stages.push_back(Stateful(WithBlock(
      Stage("count_by", K::kTransform, {FieldSeparator()}, "emits key\\tcount per key, in order of first appearance"),
      BlockRule::kRequired, BlockResult::kAny)));
  stages.push_back(Stateful(WithBlock(
      Stage("sum", K::kTransform, {FieldSeparator()}, "emits the total of the block's value"),
      BlockRule::kRequired, BlockResult::kNumber)));
  stages.push_back(
      Stage("sleep", K::kTransform, {Required("duration", P::kDuration)}, "passes records on after a delay"));
  stages.push_back(Stage("sha512", K::kTransform, {Optional("rounds", P::kInt, Value::Int(1))},
                         "emits record\\thex, the SHA-512 hex digest chained 'rounds' times"));
  stages.push_back(SideEffects(Stage("exec", K::kTransform, {Required("cmd", P::kStr)},
                                     "runs a command per record ({} is the record, shell-quoted)")));
  stages.push_back(EmitsAtEnd(SideEffects(Stage("sh", K::kTransform, {Required("cmd", P::kStr)},
                                                "one long-lived shell command per replica, records on its stdin"))));
  stages.push_back(SideEffects(
      Stage("whois", K::kTransform, {Required("server", P::kStr), Optional("fields", P::kStr, Value::Str(""))},
            "an RFC 3912 query per record; emits query\\tfield...")));
  stages.push_back(Stage("tee", K::kTransform, {Required("branch", P::kPipeline)},
                         "passes every record on and a copy down another pipeline"));

  // Sinks.
  stages.push_back(SideEffects(Stage("write", K::kSink,
                                     {Required("path", P::kStr, PathRole::kOutputFile), RecordSeparator()},
                                     "writes records to a file (\"-\" is stdout), renamed into place on success")));
  stages.push_back(SideEffects(Stage(
      "report", K::kSink,
      {Required("path", P::kStr, PathRole::kOutputFile), Optional("format", P::kStr, Value::Str("tsv")),
       Optional("header", P::kBool, Value::Bool(false))},
      "writes tab-separated records as a table: tsv, csv, json or markdown")));
  stages.push_back(Stage("discard", K::kSink, {}, "drops every record"));
  return stages;
}

std::vector<OptionSignature> MakeStageOptions() {
  return {
      {"ordered", ParamType::kBool, "a replicated stage emits in input order"},
      {"retries", ParamType::kInt, "failed attempts on a record before on_error handles it (default 2)"},
      {"timeout", ParamType::kDuration, "the longest a worker may take on one record"},
      // on_error takes a bare name (fail, skip or dead_letter), not a string.
      {"on_error", ParamType::kStr, "what a record error does: fail, skip or dead_letter"},
      {"queue", ParamType::kIntOrSize, "the capacity of the stage's input queue, in records or bytes"},
  };
}

}  // namespace

const std::vector<StageSignature>& BuiltinStages() {
  static const std::vector<StageSignature> stages = MakeBuiltinStages();
  return stages;
}

const StageSignature* FindBuiltinStage(const std::string& name) {
  for (const StageSignature& s : BuiltinStages())
    if (s.name == name) return &s;
  return nullptr;
}

const std::vector<OptionSignature>& StageOptions() {
  static const std::vector<OptionSignature> options = MakeStageOptions();
  return options;
}

const OptionSignature* FindStageOption(const std::string& name) {
  for (const OptionSignature& o : StageOptions())
    if (o.name == name) return &o;
  return nullptr;
}

}  // namespace flow
