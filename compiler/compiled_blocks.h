// Checked blocks behind the runtime's block-function ABI, compiled to native
// code by LLVM's ORC JIT: the counterpart of InterpretedBlocks, with the
// same Make(), plus Finalize(), which compiles what Make() generated.
//
// Use, in the supervisor: Make() each block, Finalize() once, and only then
// fork the workers. Finalize compiles every block made so far (all of them
// in one module: LLVM's fixed cost is paid once) and looks every function
// up, so that the workers inherit finished code and run nothing of LLVM.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "compiler/ast.h"
#include "compiler/block_function.h"
#include "compiler/jit_cache.h"
#include "compiler/source.h"

namespace flow {

class CompiledBlocks {
 public:
  // Machine code is kept in the cache the environment names
  // (JitCache::FromEnvironment), if any.
  CompiledBlocks();
  // Machine code is kept in `cache`; none: every Finalize compiles.
  explicit CompiledBlocks(std::optional<JitCache> cache);
  ~CompiledBlocks();
  CompiledBlocks(const CompiledBlocks&) = delete;
  CompiledBlocks& operator=(const CompiledBlocks&) = delete;

  // As InterpretedBlocks::Make: `fs` is the stage's field separator (""
  // = awk's default), `file` names the program in record errors. The
  // function is valid as long as the CompiledBlocks lives, and runs once
  // Finalize() has been called (before that, every call returns an
  // internal record error saying so).
  BlockFunction Make(const Block& block, std::string fs, FlowBlockWant want, const SourceFile& file);

  // Compiles the blocks made since the last call. A block that cannot be
  // compiled (a bug in code generation, or LLVM failing) runs in the
  // reference interpreter instead, which gives the same results: false and
  // `*error` say why, and the run can go on.
  bool Finalize(std::string* error = nullptr);

  // How many blocks run in the interpreter instead (0 unless something
  // went wrong), for tests.
  int interpreted_count() const;
  // The time spent generating and compiling code so far.
  double compile_seconds() const;
  // How many Finalize calls found their machine code in the cache, for tests.
  int cached_count() const;

 private:
  // The pending blocks' module into the JIT: from the cache, or compiled
  // (and then stored there), or, without a cache, as IR for the JIT to
  // compile at the first lookup.
  bool AddCode(std::string* why);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flow
