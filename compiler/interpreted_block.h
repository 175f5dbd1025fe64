// A checked block behind the runtime's block-function ABI, run by the
// reference interpreter (`--no-jit`, and every block until the JIT lands).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compiler/ast.h"
#include "compiler/block_function.h"
#include "compiler/source.h"

namespace flow {

class InterpretedBlock;

// Owns the interpreted blocks of a run; their BlockFunctions stay valid as
// long as it lives (in the supervisor and, after fork, in every worker).
class InterpretedBlocks {
 public:
  InterpretedBlocks();
  ~InterpretedBlocks();

  // `fs`: the stage's field separator ("" = awk's default); `file` names
  // the program in record errors ("etl.flow:9:16: ...").
  BlockFunction Make(const Block& block, std::string fs, FlowBlockWant want, const SourceFile& file);

 private:
  std::vector<std::unique_ptr<InterpretedBlock>> blocks_;
};

}  // namespace flow
