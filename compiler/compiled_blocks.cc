#include "compiler/compiled_blocks.h"

#include <chrono>
#include <vector>

#include "compiler/codegen.h"
#include "compiler/interpreted_block.h"
#include "compiler/jit.h"
#include "compiler/jit_cache.h"
#include "compiler/jit_runtime.h"

namespace flow {
namespace {

constexpr char kNotFinalized[] =
    "internal error: the block was not compiled: CompiledBlocks::Finalize() must run before it";

// One block: its runtime state and whichever function serves it. The
// BlockFunction handed out points here, so Make() can return before the
// code exists; the extra indirect call costs about a nanosecond.
struct CompiledBlock {
  CompiledBlock(const Block& block, std::string fs_text, FlowBlockWant block_want, const SourceFile& source_file)
      : state(source_file.path(), fs_text),
        fs(std::move(fs_text)),
        want(block_want),
        file(&source_file),
        source(CloneBlock(block)) {}

  static void Call(void* self, const char* record, uint64_t len, int64_t nr, FlowBlockResult* result) {
    auto* block = static_cast<CompiledBlock*>(self);
    if (block->compiled) return block->compiled(&block->state, record, len, nr, result);
    if (block->interpreted) return block->interpreted(record, len, nr, result);
    *result = FlowBlockResult{};
    result->error = kNotFinalized;
    result->error_len = sizeof kNotFinalized - 1;
  }

  // The run entry's indirect call is paid once per run, not per record.
  static uint64_t CallRun(void* self, const char* data, const uint32_t* ends, uint32_t base, const int64_t* nrs,
                          uint64_t count, FlowRunValue* values, FlowBlockResult* error) {
    auto* block = static_cast<CompiledBlock*>(self);
    if (block->compiled_run) return block->compiled_run(&block->state, data, ends, base, nrs, count, values, error);
    return kFlowNoRun;
  }

  JitBlockState state;
  FlowBlockFn compiled = nullptr;
  FlowBlockRunFn compiled_run = nullptr;  // null: the block has no run entry
  bool has_run = false;                   // code generation made one
  BlockFunction interpreted;  // set when the block could not be compiled
  std::string fs;
  FlowBlockWant want;
  const SourceFile* file;
  std::unique_ptr<Block> source;  // kept until compiled, for the interpreter
  std::string symbol;
};

bool CompileRegexes(const BlockCode& code, JitBlockState* state) {
  for (const std::string& pattern : code.regexes) {
    std::string error;
    size_t offset = 0;
    std::unique_ptr<Regex> regex = Regex::Compile(pattern, &error, &offset);
    if (!regex) return false;  // code generation checked it: not reached
    state->regexes.push_back(std::move(regex));
  }
  return true;
}

class Stopwatch {
 public:
  explicit Stopwatch(double* total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~Stopwatch() { *total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  double* total_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

// Raised when the code made from the same IR changes without the IR
// showing it (codegen.cc's optimization pipeline, the object's form): the
// cache's entries of before are then misses.
constexpr int kCodeVersion = 1;

struct CompiledBlocks::Impl {
  explicit Impl(std::optional<JitCache> c) : cache(std::move(c)) {}

  std::optional<JitCache> cache;
  int cached = 0;
  std::vector<std::unique_ptr<CompiledBlock>> blocks;
  std::vector<CompiledBlock*> pending;     // made, not yet compiled
  std::unique_ptr<ModuleCodegen> codegen;  // the pending blocks' module
  std::unique_ptr<Jit> jit;
  InterpretedBlocks interpreter;
  std::string problems;  // why blocks made since the last Finalize are interpreted
  int interpreted = 0;
  int next_symbol = 0;
  double seconds = 0;

  void Interpret(CompiledBlock* block, const std::string& why) {
    block->interpreted = interpreter.Make(*block->source, block->fs, block->want, *block->file);
    block->source.reset();
    ++interpreted;
    if (!problems.empty()) problems += '\n';
    problems += why;
  }
};

CompiledBlocks::CompiledBlocks() : CompiledBlocks(JitCache::FromEnvironment()) {}
CompiledBlocks::CompiledBlocks(std::optional<JitCache> cache) : impl_(std::make_unique<Impl>(std::move(cache))) {}
CompiledBlocks::~CompiledBlocks() = default;

BlockFunction CompiledBlocks::Make(const Block& block, std::string fs, FlowBlockWant want, const SourceFile& file) {
  Stopwatch stopwatch(&impl_->seconds);
  impl_->blocks.push_back(std::make_unique<CompiledBlock>(block, std::move(fs), want, file));
  CompiledBlock* compiled = impl_->blocks.back().get();
  compiled->symbol = "flow_block_" + std::to_string(impl_->next_symbol++);
  if (!impl_->codegen) impl_->codegen = std::make_unique<ModuleCodegen>();
  BlockCode code;
  std::string error;
  if (impl_->codegen->AddBlock(block, want, compiled->symbol, &code, &error) &&
      CompileRegexes(code, &compiled->state)) {
    compiled->has_run = code.has_run;
    impl_->pending.push_back(compiled);
  } else {
    impl_->Interpret(compiled, file.path() + ":" + std::to_string(block.loc.line) + ":" +
                                   std::to_string(block.loc.column) + ": " + error);
  }
  return BlockFunction{&CompiledBlock::Call, compiled, &CompiledBlock::CallRun};
}

bool CompiledBlocks::Finalize(std::string* error) {
  if (!impl_->pending.empty()) {
    Stopwatch stopwatch(&impl_->seconds);
    std::string why;
    if (!impl_->jit) impl_->jit = Jit::Create(&why);
    const bool added = impl_->jit && AddCode(&why);
    impl_->codegen.reset();
    // Each lookup materializes its function: after this loop no LLVM code
    // runs for these blocks again (see jit.cc on fork safety).
    for (CompiledBlock* block : impl_->pending) {
      const uint64_t address = added ? impl_->jit->Lookup(block->symbol, &why) : 0;
      if (address == 0) {
        impl_->Interpret(block, why);
        continue;
      }
      block->compiled = reinterpret_cast<FlowBlockFn>(address);
      // Without its run entry the block still works, record by record.
      std::string no_run;
      const uint64_t run = block->has_run ? impl_->jit->Lookup(block->symbol + "_run", &no_run) : 0;
      block->compiled_run = reinterpret_cast<FlowBlockRunFn>(run);
      block->source.reset();
    }
    impl_->pending.clear();
  }
  const bool ok = impl_->problems.empty();
  if (error) *error = impl_->problems;
  impl_->problems.clear();
  return ok;
}

bool CompiledBlocks::AddCode(std::string* why) {
  Jit& jit = *impl_->jit;
  if (!impl_->cache) return jit.AddModule(impl_->codegen->Finish(jit.target_machine()), why);
  // Named by the IR before optimization: the optimizer's and the code
  // generator's milliseconds are what a hit saves.
  const std::string key = JitCache::Key(impl_->codegen->PrintIr() + "\n" + jit.HostDescription() + "\nflowrun " +
                                        FLOWRUN_VERSION + " code " + std::to_string(kCodeVersion));
  std::string object;
  if (impl_->cache->Load(key, &object) && jit.AddObject(object, why)) {
    ++impl_->cached;
    return true;
  }
  if (!jit.CompileToObject(impl_->codegen->Finish(jit.target_machine()), &object, why)) return false;
  impl_->cache->Store(key, object);  // or not: this run has its code either way
  return jit.AddObject(object, why);
}

int CompiledBlocks::cached_count() const { return impl_->cached; }

int CompiledBlocks::interpreted_count() const { return impl_->interpreted; }

double CompiledBlocks::compile_seconds() const { return impl_->seconds; }

}  // namespace flow
