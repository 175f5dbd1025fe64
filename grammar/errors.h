// What the user reads when a must<> rule of grammar/rules.h fails: one
// message per rule, as in PEGTL's json_errors example. control.h refuses to
// compile a must<> target missing from this table.
//
// Placeholders, filled from the parser's state when the error is raised:
//   {binop}  the binary operator just read        {unop}  the unary operator
//   {open}   line:col of the innermost open bracket, '?' or string
//   {name}   the name being defined (let, stage, block let, named argument, option)
//   {stage}  the stage being parsed or just parsed  {call}  the function being called
//   {here}   the name where the parser stopped
#pragma once

#include "grammar/rules.h"

namespace flow::grammar {

// clang-format off
template <typename> inline constexpr const char* error_message = nullptr;

// Lexical
template <> inline constexpr auto error_message<string_close> = "unterminated string";
template <> inline constexpr auto error_message<raw_string_close> = "unterminated raw string";

// Expressions
template <> inline constexpr auto error_message<paren_value> = "expected an expression after '('";
template <> inline constexpr auto error_message<paren_close> = "expected ')' to close the '(' opened at {open}";
template <> inline constexpr auto error_message<field_body> = "expected a field number or '(' after '$'";
template <> inline constexpr auto error_message<field_name> = "expected a field number or '(' after '$' (did you mean '$({here})'?)";
template <> inline constexpr auto error_message<field_index> = "expected an expression after '$('";
template <> inline constexpr auto error_message<field_index_close> = "expected ')' to close the '$(' opened at {open}";
template <> inline constexpr auto error_message<call_arg_after_comma> = "expected an argument after ','";
template <> inline constexpr auto error_message<call_close> = "expected ')' to close the arguments of '{call}'";
template <> inline constexpr auto error_message<unary_operand> = "expected an expression after '{unop}'";
template <> inline constexpr auto error_message<binary_rhs> = "expected an expression after '{binop}'";
template <> inline constexpr auto error_message<then_expr> = "expected an expression after '?'";
template <> inline constexpr auto error_message<conditional_colon> = "expected ':' to go with the '?' at {open}";
template <> inline constexpr auto error_message<else_expr> = "expected an expression after ':'";

// Stages
template <> inline constexpr auto error_message<named_arg_value> = "expected a value after '{name} ='";
template <> inline constexpr auto error_message<stage_arg_after_comma> = "expected an argument after ','";
template <> inline constexpr auto error_message<stage_args_close> = "expected ')' to close the arguments of '{stage}'";
template <> inline constexpr auto error_message<block_let_name> = "expected a name after 'let'";
template <> inline constexpr auto error_message<block_let_eq> = "expected '=' after 'let {name}'";
template <> inline constexpr auto error_message<block_let_value> = "expected an expression after '='";
template <> inline constexpr auto error_message<block_let_semicolon> = "expected ';' after the value of '{name}': a 'let' in a block ends with ';'";
template <> inline constexpr auto error_message<block_result> = "expected an expression in the block";
template <> inline constexpr auto error_message<block_close> = "expected '}' to close the block opened at {open}";
template <> inline constexpr auto error_message<replica_count> = "expected a count after '*': a number, a name or 'auto'";
template <> inline constexpr auto error_message<option> = "expected an option name";
template <> inline constexpr auto error_message<option_value> = "expected a value after '{name} ='";
template <> inline constexpr auto error_message<options_close> = "expected ']' to close the options of '{stage}'";
template <> inline constexpr auto error_message<stage_after_pipe> = "expected a stage after '|'";

// Statements
template <> inline constexpr auto error_message<let_name> = "expected a name after 'let'";
template <> inline constexpr auto error_message<let_eq> = "expected '=' after 'let {name}'";
template <> inline constexpr auto error_message<let_value> = "expected an expression after '='";
template <> inline constexpr auto error_message<let_end> = "expected ';' or a new line after the value of '{name}'";
template <> inline constexpr auto error_message<stage_def_name> = "expected a name after 'stage'";
template <> inline constexpr auto error_message<param> = "expected a parameter name";
template <> inline constexpr auto error_message<params_close> = "expected ')' to close the parameters of '{name}'";
template <> inline constexpr auto error_message<stage_def_eq> = "expected '=' or '(' after 'stage {name}'";
template <> inline constexpr auto error_message<stage_def_eq_after_params> = "expected '=' after the parameters of '{name}'";
template <> inline constexpr auto error_message<stage_def_body> = "expected a pipeline after 'stage {name} ='";
template <> inline constexpr auto error_message<stage_def_end> = "expected '|', ';' or a new line after stage '{stage}'";
template <> inline constexpr auto error_message<pipeline_end> = "expected '|', ';' or a new line after stage '{stage}'";
template <> inline constexpr auto error_message<stray_pipe> = "expected a stage before '|'";
template <> inline constexpr auto error_message<statement> = "expected a statement: 'let', 'stage' or a pipeline";

// Errors where a lone '=' or '&' in the text most likely meant '==' or '&&'.
template <typename> inline constexpr bool operator_hint = false;
template <> inline constexpr bool operator_hint<paren_close> = true;
template <> inline constexpr bool operator_hint<field_index_close> = true;
template <> inline constexpr bool operator_hint<call_close> = true;
template <> inline constexpr bool operator_hint<conditional_colon> = true;
template <> inline constexpr bool operator_hint<block_close> = true;
template <> inline constexpr bool operator_hint<block_let_semicolon> = true;
template <> inline constexpr bool operator_hint<let_end> = true;

// Errors whose caret belongs under the construct's first byte (the opening
// quote) rather than where the parser stopped (the end of the line).
template <typename> inline constexpr bool error_at_opening = false;
template <> inline constexpr bool error_at_opening<string_close> = true;
template <> inline constexpr bool error_at_opening<raw_string_close> = true;
// clang-format on

}  // namespace flow::grammar
