#include "compiler/stage_definitions.h"

#include "stdlib/signatures.h"

namespace flow {
namespace {

enum VisitState { kUnvisited = 0, kOnPath = 1, kDone = 2 };

bool TakesPipelines(const StageSignature* signature) {
  if (!signature) return false;
  for (const ParamSignature& p : signature->params)
    if (p.type == ParamType::kPipeline) return true;
  return false;
}

}  // namespace

void StageDefinitions::Collect(Program& program) {
  for (const Statement& statement : program.statements) {
    const StageDef* def = std::get_if<StageDef>(&statement);
    if (!def) continue;
    if (FindBuiltinStage(def->name)) {
      ctx_.Error(def->loc, "'" + def->name + "' is a builtin stage; choose another name");
      continue;
    }
    auto [it, inserted] = by_name_.emplace(def->name, def);
    if (!inserted) {
      ctx_.Error(def->loc, "stage '" + def->name + "' is already defined at line " +
                               std::to_string(it->second->loc.line));
      continue;
    }
    std::set<std::string> params;
    for (const StageParam& param : def->params)
      if (!params.insert(param.name).second)
        ctx_.Error(param.loc, "stage '" + def->name + "' has two parameters named '" + param.name + "'");
    in_order_.push_back(def);
  }
  FindCycles();
}

const StageDef* StageDefinitions::Find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<std::string> StageDefinitions::Names() const {
  std::vector<std::string> names;
  for (const StageDef* def : in_order_) names.push_back(def->name);
  return names;
}

void StageDefinitions::FindCycles() {
  std::map<const StageDef*, int> state;
  std::vector<const StageDef*> path;
  for (const StageDef* def : in_order_)
    if (state[def] == kUnvisited) Visit(def, &path, &state);
}

// Depth first: a use of a definition still on the path closes a cycle.
void StageDefinitions::Visit(const StageDef* def, std::vector<const StageDef*>* path,
                             std::map<const StageDef*, int>* state) {
  (*state)[def] = kOnPath;
  path->push_back(def);
  std::vector<const StageDef*> uses;
  CollectUses(def->body, &uses);
  for (const StageDef* used : uses) {
    int s = (*state)[used];
    if (s == kUnvisited) {
      Visit(used, path, state);
    } else if (s == kOnPath) {
      size_t start = 0;
      while ((*path)[start] != used) ++start;
      std::string cycle;
      for (size_t i = start; i < path->size(); ++i) {
        cycle += (*path)[i]->name + " -> ";
        recursive_.insert((*path)[i]->name);
      }
      cycle += used->name;
      ctx_.Error(used->loc, "stage '" + used->name + "' uses itself: " + cycle);
    }
  }
  path->pop_back();
  (*state)[def] = kDone;
}

void StageDefinitions::CollectUses(const Pipeline& pipeline, std::vector<const StageDef*>* uses) const {
  for (const StageCall& call : pipeline.stages) {
    const StageSignature* builtin = FindBuiltinStage(call.name);
    if (!builtin) {
      if (const StageDef* def = Find(call.name)) uses->push_back(def);
    }
    bool takes_pipelines = TakesPipelines(builtin);
    for (const Arg& arg : call.args) {
      if (arg.pipeline) {
        CollectUses(*arg.pipeline, uses);
      } else if (takes_pipelines && arg.value) {
        // `tee(other)`, `tee(other * 4)`: the checker turns it into a
        // one-stage pipeline.
        const Expr* stage = arg.value.get();
        if (stage->kind == ExprKind::kBinary && stage->op == Op::kMul) stage = stage->children[0].get();
        if (stage->kind == ExprKind::kName || stage->kind == ExprKind::kCall)
          if (const StageDef* def = Find(stage->text)) uses->push_back(def);
      }
    }
  }
}

}  // namespace flow
