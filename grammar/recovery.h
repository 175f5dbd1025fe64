// Plain scans of the source that the parser needs around the grammar: the
// UTF-8 check before parsing, and where a statement with an error ends so
// parsing can go on after it.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace flow::grammar {

// The offset of the first byte that does not belong to a valid UTF-8
// sequence (overlong forms, surrogates and code points past U+10FFFF are
// invalid), or nullopt when all of `text` is UTF-8.
std::optional<size_t> FirstInvalidUtf8(std::string_view text);

// Where to resume after a syntax error at `error` in the statement that
// starts at `start`: just after the ';' or newline that ends the statement
// under the lexical rules (strings, comments, brackets, continuation lines).
// A ';' outside a block ends it even inside ( ) or [ ]. An unclosed bracket
// or a '|' with nothing after it would run on, so a line that starts with
// 'let' or 'stage' in its first column also ends the statement. The result
// is past `start`, and at or past `error`.
size_t StatementEnd(std::string_view text, size_t start, size_t error);

}  // namespace flow::grammar
