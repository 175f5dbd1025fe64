#include "cli/front_end.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "compiler/checker.h"
#include "compiler/diagnostics.h"
#include "grammar/parser.h"

namespace flow {
namespace {

std::optional<std::string> ReadWholeFile(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    *error = std::strerror(errno);
    return std::nullopt;
  }
  return std::move(text).str();
}

}  // namespace

std::optional<CompiledProgram> CompileProgram(const FrontEndOptions& options) {
  CompiledProgram compiled;
  if (options.program) {
    compiled.file = std::make_unique<SourceFile>(options.program_name, *options.program);
  } else {
    std::string error;
    std::optional<std::string> text = ReadWholeFile(options.path, &error);
    if (!text) {
      std::fprintf(stderr, "flowrun: error: cannot read '%s': %s\n", options.path.c_str(), error.c_str());
      return std::nullopt;
    }
    compiled.file = std::make_unique<SourceFile>(options.path, std::move(*text));
  }

  DiagnosticSink sink(compiled.file.get());
  compiled.ast = ParseProgram(*compiled.file, sink);
  // A program with syntax errors is not checked: its broken statements are
  // missing from the tree, and checking the rest would report their absence
  // (unknown names) as errors of their own.
  std::optional<StageGraph> graph;
  if (!sink.has_errors()) {
    CheckOptions check;
    check.params = options.params;
    check.getenv = [&options](const std::string& name) -> std::optional<std::string> {
      std::optional<std::string> value;
      if (options.environment) {
        auto it = options.environment->find(name);
        if (it != options.environment->end()) value = it->second;
      } else if (const char* found = std::getenv(name.c_str())) {
        value = std::string(found);
      }
      if (value && options.environment_read != nullptr) (*options.environment_read)[name] = *value;
      return value;
    };
    check.queue_records = options.queue_records;
    check.queue_bytes = options.queue_bytes;
    check.online_cpus = options.online_cpus;
    graph = CheckProgram(compiled.ast, check, sink);
  }
  std::string rendered = sink.Render();
  std::fputs(rendered.c_str(), stderr);
  if (sink.has_errors() || !graph) {
    int n = sink.error_count();
    std::fprintf(stderr, "%d error%s\n", n, n == 1 ? "" : "s");
    return std::nullopt;
  }
  compiled.graph = std::move(*graph);
  return compiled;
}

}  // namespace flow
