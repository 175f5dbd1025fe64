#include "grammar/parser.h"

#include <cassert>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "grammar/actions.h"
#include "grammar/ast_builder.h"
#include "grammar/control.h"
#include "grammar/recovery.h"
#include "grammar/rules.h"

namespace flow {

namespace grammar {

namespace {

std::string LineColumn(const SourceFile& file, size_t offset) {
  SourceLoc loc = file.LocAt(offset);
  return std::to_string(loc.line) + ":" + std::to_string(loc.column);
}

std::string ByteHex(unsigned char c) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", c);
  return hex;
}

// A byte no token can start with is the real news, whatever was expected.
std::optional<std::string> UnexpectedByte(std::string_view text, size_t offset) {
  if (offset >= text.size()) return std::nullopt;
  const auto c = static_cast<unsigned char>(text[offset]);
  if (c == 0) return "unexpected NUL byte";
  if (c >= 0x80) {
    size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;  // the file is valid UTF-8
    return "unexpected character '" + std::string(text.substr(offset, length)) + "'";
  }
  if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) return "unexpected control character " + ByteHex(c);
  return std::nullopt;
}

void Replace(std::string& s, std::string_view placeholder, const std::string& value) {
  size_t at = s.find(placeholder);
  if (at != std::string::npos) s.replace(at, placeholder.size(), value);
}

}  // namespace

SyntaxError MakeSyntaxError(const char* message, bool at_opening, bool operator_hint, size_t offset,
                            const AstBuilder& b) {
  const SourceFile& file = b.file();
  const std::string_view text = file.text();
  if (std::optional<std::string> unexpected = UnexpectedByte(text, offset)) return {offset, std::move(*unexpected)};
  const OpenRegion* open = b.Innermost();
  if (at_opening && open != nullptr) return {open->offset, message};
  const size_t stop = offset;
  // When the parser had to cross a line to find what it stopped at, the
  // thing missing belongs after the last token, so the caret goes there.
  if (offset == b.blanks_end() && b.blanks_begin() < offset &&
      text.substr(b.blanks_begin(), offset - b.blanks_begin()).find('\n') != std::string_view::npos) {
    offset = b.blanks_begin();
  }
  // At the end of the file, point just after the last token rather than at
  // an empty line below it.
  if (offset == text.size()) {
    while (offset > 0 && (text[offset - 1] == ' ' || text[offset - 1] == '\t' || text[offset - 1] == '\r' ||
                          text[offset - 1] == '\n')) {
      --offset;
    }
  }
  std::string out = message;
  Replace(out, "{binop}", b.LastBinaryOperator());
  if (open != nullptr) {
    Replace(out, "{unop}", std::string(1, text[open->offset]));
    Replace(out, "{open}", LineColumn(file, open->offset));
  }
  Replace(out, "{name}", b.LastName());
  Replace(out, "{stage}", b.CurrentStage());
  Replace(out, "{call}", b.CurrentCall());
  Replace(out, "{here}", std::string(IdentifierAt(text.data() + stop, text.data() + text.size())));
  // Where an operator or a closing bracket was expected, a lone '=' or '&'
  // is most likely the operator that doubles it.
  if (operator_hint && stop + 1 < text.size() && (text[stop] == '=' || text[stop] == '&') &&
      text[stop + 1] != text[stop]) {
    out += text[stop] == '=' ? " (did you mean '=='?)" : " (did you mean '&&'?)";
  }
  return {offset, std::move(out)};
}

}  // namespace grammar

Program ParseProgram(const SourceFile& file, DiagnosticSink& sink) {
  namespace pegtl = tao::pegtl;
  using Input = pegtl::memory_input<pegtl::tracking_mode::lazy, pegtl::eol::lf_crlf, const char*>;
  Program program;
  const std::string& text = file.text();
  if (std::optional<size_t> bad = grammar::FirstInvalidUtf8(text)) {
    sink.Error(file.LocAt(*bad),
               "the file is not valid UTF-8: byte " + grammar::ByteHex(static_cast<unsigned char>(text[*bad])));
    return program;
  }
  grammar::AstBuilder builder(file);
  // A UTF-8 byte order mark says nothing a .flow file needs.
  size_t pos = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  for (;;) {
    Input in(text.data() + pos, text.data() + text.size(), "flow");
    (void)pegtl::parse<grammar::statement_gap>(in);
    if (in.empty()) break;
    pos = builder.OffsetOf(in.current());
    try {
      pegtl::parse<grammar::program_statement, grammar::Action, grammar::Control>(in, builder);
      if (std::optional<Statement> statement = builder.TakeStatement()) program.statements.push_back(std::move(*statement));
      assert(builder.Idle() && "every part of a statement is attached to it");
      pos = builder.OffsetOf(in.current());
    } catch (const grammar::SyntaxError& e) {
      sink.Error(file.LocAt(e.offset), e.message);
      builder.Clear();
      pos = grammar::StatementEnd(text, pos, e.offset);
    }
  }
  return program;
}

}  // namespace flow
