// A deterministic one-line S-expression of a syntax tree, for tests: the
// parser's, and those of every pass that wants to show a tree.
//
// Format (one space between items, no trailing space):
//   program     (program STATEMENT...)                      "(program)" when empty
//   let         (let NAME EXPR)
//   stage def   (stagedef NAME [(params P...)] PIPELINE)
//   pipeline    (pipeline STAGE...)
//   stage       (stage NAME [()] ARG... [BLOCK] [REPLICAS] [OPTIONS])
//                 "()" only for empty parentheses: `seq()` vs `count`
//   argument    (arg [NAME] EXPR)  or  (arg [NAME] PIPELINE)
//   block       (block (let NAME EXPR)... RESULT)
//   replicas    (replicas 12)  (replicas -3)  (replicas auto)  (replicas (name workers))
//   options     (options OPTION...)   OPTION is NAME for a flag, (NAME EXPR) with a value
//   literals    (int 42)  (float 1.5)  (str "a\n")  (bool true)
//               (duration 250000000)  [nanoseconds]   (size 4194304)  [bytes]
//               floats as fmt's "{}" writes them; strings with \" \\ \n \t \r \0
//               escaped and every other byte below 0x20 or from 0x7f as \xHH
//   fields      (field 1)  (field EXPR) for $(EXPR)  (nf)  (nr)       `_` is (field 0)
//   names       (name x)
//   operators   (- EXPR)  (! EXPR)  (+ LHS RHS) ... (|| LHS RHS)  (? COND THEN ELSE)
//   calls       (call NAME ARG...)
//
// With `locations`, every node's head is followed by @LINE:COL, e.g.
// (+@1:3 (int@1:1 1) (int@1:5 2)); an option flag reads `ordered@1:20`, a
// parameter `a@1:9`. The parser (grammar/actions.h) locates:
//   a literal, name, call or field at its first byte ('$' for a field);
//   a unary or binary expression at its operator, a conditional at its '?';
//   a stage call at its name, a pipeline at its first stage;
//   an argument at its start (its name when named), a block at its '{';
//   a let, block let, stage definition, parameter or option at its name;
//   replicas at the count ('-' of a negative one).
#pragma once

#include <string>

#include "compiler/ast.h"

namespace flow {

struct DumpOptions {
  bool locations = false;
};

std::string DumpProgram(const Program& program, DumpOptions options = {});
std::string DumpStatement(const Statement& statement, DumpOptions options = {});
std::string DumpPipeline(const Pipeline& pipeline, DumpOptions options = {});
std::string DumpBlock(const Block& block, DumpOptions options = {});
std::string DumpExpr(const Expr& expr, DumpOptions options = {});

}  // namespace flow
