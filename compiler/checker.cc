// CheckProgram: the passes between the syntax tree and the StageGraph, in
// order. Each reports into one sink and goes on after an error, so a run
// shows every error in the file.
#include "compiler/checker.h"

#include "compiler/check_context.h"
#include "compiler/constant_folder.h"
#include "compiler/graph_builder.h"
#include "compiler/stage_checker.h"
#include "compiler/stage_definitions.h"
#include "compiler/stage_expander.h"

namespace flow {

std::optional<StageGraph> CheckProgram(Program& program, const CheckOptions& options, DiagnosticSink& sink) {
  // Statements with syntax errors were left out of `program`: saying there
  // is no pipeline would only repeat that.
  bool had_syntax_errors = sink.has_errors();
  CheckContext ctx(sink, options);

  ConstantScope globals;
  ConstantFolder folder(ctx);
  folder.FoldGlobalLets(program, globals);

  StageDefinitions definitions(ctx);
  definitions.Collect(program);

  StageChecker stage_checker(ctx, folder);
  StageExpander expander(ctx, folder, stage_checker, definitions, globals);
  GraphBuilder builder(ctx);
  int pipelines = 0;
  for (Statement& statement : program.statements) {
    if (Pipeline* pipeline = std::get_if<Pipeline>(&statement)) {
      builder.AddStatement(expander.Expand(*pipeline, globals));
      ++pipelines;
    }
  }
  expander.CheckUnusedDefinitions();
  if (pipelines == 0 && !had_syntax_errors) ctx.Error(SourceLoc{}, "the program has no pipeline to run");
  if (sink.has_errors()) return std::nullopt;
  // Only now: an error can leave an `arg` unread (in the arguments of an
  // unknown stage, say), and the warning would then be wrong.
  folder.WarnUnreadParams();
  return builder.Finish();
}

}  // namespace flow
