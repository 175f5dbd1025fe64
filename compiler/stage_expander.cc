#include "compiler/stage_expander.h"

#include <vector>

namespace flow {
namespace {

std::string Plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

CheckedPipeline StageExpander::Expand(Pipeline& pipeline, const ConstantScope& scope) {
  CheckedPipeline out;
  out.loc = pipeline.loc;
  for (StageCall& call : pipeline.stages) ExpandCall(call, scope, &out);
  return out;
}

void StageExpander::ExpandCall(StageCall& call, const ConstantScope& scope, CheckedPipeline* out) {
  if (const StageSignature* signature = FindBuiltinStage(call.name)) {
    if (++expanded_stages_ > kMaxExpandedStages) {
      if (expanded_stages_ == kMaxExpandedStages + 1)
        ctx_.Error(call.loc, "the program expands to more than " + std::to_string(kMaxExpandedStages) +
                                 " stages (defined stages used inside each other multiply)");
      out->complete = false;
      return;
    }
    std::vector<Pipeline*> pipeline_args;
    CheckedStage stage = stage_checker_.Check(call, *signature, scope, &pipeline_args);
    for (Pipeline* p : pipeline_args) stage.pipelines.push_back(Expand(*p, scope));
    out->stages.push_back(std::move(stage));
    return;
  }
  if (const StageDef* def = definitions_.Find(call.name)) {
    // A stage on a cycle has been reported; its uses are left out.
    if (definitions_.IsRecursive(call.name)) out->complete = false;
    else ExpandUse(call, *def, scope, out);
    return;
  }
  std::vector<std::string> names;
  for (const StageSignature& s : BuiltinStages()) names.push_back(s.name);
  for (const std::string& name : definitions_.Names()) names.push_back(name);
  ctx_.Error(call.loc, "unknown stage '" + call.name + "'" + DidYouMean(call.name, names));
  out->complete = false;
}

void StageExpander::ExpandUse(StageCall& call, const StageDef& def, const ConstantScope& scope,
                              CheckedPipeline* out) {
  used_.insert(def.name);
  if (expanded_stages_ > kMaxExpandedStages) {
    out->complete = false;
    return;
  }
  if (call.block) ctx_.Error(call.block->loc, "stage '" + def.name + "' is a defined stage and takes no block");
  // The body sees its parameters and the global constants, not the names
  // of the place it is used in.
  ConstantScope body_scope(&globals_);
  BindUseArgs(call, def, scope, &body_scope);
  PipelinePtr body = ClonePipeline(def.body);
  MoveUseSettings(call, def, scope, body.get());
  CheckedPipeline expanded = Expand(*body, body_scope);
  for (CheckedStage& stage : expanded.stages) {
    stage.via = def.name;
    stage.use_loc = call.loc;
    out->stages.push_back(std::move(stage));
  }
  if (!expanded.complete) out->complete = false;
}

void StageExpander::BindUseArgs(StageCall& call, const StageDef& def, const ConstantScope& scope,
                                ConstantScope* body_scope) {
  std::string stage = "stage '" + def.name + "'";
  std::vector<bool> bound(def.params.size(), false);
  std::vector<std::string> param_names;
  for (const StageParam& p : def.params) param_names.push_back(p.name);
  size_t positional = 0;
  bool named_seen = false;
  bool count_reported = false;
  // An unknown parameter name most likely misspells a missing one, which is
  // then not reported as well.
  bool misnamed = false;
  std::string takes = def.params.empty() ? std::string("no arguments") : Plural(def.params.size(), "argument");
  std::string count_message = stage + " takes " + takes + ", " + std::to_string(call.args.size()) + " given";
  for (Arg& arg : call.args) {
    size_t index = 0;
    if (arg.name.empty()) {
      index = positional++;
      if (index >= def.params.size()) {
        if (!count_reported) ctx_.Error(arg.loc, count_message);
        count_reported = true;
        continue;
      }
    } else {
      named_seen = true;
      while (index < def.params.size() && def.params[index].name != arg.name) ++index;
      if (index == def.params.size()) {
        ctx_.Error(arg.loc, stage + " has no parameter '" + arg.name + "'" + DidYouMean(arg.name, param_names));
        misnamed = true;
        continue;
      }
    }
    if (bound[index]) {
      ctx_.Error(arg.loc, "argument '" + def.params[index].name + "' is given twice");
      continue;
    }
    bound[index] = true;
    if (arg.pipeline) {
      ctx_.Error(arg.pipeline->loc, stage + " takes constant arguments, not a pipeline");
      body_scope->Define(def.params[index].name, def.params[index].loc, std::nullopt);
      continue;
    }
    std::optional<Value> value = folder_.Fold(arg.value, scope);
    body_scope->Define(def.params[index].name, def.params[index].loc, std::move(value));
  }
  for (size_t i = 0; i < def.params.size(); ++i) {
    if (bound[i]) continue;
    // Unknown from here on, so the body reports nothing more about it.
    body_scope->Define(def.params[i].name, def.params[i].loc, std::nullopt);
    if (count_reported || misnamed) continue;
    if (!named_seen) {
      ctx_.Error(call.loc, count_message);
      count_reported = true;
    } else {
      ctx_.Error(call.loc, stage + " is missing its argument '" + def.params[i].name + "'");
    }
  }
}

// `* N` and `[options]` on the use of a defined stage apply to the one stage
// it is made of. Their values are folded here, where the use is, since the
// body resolves names in its own scope.
void StageExpander::MoveUseSettings(StageCall& call, const StageDef& def, const ConstantScope& scope,
                                    Pipeline* body) {
  bool has_replicas = call.replicas.kind != ReplicaKind::kNone;
  if (!has_replicas && call.options.empty()) return;
  std::string stage = "stage '" + def.name + "'";
  if (body->stages.size() != 1) {
    std::string made_of = stage + " is made of " + Plural(body->stages.size(), "stage");
    if (has_replicas)
      ctx_.Error(call.replicas.loc, made_of + " and cannot be replicated; replicate one of its stages instead");
    if (!call.options.empty()) ctx_.Error(call.options[0].loc, made_of + "; options apply to a single stage");
    return;
  }
  StageCall& inner = body->stages[0];
  if (has_replicas) {
    Replicas replicas = call.replicas;
    if (inner.replicas.kind != ReplicaKind::kNone) {
      ctx_.Error(replicas.loc, stage + " already sets its replicas in its definition");
    } else if (replicas.kind == ReplicaKind::kName) {
      std::optional<int> count = stage_checker_.ResolveReplicas(replicas, scope);
      if (count) {
        replicas.kind = ReplicaKind::kLiteral;
        replicas.count = *count;
        inner.replicas = replicas;
      }
    } else {
      inner.replicas = replicas;
    }
  }
  for (Option& option : call.options) {
    bool bare_name = option.value && option.value->kind == ExprKind::kName && option.name == "on_error";
    if (option.value && !bare_name) {
      std::optional<Value> value = folder_.Fold(option.value, scope);
      if (!value) continue;
      inner.options.push_back({option.loc, option.name, LiteralOf(*value, option.value->loc)});
    } else {
      inner.options.push_back({option.loc, option.name, option.value ? CloneExpr(*option.value) : nullptr});
    }
  }
}

void StageExpander::CheckUnusedDefinitions() {
  for (const StageDef* def : definitions_.InOrder()) {
    if (used_.count(def->name) || definitions_.IsRecursive(def->name)) continue;
    used_.insert(def->name);
    ConstantScope body_scope(&globals_);
    for (const StageParam& param : def->params) body_scope.Define(param.name, param.loc, std::nullopt);
    PipelinePtr body = ClonePipeline(def->body);
    Expand(*body, body_scope);
  }
}

}  // namespace flow
