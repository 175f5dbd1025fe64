// Reads a stage node's arguments (the checker has typed them and filled in
// the defaults) and makes its stage. The registry of which builtin is
// implemented where: stdlib/stages.h.
#include "stdlib/stage_factory.h"

#include <functional>
#include <map>

#include "stdlib/stages.h"

namespace flow {
namespace {

// The node's arguments, read with the types the signature promises; a
// missing or mistyped one is an internal error (the checker let it through).
class Args {
 public:
  Args(const StageNode& node, std::string* error) : node_(node), error_(error) {}

  int64_t Int(const char* name) { return Get(name, Type::kInt) ? node_.args.at(name).as_int() : 0; }
  bool Bool(const char* name) { return Get(name, Type::kBool) && node_.args.at(name).as_bool(); }
  std::string Str(const char* name) { return Get(name, Type::kStr) ? node_.args.at(name).as_str() : ""; }
  int64_t Nanoseconds(const char* name) {
    return Get(name, Type::kDuration) ? node_.args.at(name).as_duration().nanoseconds : 0;
  }
  bool ok() const { return error_->empty(); }

 private:
  bool Get(const char* name, Type type) {
    auto found = node_.args.find(name);
    if (found != node_.args.end() && found->second.type() == type) return true;
    if (error_->empty())
      *error_ = "internal error: '" + node_.name + "' has no " + TypeName(type) + " argument '" + name + "'";
    return false;
  }

  const StageNode& node_;
  std::string* error_;
};

using Maker = std::function<std::unique_ptr<Stage>(const StageContext&, Args&, std::string*)>;

// A stage whose block is required: refused when the runner made none.
template <class Make>
Maker WithBlock(Make make) {
  return [make](const StageContext& context, Args&, std::string* error) -> std::unique_ptr<Stage> {
    if (!context.block) {
      *error = "internal error: '" + context.node->name + "' has no block function";
      return nullptr;
    }
    return make(context.block);
  };
}

const std::map<std::string, Maker>& Makers() {
  static const std::map<std::string, Maker> makers = {
      {"read",
       [](const StageContext& c, Args& args, std::string* error) -> std::unique_ptr<Stage> {
         std::string path = args.Str("path");
         std::string sep = args.Str("sep");
         if (!args.ok()) return nullptr;
         if (sep.empty()) {
           *error = "the separator of 'read' must not be empty";
           return nullptr;
         }
         return MakeReadStage(std::move(path), std::move(sep), c.stop_requested);
       }},
      {"seq",
       [](const StageContext& c, Args& args, std::string*) -> std::unique_ptr<Stage> {
         int64_t from = args.Int("from");
         int64_t to = args.Int("to");
         return args.ok() ? MakeSeqStage(from, to, c.stop_requested) : nullptr;
       }},
      {"lines",
       [](const StageContext&, Args& args, std::string*) -> std::unique_ptr<Stage> {
         std::string text = args.Str("s");
         return args.ok() ? MakeLinesStage(std::move(text)) : nullptr;
       }},
      {"merge", [](const StageContext&, Args&, std::string*) { return MakeMergeStage(); }},
      {"map", WithBlock(MakeMapStage)},
      {"filter", WithBlock(MakeFilterStage)},
      {"flatmap", WithBlock(MakeFlatmapStage)},
      {"distinct", [](const StageContext& c, Args&, std::string*) { return MakeDistinctStage(c.block); }},
      {"head",
       [](const StageContext&, Args& args, std::string*) -> std::unique_ptr<Stage> {
         int64_t n = args.Int("n");
         return args.ok() ? MakeHeadStage(n) : nullptr;
       }},
      {"tail",
       [](const StageContext&, Args& args, std::string*) -> std::unique_ptr<Stage> {
         int64_t n = args.Int("n");
         return args.ok() ? MakeTailStage(n) : nullptr;
       }},
      {"sort",
       [](const StageContext& c, Args& args, std::string*) -> std::unique_ptr<Stage> {
         SortSpec spec;
         spec.key = args.Int("key");
         spec.numeric = args.Bool("numeric");
         spec.reverse = args.Bool("reverse");
         spec.memory_bytes = c.sort_memory_bytes;
         spec.temp_dir = c.temp_dir;
         return args.ok() ? MakeSortStage(std::move(spec)) : nullptr;
       }},
      {"count", [](const StageContext&, Args&, std::string*) { return MakeCountStage(); }},
      {"count_by", WithBlock(MakeCountByStage)},
      {"sum", WithBlock(MakeSumStage)},
      {"sleep",
       [](const StageContext&, Args& args, std::string*) -> std::unique_ptr<Stage> {
         int64_t nanoseconds = args.Nanoseconds("duration");
         return args.ok() ? MakeSleepStage(nanoseconds) : nullptr;
       }},
      {"tee", [](const StageContext&, Args&, std::string*) { return MakeTeeStage(); }},
      {"sha512",
       [](const StageContext&, Args& args, std::string*) -> std::unique_ptr<Stage> {
         int64_t rounds = args.Int("rounds");  // the checker made sure it is >= 1
         return args.ok() ? MakeSha512Stage(rounds) : nullptr;
       }},
      {"exec",
       [](const StageContext&, Args& args, std::string* error) -> std::unique_ptr<Stage> {
         std::string command = args.Str("cmd");
         return args.ok() ? MakeExecStage(std::move(command), error) : nullptr;
       }},
      {"sh",
       [](const StageContext&, Args& args, std::string* error) -> std::unique_ptr<Stage> {
         std::string command = args.Str("cmd");
         return args.ok() ? MakeShStage(std::move(command), error) : nullptr;
       }},
      {"whois",
       [](const StageContext& c, Args& args, std::string* error) -> std::unique_ptr<Stage> {
         WhoisSpec spec;
         spec.server = args.Str("server");
         std::string fields = args.Str("fields");
         if (!args.ok()) return nullptr;
         for (size_t start = 0; start <= fields.size() && !fields.empty();) {
           size_t comma = fields.find(',', start);
           if (comma == std::string::npos) comma = fields.size();
           if (comma > start) spec.fields.push_back(fields.substr(start, comma - start));
           start = comma + 1;
         }
         spec.timeout_ns = c.node->options.timeout_ns;
         return MakeWhoisStage(std::move(spec), error);
       }},
      {"write",
       [](const StageContext& c, Args& args, std::string* error) -> std::unique_ptr<Stage> {
         std::string path = args.Str("path");
         std::string sep = args.Str("sep");
         if (!args.ok()) return nullptr;
         if (path != "-" && c.temp_path.empty()) {
           *error = "internal error: no temporary path to write '" + path + "' to";
           return nullptr;
         }
         return MakeWriteStage(path, c.temp_path, std::move(sep), error);
       }},
      {"discard", [](const StageContext&, Args&, std::string*) { return MakeDiscardStage(); }},
      {"report",
       [](const StageContext& c, Args& args, std::string* error) -> std::unique_ptr<Stage> {
         ReportSpec spec;
         spec.target = args.Str("path");
         spec.format = args.Str("format");
         spec.header = args.Bool("header");
         if (!args.ok()) return nullptr;
         if (spec.target != "-" && c.temp_path.empty()) {
           *error = "internal error: no temporary path to write '" + spec.target + "' to";
           return nullptr;
         }
         spec.temp_path = c.temp_path;
         return MakeReportStage(std::move(spec), error);
       }},
  };
  return makers;
}

}  // namespace

FlowBlockWant StageBlockWant(const StageNode& node) {
  if (node.signature != nullptr) {
    if (node.signature->block_result == BlockResult::kBool) return kFlowWantBool;
    if (node.signature->block_result == BlockResult::kNumber) return kFlowWantNumber;
  }
  return kFlowWantText;
}

std::unique_ptr<Stage> MakeStage(const StageContext& context, std::string* error) {
  error->clear();
  if (context.node == nullptr) {
    *error = "internal error: no stage to make";
    return nullptr;
  }
  const std::string& name = context.node->name;
  auto found = Makers().find(name);
  if (found == Makers().end()) {
    *error = "internal error: no implementation of the stage '" + name + "'";
    return nullptr;
  }
  Args args(*context.node, error);
  std::unique_ptr<Stage> stage = found->second(context, args, error);
  if (stage == nullptr && error->empty()) *error = "internal error: '" + name + "' could not be made";
  return stage;
}

}  // namespace flow
