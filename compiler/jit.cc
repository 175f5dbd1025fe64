// Why this is safe to use before fork() (the supervisor compiles every block,
// then forks the workers, which only call the compiled functions):
//  - The LLJIT is built with 0 compile threads, so compilation runs on the
//    calling thread and LLVM starts no thread pool: the process stays
//    single-threaded, and a fork cannot copy a lock held by another thread
//    (with compile threads, a child forked later hangs in the pool's
//    destructor).
//  - CompiledBlocks::Finalize looks every block function up before the
//    caller forks; a lookup materializes (compiles and links) the symbol, so
//    the code already sits in executable memory that the children inherit.
//  - Nothing of LLVM runs in a worker: a worker only calls the functions
//    through plain pointers, and those call only jit_runtime.cc and libc.
#include "compiler/jit.h"

#include <mutex>

#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Target/TargetMachine.h>

#include "compiler/jit_runtime.h"

namespace flow {
namespace {

std::string Message(llvm::Error error) { return llvm::toString(std::move(error)); }

void InitializeLlvmOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Both: the target to generate code, its printer to emit machine code.
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

}  // namespace

JitModule::JitModule() = default;
JitModule::~JitModule() {
  // The module uses the context: it goes first.
  module.reset();
  context.reset();
}
JitModule::JitModule(JitModule&&) noexcept = default;
JitModule& JitModule::operator=(JitModule&&) noexcept = default;

Jit::Jit() = default;
Jit::~Jit() = default;

std::unique_ptr<Jit> Jit::Create(std::string* error) {
  InitializeLlvmOnce();
  llvm::Expected<llvm::orc::JITTargetMachineBuilder> builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder) {
    *error = "cannot describe the host to LLVM: " + Message(builder.takeError());
    return nullptr;
  }
  // Position-independent code for the small code model, stated here (it is
  // what LLJIT asks for when it links with JITLink) so that an object our
  // own target machine compiles (CompileToObject) links as the JIT's own.
  builder->setRelocationModel(llvm::Reloc::PIC_);
  builder->setCodeModel(llvm::CodeModel::Small);
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine = builder->createTargetMachine();
  if (!machine) {
    *error = "cannot make a target machine for the host: " + Message(machine.takeError());
    return nullptr;
  }
  llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>> lljit =
      llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(*builder).setNumCompileThreads(0).create();
  if (!lljit) {
    *error = "cannot start the LLVM JIT: " + Message(lljit.takeError());
    return nullptr;
  }
  std::unique_ptr<Jit> jit(new Jit());
  jit->target_machine_ = std::move(*machine);
  jit->lljit_ = std::move(*lljit);

  // The runtime-support functions are bound by address: they live in this
  // binary, which need not export them for a dynamic lookup to find them.
  llvm::orc::SymbolMap symbols;
  for (const RuntimeSymbol& symbol : RuntimeSymbols())
    symbols[jit->lljit_->mangleAndIntern(symbol.name)] =
        llvm::orc::ExecutorSymbolDef(llvm::orc::ExecutorAddr(symbol.address),
                                     llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
  if (llvm::Error e = jit->lljit_->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(symbols)))) {
    *error = "cannot define the JIT's runtime functions: " + Message(std::move(e));
    return nullptr;
  }
  return jit;
}

bool Jit::AddModule(JitModule module, std::string* error) {
  llvm::orc::ThreadSafeModule safe(std::move(module.module), llvm::orc::ThreadSafeContext(std::move(module.context)));
  if (llvm::Error e = lljit_->addIRModule(std::move(safe))) {
    *error = "cannot add generated code to the JIT: " + Message(std::move(e));
    return false;
  }
  return true;
}

bool Jit::CompileToObject(JitModule module, std::string* object, std::string* error) {
  llvm::orc::SimpleCompiler compile(*target_machine_);
  llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> compiled = compile(*module.module);
  if (!compiled) {
    *error = "cannot compile generated code: " + Message(compiled.takeError());
    return false;
  }
  object->assign((*compiled)->getBufferStart(), (*compiled)->getBufferSize());
  return true;
}

bool Jit::AddObject(const std::string& object, std::string* error) {
  if (llvm::Error e = lljit_->addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(object, "flowrun-blocks"))) {
    *error = "cannot add compiled code to the JIT: " + Message(std::move(e));
    return false;
  }
  return true;
}

std::string Jit::HostDescription() const {
  return target_machine_->getTargetTriple().str() + " " + target_machine_->getTargetCPU().str() + " " +
         target_machine_->getTargetFeatureString().str() + " LLVM " LLVM_VERSION_STRING;
}

uint64_t Jit::Lookup(const std::string& symbol, std::string* error) {
  llvm::Expected<llvm::orc::ExecutorAddr> address = lljit_->lookup(symbol);
  if (!address) {
    *error = "cannot compile '" + symbol + "': " + Message(address.takeError());
    return 0;
  }
  return address->getValue();
}

}  // namespace flow
