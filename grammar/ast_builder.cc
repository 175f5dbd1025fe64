#include "grammar/ast_builder.h"

#include <algorithm>

#include "grammar/parser.h"

namespace flow::grammar {

namespace {

// Section 5, highest first: * / %; + -; < <= > >=; == !=; &&; ||.
int Precedence(Op op) {
  switch (op) {
    case Op::kMul: case Op::kDiv: case Op::kMod: return 6;
    case Op::kAdd: case Op::kSub: return 5;
    case Op::kLess: case Op::kLessEq: case Op::kGreater: case Op::kGreaterEq: return 4;
    case Op::kEq: case Op::kNotEq: return 3;
    case Op::kAnd: return 2;
    case Op::kOr: return 1;
    default: return 0;
  }
}

bool IsBracket(Region r) { return r <= Region::kOptions; }
bool Nests(Region r) { return r != Region::kString; }

template <typename T>
void Truncate(std::vector<T>& v, size_t size) {
  v.erase(v.begin() + static_cast<std::ptrdiff_t>(std::min(size, v.size())), v.end());
}

}  // namespace

AstBuilder::Snapshot AstBuilder::Take() const {
  return {exprs_.size(),       ops_.size(),           calls_.size(),     names_.size(),
          args_.size(),        open_stages_.size(),   done_stages_.size(), pipeline_bases_.size(),
          pipelines_.size(),   blocks_.size(),        regions_.size(),   brackets_, depth_};
}

void AstBuilder::RollBack(const Snapshot& s) {
  Truncate(exprs_, s.exprs);
  Truncate(ops_, s.ops);
  Truncate(calls_, s.calls);
  Truncate(names_, s.names);
  Truncate(args_, s.args);
  Truncate(open_stages_, s.open_stages);
  Truncate(done_stages_, s.done_stages);
  Truncate(pipeline_bases_, s.pipeline_bases);
  Truncate(pipelines_, s.pipelines);
  Truncate(blocks_, s.blocks);
  Truncate(regions_, s.regions);
  brackets_ = s.brackets;
  depth_ = s.depth;
}

void AstBuilder::Clear() {
  RollBack(Snapshot{});
  params_.clear();
  statement_.reset();
}

bool AstBuilder::Idle() const {
  return exprs_.empty() && ops_.empty() && calls_.empty() && names_.empty() && args_.empty() &&
         open_stages_.empty() && done_stages_.empty() && pipeline_bases_.empty() && pipelines_.empty() &&
         blocks_.empty() && params_.empty() && regions_.empty() && brackets_ == 0 && depth_ == 0;
}

void AstBuilder::Enter(Region region, size_t offset) {
  if (Nests(region) && depth_ >= kMaxNestingDepth) {
    throw SyntaxError{offset, "expressions nested more than " + std::to_string(kMaxNestingDepth) + " deep"};
  }
  regions_.push_back({region, offset});
  if (IsBracket(region)) ++brackets_;
  if (Nests(region)) ++depth_;
}

void AstBuilder::Leave() {
  Region region = regions_.back().region;
  regions_.pop_back();
  if (IsBracket(region)) --brackets_;
  if (Nests(region)) --depth_;
}

void AstBuilder::CheckName(std::string_view name, size_t offset, bool defines_value) {
  static constexpr std::string_view kKeywords[] = {"let", "stage", "true", "false"};
  for (std::string_view k : kKeywords) {
    if (name == k) throw SyntaxError{offset, "'" + std::string(name) + "' is a keyword and cannot be used as a name"};
  }
  if (!defines_value) return;
  if (name == "_") throw SyntaxError{offset, "'_' is the whole record and cannot be used as a name"};
  if (name == "NF") throw SyntaxError{offset, "'NF' is the number of fields and cannot be used as a name"};
  if (name == "NR") throw SyntaxError{offset, "'NR' is the record number and cannot be used as a name"};
}

void AstBuilder::PushName(std::string_view name, size_t offset, bool defines_value) {
  CheckName(name, offset, defines_value);
  names_.push_back({std::string(name), offset});
}

// ---- Expressions ----------------------------------------------------------

void AstBuilder::Push(ExprPtr e, int height, size_t offset) {
  if (height > kMaxExprHeight) {
    throw SyntaxError{offset, "expression too deep: more than " + std::to_string(kMaxExprHeight) +
                                  " nested operations; split it with 'let'"};
  }
  exprs_.push_back({std::move(e), height});
}

AstBuilder::Node AstBuilder::PopNode() {
  Node n = std::move(exprs_.back());
  exprs_.pop_back();
  return n;
}

void AstBuilder::PushLeaf(ExprPtr e) { exprs_.push_back({std::move(e), 1}); }

void AstBuilder::BeginChain() { ops_.push_back({Op::kNone, 0}); }

// Shunting-yard: before an operator goes on the stack, every waiting operator
// that binds at least as tightly is applied, which makes them left-associative.
void AstBuilder::BinaryOperator(Op op, size_t offset) {
  while (ops_.back().op != Op::kNone && Precedence(ops_.back().op) >= Precedence(op)) ReduceOperator();
  ops_.push_back({op, offset});
}

void AstBuilder::EndChain() {
  while (ops_.back().op != Op::kNone) ReduceOperator();
  ops_.pop_back();
}

void AstBuilder::ReduceOperator() {
  PendingOp pending = ops_.back();
  ops_.pop_back();
  Node rhs = PopNode();
  Node lhs = PopNode();
  auto e = NewExpr(ExprKind::kBinary, pending.offset);
  e->op = pending.op;
  int height = std::max(lhs.height, rhs.height) + 1;
  e->children.push_back(std::move(lhs.expr));
  e->children.push_back(std::move(rhs.expr));
  Push(std::move(e), height, pending.offset);
}

void AstBuilder::Unary(Op op, size_t offset) {
  Node operand = PopNode();
  auto e = NewExpr(ExprKind::kUnary, offset);
  e->op = op;
  e->children.push_back(std::move(operand.expr));
  Push(std::move(e), operand.height + 1, offset);
}

void AstBuilder::Conditional(size_t offset) {
  Node otherwise = PopNode();
  Node then = PopNode();
  Node condition = PopNode();
  auto e = NewExpr(ExprKind::kConditional, offset);
  int height = std::max({condition.height, then.height, otherwise.height}) + 1;
  e->children.push_back(std::move(condition.expr));
  e->children.push_back(std::move(then.expr));
  e->children.push_back(std::move(otherwise.expr));
  Push(std::move(e), height, offset);
}

void AstBuilder::FieldIndex(size_t dollar_offset) {
  Node index = PopNode();
  auto e = NewExpr(ExprKind::kFieldExpr, dollar_offset);
  e->children.push_back(std::move(index.expr));
  Push(std::move(e), index.height + 1, dollar_offset);
}

void AstBuilder::BeginCall(std::string_view name, size_t offset) {
  calls_.push_back({std::string(name), offset, exprs_.size()});
}

void AstBuilder::EndCall() {
  CallFrame frame = std::move(calls_.back());
  calls_.pop_back();
  auto e = NewExpr(ExprKind::kCall, frame.offset);
  e->text = std::move(frame.name);
  int height = 0;
  e->children.reserve(exprs_.size() - frame.first_arg);
  for (size_t i = frame.first_arg; i < exprs_.size(); ++i) {
    height = std::max(height, exprs_[i].height);
    e->children.push_back(std::move(exprs_[i].expr));
  }
  Truncate(exprs_, frame.first_arg);
  Push(std::move(e), height + 1, frame.offset);
}

// ---- Stages ----------------------------------------------------------------

void AstBuilder::BeginStage(std::string_view name, size_t offset) {
  CheckName(name, offset, false);
  StageCall stage;
  stage.loc = Loc(offset);
  stage.name = std::string(name);
  open_stages_.push_back(std::move(stage));
}

void AstBuilder::EndStage() {
  done_stages_.push_back(std::move(open_stages_.back()));
  open_stages_.pop_back();
}

void AstBuilder::ArgFromExpr(size_t offset) {
  Arg arg;
  arg.loc = Loc(offset);
  arg.value = PopExpr();
  args_.push_back(std::move(arg));
}

void AstBuilder::ArgFromPipeline(size_t offset) {
  Arg arg;
  arg.loc = Loc(offset);
  arg.pipeline = std::move(pipelines_.back());
  pipelines_.pop_back();
  args_.push_back(std::move(arg));
}

void AstBuilder::NameLastArg() {
  args_.back().name = std::move(names_.back().name);
  args_.back().loc = Loc(names_.back().offset);
  names_.pop_back();
}

void AstBuilder::AttachArg() {
  open_stages_.back().args.push_back(std::move(args_.back()));
  args_.pop_back();
}

void AstBuilder::BeginBlock(size_t offset) {
  Block block;
  block.loc = Loc(offset);
  blocks_.push_back(std::move(block));
}

void AstBuilder::BlockLet() {
  flow::BlockLet let;
  let.value = PopExpr();
  let.name = std::move(names_.back().name);
  let.loc = Loc(names_.back().offset);
  names_.pop_back();
  blocks_.back().lets.push_back(std::move(let));
}

void AstBuilder::BlockResult() { blocks_.back().result = PopExpr(); }

void AstBuilder::EndBlock() {
  open_stages_.back().block = std::make_unique<Block>(std::move(blocks_.back()));
  blocks_.pop_back();
}

void AstBuilder::AddOption(bool has_value) {
  Option option;
  if (has_value) option.value = PopExpr();
  option.name = std::move(names_.back().name);
  option.loc = Loc(names_.back().offset);
  names_.pop_back();
  open_stages_.back().options.push_back(std::move(option));
}

void AstBuilder::BeginPipeline() { pipeline_bases_.push_back(done_stages_.size() - 1); }

void AstBuilder::EndPipeline() {
  const size_t base = pipeline_bases_.back();
  pipeline_bases_.pop_back();
  auto pipeline = std::make_unique<Pipeline>();
  pipeline->loc = done_stages_[base].loc;
  pipeline->stages.reserve(done_stages_.size() - base);
  for (size_t i = base; i < done_stages_.size(); ++i) pipeline->stages.push_back(std::move(done_stages_[i]));
  Truncate(done_stages_, base);
  pipelines_.push_back(std::move(pipeline));
}

// ---- Statements ------------------------------------------------------------

void AstBuilder::AddParam(std::string_view name, size_t offset) {
  CheckName(name, offset, true);
  params_.push_back({Loc(offset), std::string(name)});
}

void AstBuilder::LetDefinition() {
  LetDef let;
  let.value = PopExpr();
  let.name = std::move(names_.back().name);
  let.loc = Loc(names_.back().offset);
  names_.pop_back();
  statement_ = std::move(let);
}

void AstBuilder::StageDefinition() {
  StageDef def;
  def.name = std::move(names_.back().name);
  def.loc = Loc(names_.back().offset);
  names_.pop_back();
  def.params = std::move(params_);
  params_.clear();
  def.body = std::move(*pipelines_.back());
  pipelines_.pop_back();
  statement_ = std::move(def);
}

void AstBuilder::PipelineStatement() {
  statement_ = std::move(*pipelines_.back());
  pipelines_.pop_back();
}

std::optional<Statement> AstBuilder::TakeStatement() {
  std::optional<Statement> s = std::move(statement_);
  statement_.reset();
  return s;
}

// ---- Context for error messages ---------------------------------------------

std::string AstBuilder::LastBinaryOperator() const {
  return ops_.empty() ? std::string() : OpSpelling(ops_.back().op);
}

std::string AstBuilder::LastName() const { return names_.empty() ? std::string() : names_.back().name; }

std::string AstBuilder::CurrentStage() const {
  if (!open_stages_.empty()) return open_stages_.back().name;
  if (!pipelines_.empty() && !pipelines_.back()->stages.empty()) return pipelines_.back()->stages.back().name;
  return {};
}

std::string AstBuilder::CurrentCall() const { return calls_.empty() ? std::string() : calls_.back().name; }

}  // namespace flow::grammar
