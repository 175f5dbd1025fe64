#include "compiler/stage_checker.h"

#include <cstdint>

#include "compiler/option_checker.h"
#include "compiler/param_value.h"
#include "compiler/type_checker.h"

namespace flow {
namespace {

std::string Plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// "'head' takes 1 argument, 2 given"
std::string CountMessage(const StageSignature& signature, size_t given) {
  size_t min = 0;
  for (const ParamSignature& p : signature.params)
    if (!p.default_value) ++min;
  size_t max = signature.variadic ? SIZE_MAX : signature.params.size();
  std::string takes;
  if (max == 0) takes = "no arguments";
  else if (min == max) takes = Plural(min, "argument");
  else if (max == SIZE_MAX) takes = "at least " + Plural(min, "argument");
  else if (min == 0) takes = "at most " + Plural(max, "argument");
  else if (max == min + 1) takes = std::to_string(min) + " or " + Plural(max, "argument");
  else takes = std::to_string(min) + " to " + Plural(max, "argument");
  return "'" + signature.name + "' takes " + takes + ", " + std::to_string(given) + " given";
}

// The smallest value an int parameter takes.
struct IntMinimum {
  const char* stage;
  const char* param;
  int64_t min;
};
constexpr IntMinimum kIntMinimums[] = {
    {"head", "n", 0}, {"tail", "n", 0}, {"sort", "key", 0}, {"sha512", "rounds", 1}};

// A plain call or name written where a pipeline is wanted (`tee(discard)`,
// `tee(write("x"))`): the parser read it as an expression.
PipelinePtr PipelineOfExpr(Expr& e) {
  auto pipeline = std::make_unique<Pipeline>();
  pipeline->loc = e.loc;
  StageCall call;
  call.loc = e.loc;
  call.name = e.text;
  call.has_parens = e.kind == ExprKind::kCall;
  for (ExprPtr& child : e.children) {
    Arg arg;
    arg.loc = child->loc;
    arg.value = std::move(child);
    call.args.push_back(std::move(arg));
  }
  pipeline->stages.push_back(std::move(call));
  return pipeline;
}

// `tee(s * 4)`: the parser reads a stage with a count as a multiplication.
// Returns whether `e` is one (a call or name times an int literal, a name,
// `auto`, or a negative literal, which the replica check then refuses).
bool IsReplicatedStageExpr(const Expr& e) {
  if (e.kind != ExprKind::kBinary || e.op != Op::kMul) return false;
  const Expr& stage = *e.children[0];
  const Expr& count = *e.children[1];
  bool is_stage = stage.kind == ExprKind::kCall || stage.kind == ExprKind::kName;
  bool is_count = count.kind == ExprKind::kIntLit || count.kind == ExprKind::kName ||
                  (count.kind == ExprKind::kUnary && count.op == Op::kNeg &&
                   count.children[0]->kind == ExprKind::kIntLit);
  return is_stage && is_count;
}

PipelinePtr PipelineOfReplicatedExpr(Expr& e) {
  Expr& count = *e.children[1];
  PipelinePtr pipeline = PipelineOfExpr(*e.children[0]);
  Replicas& replicas = pipeline->stages[0].replicas;
  replicas.loc = count.loc;
  if (count.kind == ExprKind::kIntLit) {
    replicas.kind = ReplicaKind::kLiteral;
    replicas.count = count.int_value;
  } else if (count.kind == ExprKind::kUnary) {
    replicas.kind = ReplicaKind::kLiteral;
    replicas.count = -count.children[0]->int_value;
  } else if (count.text == "auto") {
    replicas.kind = ReplicaKind::kAuto;
  } else {
    replicas.kind = ReplicaKind::kName;
    replicas.name = count.text;
  }
  return pipeline;
}

}  // namespace

CheckedStage StageChecker::Check(StageCall& call, const StageSignature& signature, const ConstantScope& scope,
                                 std::vector<Pipeline*>* pipeline_args) {
  CheckedStage stage;
  stage.signature = &signature;
  stage.loc = call.loc;
  stage.use_loc = call.loc;
  std::vector<Arg*> bound(signature.params.size(), nullptr);
  std::vector<Arg*> variadic;
  BindArgs(call, signature, &bound, &variadic);
  for (size_t i = 0; i < bound.size(); ++i) {
    const ParamSignature& param = signature.params[i];
    if (bound[i]) CheckArg(signature, param, *bound[i], scope, &stage, pipeline_args);
    else if (param.default_value && param.type != ParamType::kPipeline) stage.args[param.name] = *param.default_value;
  }
  for (Arg* arg : variadic) CheckArg(signature, signature.params.back(), *arg, scope, &stage, pipeline_args);
  CheckBlock(call, signature, scope, &stage);

  std::optional<int> replicas = ResolveReplicas(call.replicas, scope);
  stage.replicas = replicas.value_or(1);
  stage.replicas_auto = call.replicas.kind == ReplicaKind::kAuto;
  bool replicated = stage.replicas_auto || stage.replicas > 1;
  if (replicated) {
    std::string name = "'" + signature.name + "'";
    if (signature.kind == StageKind::kSource)
      ctx_.Error(call.replicas.loc, name + " is a source and cannot be replicated");
    else if (signature.kind == StageKind::kSink)
      ctx_.Error(call.replicas.loc, name + " is a sink and cannot be replicated");
    else if (signature.stateful)
      ctx_.Error(call.replicas.loc, name + " keeps state across records and cannot be replicated");
  }
  // A count that failed to resolve was probably meant to replicate: no
  // second error about `ordered`.
  stage.options = OptionChecker(ctx_, folder_).Check(call.options, signature, replicated || !replicas, scope);
  return stage;
}

std::optional<int> StageChecker::ResolveReplicas(const Replicas& replicas, const ConstantScope& scope) {
  int64_t count = 1;
  switch (replicas.kind) {
    case ReplicaKind::kNone: return 1;
    case ReplicaKind::kAuto: return ctx_.options().online_cpus;
    case ReplicaKind::kLiteral: count = replicas.count; break;
    case ReplicaKind::kName: {
      const ConstantScope::Binding* binding = scope.Find(replicas.name);
      if (!binding) {
        std::vector<std::string> names;
        scope.CollectNames(&names);
        ctx_.Error(replicas.loc, "unknown name '" + replicas.name + "'" + DidYouMean(replicas.name, names));
        return std::nullopt;
      }
      if (!binding->value) return std::nullopt;
      if (binding->value->type() != Type::kInt) {
        ctx_.Error(replicas.loc, "replica count '" + replicas.name + "' must be an int, got " +
                                     TypeName(binding->value->type()));
        return std::nullopt;
      }
      count = binding->value->as_int();
      break;
    }
  }
  if (count < 1) {
    ctx_.Error(replicas.loc, "replica count must be at least 1, got " + std::to_string(count));
    return std::nullopt;
  }
  if (count > kMaxReplicas) {
    ctx_.Error(replicas.loc, "replica count must be at most " + std::to_string(kMaxReplicas) + ", got " +
                                 std::to_string(count));
    return std::nullopt;
  }
  return static_cast<int>(count);
}

void StageChecker::BindArgs(StageCall& call, const StageSignature& signature, std::vector<Arg*>* bound,
                            std::vector<Arg*>* variadic) {
  const std::vector<ParamSignature>& params = signature.params;
  size_t positional_count = 0;
  bool named_seen = false;
  for (const Arg& arg : call.args) {
    if (arg.name.empty()) ++positional_count;
    else named_seen = true;
  }
  // `seq(to)`: one positional argument is the end, as in Python's range(stop).
  size_t slot = signature.name == "seq" && positional_count == 1 ? 1 : 0;
  // An unknown parameter name most likely misspells the missing one: the
  // missing argument is then not reported as well.
  bool count_reported = false;
  bool misnamed = false;
  for (Arg& arg : call.args) {
    if (arg.name.empty()) {
      if (slot < params.size()) {
        if ((*bound)[slot]) ctx_.Error(arg.loc, "argument '" + params[slot].name + "' is given twice");
        else (*bound)[slot] = &arg;
        ++slot;
      } else if (signature.variadic) {
        variadic->push_back(&arg);
      } else if (!count_reported) {
        ctx_.Error(arg.loc, CountMessage(signature, call.args.size()));
        count_reported = true;
      }
      continue;
    }
    size_t index = 0;
    while (index < params.size() && params[index].name != arg.name) ++index;
    if (index == params.size()) {
      std::vector<std::string> names;
      for (const ParamSignature& p : params) names.push_back(p.name);
      ctx_.Error(arg.loc, "'" + signature.name + "' has no parameter '" + arg.name + "'" + DidYouMean(arg.name, names));
      misnamed = true;
    } else if ((*bound)[index]) {
      ctx_.Error(arg.loc, "argument '" + arg.name + "' is given twice");
    } else {
      (*bound)[index] = &arg;
    }
  }
  if (count_reported || misnamed) return;
  for (size_t i = 0; i < params.size(); ++i) {
    if ((*bound)[i] || params[i].default_value) continue;
    if (!named_seen) {
      ctx_.Error(call.loc, CountMessage(signature, call.args.size()));
      return;
    }
    ctx_.Error(call.loc, "'" + signature.name + "' is missing its argument '" + params[i].name + "'");
  }
}

void StageChecker::CheckArg(const StageSignature& signature, const ParamSignature& param, Arg& arg,
                            const ConstantScope& scope, CheckedStage* stage, std::vector<Pipeline*>* pipeline_args) {
  std::string expects = "'" + signature.name + "' expects " + DescribeParamType(param.type) + " for '" +
                        param.name + "', got ";
  if (param.type == ParamType::kPipeline) {
    if (!arg.pipeline && (arg.value->kind == ExprKind::kCall || arg.value->kind == ExprKind::kName)) {
      arg.pipeline = PipelineOfExpr(*arg.value);
      arg.value.reset();
    } else if (!arg.pipeline && IsReplicatedStageExpr(*arg.value)) {
      arg.pipeline = PipelineOfReplicatedExpr(*arg.value);
      arg.value.reset();
    }
    if (arg.pipeline) {
      pipeline_args->push_back(arg.pipeline.get());
      return;
    }
    Type type = TypeChecker(ctx_, scope, ExprPlace::kConstant).Check(arg.value);
    if (type != Type::kUnknown) ctx_.Error(arg.value->loc, expects + TypeName(type));
    return;
  }
  if (arg.pipeline) {
    ctx_.Error(arg.pipeline->loc, expects + "a pipeline");
    return;
  }
  std::optional<Value> value = folder_.Fold(arg.value, scope);
  if (!value) return;
  Value converted;
  if (!ConvertArgument(param.type, *value, &converted)) {
    ctx_.Error(arg.value->loc, expects + TypeName(value->type()));
    return;
  }
  CheckArgValue(signature, param, converted, arg.value->loc);
  stage->args[param.name] = converted;
}

void StageChecker::CheckArgValue(const StageSignature& signature, const ParamSignature& param, const Value& value,
                                 SourceLoc loc) {
  if (value.type() == Type::kStr && value.as_str().empty()) {
    if (param.name == "fs")
      ctx_.Error(loc, "'fs' must not be empty; leave it out to split on runs of blanks");
    else if (param.name == "sep" || param.path_role != PathRole::kNone)
      ctx_.Error(loc, "'" + param.name + "' must not be empty");
  }
  for (const IntMinimum& m : kIntMinimums)
    if (signature.name == m.stage && param.name == m.param && value.as_int() < m.min)
      ctx_.Error(loc, "'" + param.name + "' of '" + signature.name + "' must be at least " + std::to_string(m.min) +
                          ", got " + std::to_string(value.as_int()));
  if (signature.name == "report" && param.name == "format") {
    const std::string& f = value.as_str();
    if (f != "tsv" && f != "csv" && f != "json" && f != "markdown")
      ctx_.Error(loc, "'format' of 'report' must be tsv, csv, json or markdown, got '" + f + "'");
  }
}

void StageChecker::CheckBlock(StageCall& call, const StageSignature& signature, const ConstantScope& scope,
                              CheckedStage* stage) {
  std::string name = "'" + signature.name + "'";
  if (!call.block) {
    if (signature.block == BlockRule::kRequired)
      ctx_.Error(call.loc, name + " needs a block: " + signature.name + " { ... }");
    return;
  }
  if (signature.block == BlockRule::kNone) {
    ctx_.Error(call.block->loc, name + " takes no block");
    return;
  }
  Type type = TypeChecker(ctx_, scope, ExprPlace::kBlock).CheckBlock(*call.block);
  SourceLoc loc = call.block->result->loc;
  if (type == Type::kUnknown) {
    // Already reported.
  } else if (signature.block_result == BlockResult::kBool && type != Type::kBool) {
    ctx_.Error(loc, "the block of " + name + " must be a bool, got " + TypeName(type));
  } else if (signature.block_result == BlockResult::kNumber && type != Type::kInt && type != Type::kFloat) {
    ctx_.Error(loc, "the block of " + name + " must be an int or a float, got " + TypeName(type));
  }
  stage->block = std::shared_ptr<const Block>(CloneBlock(*call.block));
}

}  // namespace flow
