// The one file that talks to LLVM's ORC JIT (LLJIT): its API moves between
// LLVM releases, so every ORC call sits behind this small class, as in
// LLVM's KaleidoscopeJIT. No LLVM header is included here: only the few
// files that generate code see LLVM's types.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
namespace orc {
class LLJIT;
}  // namespace orc
}  // namespace llvm

namespace flow {

// A module of generated code with the context that owns its types.
struct JitModule {
  JitModule();
  ~JitModule();
  JitModule(JitModule&&) noexcept;
  JitModule& operator=(JitModule&&) noexcept;

  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
};

class Jit {
 public:
  // A JIT for the host, with the runtime-support functions of
  // jit_runtime.h defined. nullptr and `*error` when LLVM cannot make one.
  static std::unique_ptr<Jit> Create(std::string* error);
  ~Jit();
  Jit(const Jit&) = delete;
  Jit& operator=(const Jit&) = delete;

  // The host's target: the optimization pipeline tunes for it, and a
  // module takes its data layout before it is optimized.
  llvm::TargetMachine& target_machine() const { return *target_machine_; }

  // Hands `module` to the JIT; nothing is compiled until a Lookup.
  bool AddModule(JitModule module, std::string* error);

  // `module` (optimized) compiled to an object file for the host, as the
  // JIT would compile it, into *object: what a JitCache keeps.
  bool CompileToObject(JitModule module, std::string* object, std::string* error);
  // Hands an object file of CompileToObject's, maybe from an earlier run,
  // to the JIT; linked at the first Lookup.
  bool AddObject(const std::string& object, std::string* error);
  // What shapes the code made for this host besides the IR: the target
  // triple, CPU and features, LLVM's version. For a JitCache's key.
  std::string HostDescription() const;

  // The address of `symbol`, compiling its module first if need be; 0 and
  // `*error` when it cannot be compiled or found.
  uint64_t Lookup(const std::string& symbol, std::string* error);

 private:
  Jit();

  std::unique_ptr<llvm::TargetMachine> target_machine_;
  std::unique_ptr<llvm::orc::LLJIT> lljit_;
};

}  // namespace flow
