// The constants a name can mean outside a block's own `let`s: a defined
// stage's parameters (innermost) and the program's global `let`s.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ast.h"
#include "compiler/value.h"

namespace flow {

class ConstantScope {
 public:
  struct Binding {
    SourceLoc loc;  // where the name is defined
    // nullopt: the value is unknown because an error was already reported
    // (its uses then report nothing more).
    std::optional<Value> value;
    // A global `let` further down the file: a `let` sees only earlier ones.
    bool defined_later = false;
  };

  explicit ConstantScope(const ConstantScope* parent = nullptr) : parent_(parent) {}

  void Define(const std::string& name, SourceLoc loc, std::optional<Value> value);
  void DeclareLater(const std::string& name, SourceLoc loc);
  // Whether `name` is defined (not merely declared later) in this scope itself.
  bool DefinedHere(const std::string& name) const;

  // The binding of `name` here or in an enclosing scope; nullptr if none.
  const Binding* Find(const std::string& name) const;
  // Every name visible, for "did you mean".
  void CollectNames(std::vector<std::string>* names) const;

 private:
  const ConstantScope* parent_;
  std::map<std::string, Binding> bindings_;
};

// A literal expression holding `value`, already typed, at `loc`: how a
// constant's name is replaced by its value.
ExprPtr LiteralOf(const Value& value, SourceLoc loc);

// The value of a literal expression (a negated number literal included), or
// nullopt when `expr` is not one.
std::optional<Value> ValueOfLiteral(const Expr& expr);

}  // namespace flow
