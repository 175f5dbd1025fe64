// Code generation: checked, typed blocks to LLVM IR. Each block becomes one
// function with the FlowBlockFn signature of block_function.h; all the blocks
// of a program go into one module, so LLVM's fixed cost (the optimization
// pipeline, instruction selection, linking) is paid once per program.
//
// The generated code agrees byte for byte with the reference interpreter
// (interpreter.cc): integer arithmetic, comparisons, field reads and control
// flow are inline; everything else (text, conversions, regexes, float
// arithmetic) calls the code the interpreter calls, through jit_runtime.h.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compiler/ast.h"
#include "compiler/block_function.h"
#include "compiler/jit.h"

namespace llvm {
class TargetMachine;
}  // namespace llvm

namespace flow {

// What the code of one block needs in its JitBlockState besides the field
// separator: the patterns of its matches/capture calls, to be compiled into
// JitBlockState::regexes in this order.
struct BlockCode {
  std::vector<std::string> regexes;
  // The block also has a run entry (FlowBlockRunFn), `symbol` + "_run".
  bool has_run = false;
};

// Builds one module, block by block.
class ModuleCodegen {
 public:
  ModuleCodegen();
  ~ModuleCodegen();
  ModuleCodegen(const ModuleCodegen&) = delete;
  ModuleCodegen& operator=(const ModuleCodegen&) = delete;

  // Emits the function `symbol` for `block` (which need not outlive the
  // call), returning its value as `want` asks, and its run entry when the
  // want has one (BlockCode::has_run). False and `*error` when the
  // block holds something a checked block cannot (the caller interprets
  // such a block instead); the module is then as it was.
  bool AddBlock(const Block& block, FlowBlockWant want, const std::string& symbol, BlockCode* code,
                std::string* error);

  // The module, given the target's data layout and optimized by the O2
  // pipeline; the ModuleCodegen is spent afterwards.
  JitModule Finish(llvm::TargetMachine& target);

  // The module's IR as text (before Finish), for tests and debugging.
  std::string PrintIr() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flow
