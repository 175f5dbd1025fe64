// The PEGTL control of the parser: how a failed must<> becomes a message for
// the user, and the three places where matching depends on state (see the
// comment at the top of grammar/rules.h). Only grammar/parser.cc includes it.
#pragma once

#include <optional>
#include <type_traits>

#include "grammar/ast_builder.h"
#include "grammar/errors.h"
#include "grammar/rules.h"

namespace flow::grammar {

// The error for a failed must<Rule>: the table's message with its
// placeholders filled in, the caret moved where it helps most. Defined in
// parser.cc.
SyntaxError MakeSyntaxError(const char* message, bool at_opening, bool operator_hint, size_t offset,
                            const AstBuilder& b);

// The rules that open a region, and how many bytes before the rule's first
// byte the opening token starts (the '$' of "$(" is two bytes back).
template <typename> inline constexpr std::optional<Region> region_of = std::nullopt;
template <> inline constexpr std::optional<Region> region_of<paren_inner> = Region::kParen;
template <> inline constexpr std::optional<Region> region_of<field_index_inner> = Region::kFieldIndex;
template <> inline constexpr std::optional<Region> region_of<call_inner> = Region::kCallArgs;
template <> inline constexpr std::optional<Region> region_of<stage_args_inner> = Region::kStageArgs;
template <> inline constexpr std::optional<Region> region_of<params_inner> = Region::kParams;
template <> inline constexpr std::optional<Region> region_of<block_inner> = Region::kBlock;
template <> inline constexpr std::optional<Region> region_of<options_inner> = Region::kOptions;
template <> inline constexpr std::optional<Region> region_of<prefixed_inner> = Region::kUnary;
template <> inline constexpr std::optional<Region> region_of<conditional_inner> = Region::kConditional;
template <> inline constexpr std::optional<Region> region_of<string_lit> = Region::kString;
template <> inline constexpr std::optional<Region> region_of<raw_string_lit> = Region::kString;

template <typename> inline constexpr size_t opener_back = 1;
template <> inline constexpr size_t opener_back<field_index_inner> = 2;
template <> inline constexpr size_t opener_back<string_lit> = 0;
template <> inline constexpr size_t opener_back<raw_string_lit> = 0;

template <typename Rule>
struct Control : normal<Rule> {
  template <apply_mode A, rewind_mode M, template <typename...> class Action, template <typename...> class Ctl,
            typename Input>
  static bool match(Input& in, AstBuilder& b) {
    if constexpr (std::is_same_v<Rule, sep> || std::is_same_v<Rule, ws_any>) {
      // Remembered so an error can point just after the last token.
      const size_t begin = b.OffsetOf(in.current());
      const bool matched = normal<Rule>::template match<A, M, Action, Ctl>(in, b);
      b.NoteBlanks(begin, b.OffsetOf(in.current()));
      return matched;
    } else if constexpr (region_of<Rule>.has_value()) {
      // Enter throws past the depth limit, before the recursion goes deeper.
      b.Enter(*region_of<Rule>, b.OffsetOf(in.current()) - opener_back<Rule>);
      const bool matched = normal<Rule>::template match<A, M, Action, Ctl>(in, b);
      b.Leave();
      return matched;
    } else {
      return normal<Rule>::template match<A, M, Action, Ctl>(in, b);
    }
  }

  template <typename Input>
  [[noreturn]] static void raise(const Input& in, AstBuilder& b) {
    static_assert(error_message<Rule> != nullptr, "every must<> target needs a message in grammar/errors.h");
    throw MakeSyntaxError(error_message<Rule>, error_at_opening<Rule>, operator_hint<Rule>,
                          b.OffsetOf(in.current()), b);
  }
};

// Newlines are blanks inside brackets: sep asks this rule where it is.
template <>
struct Control<inside_brackets> : normal<inside_brackets> {
  template <apply_mode A, rewind_mode M, template <typename...> class Action, template <typename...> class Ctl,
            typename Input>
  static bool match(Input& /*in*/, AstBuilder& b) {
    return b.InsideBrackets();
  }
};

// A stage argument is an expression when it reads as one up to the next ','
// or ')' (`tee(write("x"))`: a call the checker turns into a stage);
// otherwise it is the reading, expression or pipeline, that gets further
// before it stops or fails: `tee(map { $1 } | write("x"))` is a pipeline,
// `head(5 6)` an expression followed by an error at '6'. An error is only
// reported when neither reading gets past it. Each attempt is undone with a
// Snapshot, exceptions included.
template <>
struct Control<arg_value> : normal<arg_value> {
  struct Attempt {
    bool matched = false;
    std::optional<SyntaxError> error;
    long long reach = -1;  // offset where it stopped (matched) or failed (error)
  };

  template <typename R, apply_mode A, template <typename...> class Action, template <typename...> class Ctl,
            typename Input>
  static Attempt Try(Input& in, AstBuilder& b) {
    Attempt attempt;
    try {
      attempt.matched = Ctl<R>::template match<A, rewind_mode::required, Action, Ctl>(in, b);
      if (attempt.matched) attempt.reach = static_cast<long long>(b.OffsetOf(in.current()));
    } catch (SyntaxError& e) {
      attempt.reach = static_cast<long long>(e.offset);
      attempt.error = std::move(e);
    }
    return attempt;
  }

  template <apply_mode A, rewind_mode M, template <typename...> class Action, template <typename...> class Ctl,
            typename Input>
  static bool match(Input& in, AstBuilder& b) {
    const char* const start = in.current();
    const AstBuilder::Snapshot before = b.Take();
    const Attempt expr = Try<arg_expr, A, Action, Ctl>(in, b);
    if (expr.matched) {
      const char* const end = in.current();
      const bool followed = Ctl<arg_end_ahead>::template match<apply_mode::nothing, rewind_mode::required, Action, Ctl>(in, b);
      in.iterator() = end;
      if (followed) return true;
    }
    b.RollBack(before);
    in.iterator() = start;
    const Attempt pipe = Try<arg_pipeline, A, Action, Ctl>(in, b);
    if (pipe.matched && pipe.reach > expr.reach) return true;

    b.RollBack(before);
    in.iterator() = start;
    const Attempt& winner = pipe.reach > expr.reach ? pipe : expr;
    if (winner.error) throw *winner.error;
    if (!winner.matched) return false;
    // The expression won after the pipeline was tried: read it again.
    return Ctl<arg_expr>::template match<A, rewind_mode::required, Action, Ctl>(in, b);
  }
};

}  // namespace flow::grammar
