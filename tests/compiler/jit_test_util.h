// Shared by the JIT's tests: a program checked down to its one block, and
// a FlowBlockResult shown as one comparable string.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "compiler/block_function.h"
#include "compiler/checker.h"
#include "compiler/compiled_blocks.h"
#include "compiler/interpreted_block.h"
#include "compiler/text_functions.h"
#include "compiler/value.h"
#include "grammar/parser.h"

namespace flow::jittest {

// A program's text checked into its stage graph; `block` is the block of
// the first stage that has one, null when checking failed.
struct CheckedProgram {
  std::unique_ptr<SourceFile> file;
  Program program;
  std::optional<StageGraph> graph;
  const Block* block = nullptr;
  std::string diagnostics;
};

inline std::unique_ptr<CheckedProgram> CheckProgramText(const std::string& text) {
  auto checked = std::make_unique<CheckedProgram>();
  checked->file = std::make_unique<SourceFile>("t.flow", text);
  DiagnosticSink sink(checked->file.get());
  checked->program = ParseProgram(*checked->file, sink);
  CheckOptions options;
  options.getenv = [](const std::string&) { return std::optional<std::string>(); };
  if (!sink.has_errors()) checked->graph = CheckProgram(checked->program, options, sink);
  checked->diagnostics = sink.Render();
  if (checked->graph)
    for (const StageNode& node : checked->graph->nodes)
      if (node.block) {
        checked->block = node.block.get();
        break;
      }
  return checked;
}

// A checked program's block made both ways: by the JIT, finalized (false
// with its reason in `finalize_error` when that failed), and by the
// reference interpreter. The tests run both and compare.
struct BlockBothWays {
  BlockBothWays(const CheckedProgram& checked, const std::string& fs, FlowBlockWant want)
      : jit(compiled.Make(*checked.block, fs, want, *checked.file)),
        reference(interpreted.Make(*checked.block, fs, want, *checked.file)),
        finalized(compiled.Finalize(&finalize_error)) {}

  CompiledBlocks compiled;
  InterpretedBlocks interpreted;
  BlockFunction jit;
  BlockFunction reference;
  std::string finalize_error;
  bool finalized;
};

// "text:abc", "bool:true", "int:3", "float:1.5" (with the bits of a NaN),
// or "error:t.flow:1:5: division by zero".
inline std::string Show(const FlowBlockResult& r, FlowBlockWant want) {
  if (!r.ok) return "error:" + std::string(r.error, r.error_len);
  switch (want) {
    case kFlowWantText: return "text:" + std::string(r.text, r.text_len);
    case kFlowWantBool: return r.bool_value ? "bool:true" : "bool:false";
    case kFlowWantNumber:
      if (!r.is_float) return "int:" + std::to_string(r.int_value);
      if (std::isnan(r.float_value)) return "float:nan";  // payload-agnostic
      {
        char bits[32];
        std::snprintf(bits, sizeof bits, "%016llx",
                      static_cast<unsigned long long>(std::bit_cast<uint64_t>(r.float_value)));
        return "float:" + FormatFloat(r.float_value) + "/" + bits;
      }
  }
  return "?";
}

// Bytes made printable for a failure message.
inline std::string Printable(std::string_view bytes) {
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (b < 0x20 || b >= 0x7f) {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 15];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace flow::jittest
