// The `stage NAME(params) = pipeline` definitions of a program, and the rule
// that no defined stage uses itself, directly or through others.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "compiler/ast.h"
#include "compiler/check_context.h"

namespace flow {

class StageDefinitions {
 public:
  explicit StageDefinitions(CheckContext& ctx) : ctx_(ctx) {}

  // Collects the definitions of `program` (a name already defined or taken by
  // a builtin stage, a parameter named twice: errors) and reports each cycle
  // of uses as "stage 'a' uses itself: a -> b -> a".
  void Collect(Program& program);

  const StageDef* Find(const std::string& name) const;
  // On a cycle: its uses are left out (the cycle is reported once, here).
  bool IsRecursive(const std::string& name) const { return recursive_.count(name) > 0; }
  std::vector<std::string> Names() const;
  const std::vector<const StageDef*>& InOrder() const { return in_order_; }

 private:
  void FindCycles();
  void Visit(const StageDef* def, std::vector<const StageDef*>* path, std::map<const StageDef*, int>* state);
  void CollectUses(const Pipeline& pipeline, std::vector<const StageDef*>* uses) const;

  CheckContext& ctx_;
  std::map<std::string, const StageDef*> by_name_;
  std::vector<const StageDef*> in_order_;
  std::set<std::string> recursive_;
};

}  // namespace flow
