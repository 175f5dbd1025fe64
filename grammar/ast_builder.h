// Builds the syntax tree while grammar/rules.h matches; grammar/actions.h
// calls it.
//
// Every part not yet attached to its parent waits on a stack, and a parse
// only ever pushes above what was there when it began. So a Snapshot (the
// stack sizes) taken before trying one reading of the text is all it takes
// to undo that reading, even when it ended in an exception: Control<arg_value>
// relies on this, and ParseProgram on Clear() after a bad statement.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ast.h"
#include "compiler/source.h"

namespace flow::grammar {

// The tallest expression tree the parser builds. kMaxNestingDepth bounds the
// parser's recursion; this bounds the later passes that recurse over a tree,
// whatever the length of an operator chain such as 1+1+...+1.
inline constexpr int kMaxExprHeight = 1024;

// A syntax error: a byte offset in the file, and the message for the user.
struct SyntaxError {
  size_t offset = 0;
  std::string message;
};

// The constructs the parser is inside of, innermost last.
enum class Region : uint8_t {
  kParen, kFieldIndex, kCallArgs, kStageArgs, kParams, kBlock, kOptions,  // brackets
  kUnary, kConditional,  // nest, without brackets
  kString,               // does not nest; kept for "unterminated string"
};

struct OpenRegion {
  Region region;
  size_t offset;  // the opening byte: ( $ { [ - ! ? " or r
};

class AstBuilder {
 public:
  explicit AstBuilder(const SourceFile& file) : file_(file) {}

  const SourceFile& file() const { return file_; }
  size_t OffsetOf(const char* p) const { return static_cast<size_t>(p - file_.text().data()); }
  SourceLoc Loc(size_t offset) const { return file_.LocAt(offset); }

  // ---- Speculation and recovery
  struct Snapshot {
    size_t exprs, ops, calls, names, args, open_stages, done_stages, pipeline_bases, pipelines, blocks, regions;
    int brackets, depth;
  };
  Snapshot Take() const;
  void RollBack(const Snapshot& s);
  void Clear();
  bool Idle() const;  // nothing pending: true between statements

  // ---- Nesting
  void Enter(Region region, size_t offset);  // throws SyntaxError past kMaxNestingDepth
  void Leave();
  bool InsideBrackets() const { return brackets_ > 0; }
  const OpenRegion* Innermost() const { return regions_.empty() ? nullptr : &regions_.back(); }

  // ---- Names. A name that defines a value (let, block let, parameter) may
  // not be '_', 'NF' or 'NR'; no name may be a keyword. Both throw.
  void PushName(std::string_view name, size_t offset, bool defines_value);
  static void CheckName(std::string_view name, size_t offset, bool defines_value);

  // ---- Expressions
  void PushLeaf(ExprPtr e);
  ExprPtr NewExpr(ExprKind kind, size_t offset) const { return std::make_unique<Expr>(kind, Loc(offset)); }
  void BeginChain();
  void BinaryOperator(Op op, size_t offset);
  void EndChain();
  void Unary(Op op, size_t offset);
  void Conditional(size_t offset);
  void FieldIndex(size_t dollar_offset);
  void BeginCall(std::string_view name, size_t offset);
  void EndCall();

  // ---- Stages
  void BeginStage(std::string_view name, size_t offset);
  void StageHasParens() { open_stages_.back().has_parens = true; }
  void EndStage();
  void ArgFromExpr(size_t offset);
  void ArgFromPipeline(size_t offset);
  void NameLastArg();
  void AttachArg();
  void BeginBlock(size_t offset);
  void BlockLet();
  void BlockResult();
  void EndBlock();
  void SetReplicas(Replicas replicas) { open_stages_.back().replicas = std::move(replicas); }
  void AddOption(bool has_value);
  void BeginPipeline();
  void EndPipeline();

  // ---- Statements
  void AddParam(std::string_view name, size_t offset);
  void LetDefinition();
  void StageDefinition();
  void PipelineStatement();
  std::optional<Statement> TakeStatement();

  // ---- Context for error messages
  // The last run of blanks matched: [begin, end).
  void NoteBlanks(size_t begin, size_t end) { blanks_begin_ = begin, blanks_end_ = end; }
  size_t blanks_begin() const { return blanks_begin_; }
  size_t blanks_end() const { return blanks_end_; }
  std::string LastBinaryOperator() const;
  std::string LastName() const;
  std::string CurrentStage() const;
  std::string CurrentCall() const;

 private:
  struct Node {
    ExprPtr expr;
    int height;
  };
  struct PendingOp {
    Op op;  // Op::kNone: the bottom of a chain
    size_t offset;
  };
  struct CallFrame {
    std::string name;
    size_t offset;
    size_t first_arg;  // index in exprs_
  };
  struct Name {
    std::string name;
    size_t offset;
  };

  void Push(ExprPtr e, int height, size_t offset);
  Node PopNode();
  ExprPtr PopExpr() { return PopNode().expr; }
  void ReduceOperator();

  const SourceFile& file_;
  std::vector<Node> exprs_;
  std::vector<PendingOp> ops_;
  std::vector<CallFrame> calls_;
  std::vector<Name> names_;
  std::vector<Arg> args_;
  std::vector<StageCall> open_stages_;  // being parsed, innermost last
  std::vector<StageCall> done_stages_;  // waiting for their pipeline to end
  std::vector<size_t> pipeline_bases_;  // index in done_stages_ of each open pipeline's first stage
  std::vector<PipelinePtr> pipelines_;
  std::vector<Block> blocks_;
  std::vector<StageParam> params_;
  std::vector<OpenRegion> regions_;
  int brackets_ = 0;  // regions_ that are brackets
  int depth_ = 0;     // regions_ that nest
  std::optional<Statement> statement_;
  size_t blanks_begin_ = 0;
  size_t blanks_end_ = 0;
};

}  // namespace flow::grammar
