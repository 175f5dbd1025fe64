// The entry point of the front end: .flow text in, syntax tree out.
#pragma once

#include "compiler/ast.h"
#include "compiler/diagnostics.h"
#include "compiler/source.h"

namespace flow {

// Nesting deeper than this (brackets, unary operators) is refused with a
// clear error rather than risking the stack: PEG recursion, the checker and
// the interpreter all recurse once per level.
inline constexpr int kMaxNestingDepth = 256;
// Later passes may also rely on this: no expression tree is more than
// kMaxExprHeight (grammar/ast_builder.h, 1024) levels high, however long a
// flat chain like `1 + 1 + ... + 1` is written.

// Parses the whole of `file`. Every syntax error is reported to `sink` (at
// least one per statement: after an error the parser skips to the end of the
// statement and goes on). Statements with errors are left out of the result.
Program ParseProgram(const SourceFile& file, DiagnosticSink& sink);

}  // namespace flow
