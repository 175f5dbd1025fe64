#include "compiler/ast_dump.h"

#include <fmt/format.h>

namespace flow {

namespace {

class Dumper {
 public:
  explicit Dumper(DumpOptions options) : options_(options) {}

  std::string Take() { return std::move(out_); }

  void Program(const flow::Program& program) {
    out_ += "(program";
    for (const flow::Statement& s : program.statements) {
      out_ += ' ';
      Statement(s);
    }
    out_ += ')';
  }

  void Statement(const flow::Statement& statement) {
    if (const auto* let = std::get_if<LetDef>(&statement)) {
      Open("let", let->loc);
      out_ += ' ' + let->name + ' ';
      Expr(*let->value);
      out_ += ')';
    } else if (const auto* def = std::get_if<StageDef>(&statement)) {
      Open("stagedef", def->loc);
      out_ += ' ' + def->name;
      if (!def->params.empty()) {
        out_ += " (params";
        for (const StageParam& p : def->params) {
          out_ += ' ' + p.name;
          At(p.loc);
        }
        out_ += ')';
      }
      out_ += ' ';
      Pipeline(def->body);
      out_ += ')';
    } else {
      Pipeline(std::get<flow::Pipeline>(statement));
    }
  }

  void Pipeline(const flow::Pipeline& pipeline) {
    Open("pipeline", pipeline.loc);
    for (const StageCall& stage : pipeline.stages) {
      out_ += ' ';
      Stage(stage);
    }
    out_ += ')';
  }

  void Block(const flow::Block& block) {
    Open("block", block.loc);
    for (const BlockLet& let : block.lets) {
      out_ += ' ';
      Open("let", let.loc);
      out_ += ' ' + let.name + ' ';
      Expr(*let.value);
      out_ += ')';
    }
    if (block.result) {
      out_ += ' ';
      Expr(*block.result);
    }
    out_ += ')';
  }

  void Expr(const flow::Expr& e) {
    switch (e.kind) {
      case ExprKind::kIntLit: Leaf("int", e.loc, std::to_string(e.int_value)); return;
      case ExprKind::kFloatLit: Leaf("float", e.loc, fmt::format("{}", e.float_value)); return;
      case ExprKind::kStrLit: Leaf("str", e.loc, Quote(e.text)); return;
      case ExprKind::kBoolLit: Leaf("bool", e.loc, e.bool_value ? "true" : "false"); return;
      case ExprKind::kDurationLit: Leaf("duration", e.loc, std::to_string(e.int_value)); return;
      case ExprKind::kSizeLit: Leaf("size", e.loc, std::to_string(e.int_value)); return;
      case ExprKind::kField: Leaf("field", e.loc, std::to_string(e.int_value)); return;
      case ExprKind::kNF: Leaf("nf", e.loc, ""); return;
      case ExprKind::kNR: Leaf("nr", e.loc, ""); return;
      case ExprKind::kName: Leaf("name", e.loc, e.text); return;
      case ExprKind::kFieldExpr: Open("field", e.loc); break;
      case ExprKind::kUnary:
      case ExprKind::kBinary: Open(OpSpelling(e.op), e.loc); break;
      case ExprKind::kConditional: Open("?", e.loc); break;
      case ExprKind::kCall:
        Open("call", e.loc);
        out_ += ' ' + e.text;
        break;
    }
    for (const ExprPtr& child : e.children) {
      out_ += ' ';
      Expr(*child);
    }
    out_ += ')';
  }

 private:
  void Stage(const StageCall& stage) {
    Open("stage", stage.loc);
    out_ += ' ' + stage.name;
    if (stage.has_parens && stage.args.empty()) out_ += " ()";
    for (const Arg& arg : stage.args) {
      out_ += ' ';
      Open("arg", arg.loc);
      if (!arg.name.empty()) out_ += ' ' + arg.name;
      out_ += ' ';
      if (arg.value) Expr(*arg.value);
      if (arg.pipeline) Pipeline(*arg.pipeline);
      out_ += ')';
    }
    if (stage.block) {
      out_ += ' ';
      Block(*stage.block);
    }
    const Replicas& r = stage.replicas;
    if (r.kind != ReplicaKind::kNone) {
      out_ += ' ';
      Open("replicas", r.loc);
      if (r.kind == ReplicaKind::kLiteral) out_ += ' ' + std::to_string(r.count);
      if (r.kind == ReplicaKind::kAuto) out_ += " auto";
      if (r.kind == ReplicaKind::kName) out_ += " (name " + r.name + ')';
      out_ += ')';
    }
    if (!stage.options.empty()) {
      out_ += " (options";
      for (const Option& o : stage.options) {
        out_ += ' ';
        if (!o.value) {
          out_ += o.name;
          At(o.loc);
          continue;
        }
        Open(o.name, o.loc);
        out_ += ' ';
        Expr(*o.value);
        out_ += ')';
      }
      out_ += ')';
    }
    out_ += ')';
  }

  void Open(std::string_view head, SourceLoc loc) {
    out_ += '(';
    out_ += head;
    At(loc);
  }

  void At(SourceLoc loc) {
    if (options_.locations) out_ += '@' + std::to_string(loc.line) + ':' + std::to_string(loc.column);
  }

  void Leaf(std::string_view head, SourceLoc loc, const std::string& value) {
    Open(head, loc);
    if (!value.empty()) out_ += ' ' + value;
    out_ += ')';
  }

  static std::string Quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        case '\0': out += "\\0"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
          } else {
            out += c;
          }
      }
    }
    return out + "\"";
  }

  DumpOptions options_;
  std::string out_;
};

}  // namespace

std::string DumpProgram(const Program& program, DumpOptions options) {
  Dumper d(options);
  d.Program(program);
  return d.Take();
}

std::string DumpStatement(const Statement& statement, DumpOptions options) {
  Dumper d(options);
  d.Statement(statement);
  return d.Take();
}

std::string DumpPipeline(const Pipeline& pipeline, DumpOptions options) {
  Dumper d(options);
  d.Pipeline(pipeline);
  return d.Take();
}

std::string DumpBlock(const Block& block, DumpOptions options) {
  Dumper d(options);
  d.Block(block);
  return d.Take();
}

std::string DumpExpr(const Expr& expr, DumpOptions options) {
  Dumper d(options);
  d.Expr(expr);
  return d.Take();
}

}  // namespace flow
