// libFuzzer target: any bytes through the parser and the checker. Neither
// may crash, leak, hang or overflow the stack, whatever the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "compiler/checker.h"
#include "compiler/diagnostics.h"
#include "grammar/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  flow::SourceFile file("fuzz.flow", std::string(reinterpret_cast<const char*>(data), size));
  flow::DiagnosticSink sink(&file);
  flow::Program program = flow::ParseProgram(file, sink);
  if (!sink.has_errors()) {
    flow::CheckOptions options;
    options.params = {{"n", "3"}, {"server", "127.0.0.1:4343"}};
    options.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    options.online_cpus = 2;
    flow::CheckProgram(program, options, sink);
  }
  // Rendering reads source lines at every location: a bad location crashes here.
  (void)sink.Render();
  return 0;
}
