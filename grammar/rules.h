// The grammar of a .flow program: contract sections 2, 3 and 5 and
// docs/language.md, as PEGTL rules. Rules only; elsewhere:
//   grammar/errors.h    the message of every must<> target;
//   grammar/actions.h   what each rule adds to the syntax tree;
//   grammar/control.h   three rules whose meaning needs state:
//     inside_brackets   matches (empty) only inside ( ), { } or [ ], where
//                       newlines are blanks, as in Python;
//     *_inner regions   count nesting (parser.h's kMaxNestingDepth) and give
//                       "opened at" to errors;
//     arg_value         tries arg_expr and arg_pipeline and keeps the one
//                       that reaches further.
// A production in a comment uses the contract's notation.
#pragma once

#include <tao/pegtl.hpp>

namespace flow::grammar {

using namespace tao::pegtl;  // NOLINT: the rule vocabulary

// clang-format off

// ---- Lexical ----------------------------------------------------------------

// comment := '#' { byte except newline and NUL }
struct comment : seq<one<'#'>, star<not_one<'\n', '\0'>>> {};
// blank := ' ' | tab | CR | comment
struct blank : sor<one<' ', '\t', '\r'>, comment> {};
struct newline : one<'\n'> {};
// (empty), only inside brackets
struct inside_brackets : success {};
// sep := { blank } outside brackets, { blank | newline } inside
struct sep : sor<seq<inside_brackets, star<sor<blank, newline>>>, star<blank>> {};
// ws_any := { blank | newline }: around a '|' that continues a pipeline
struct ws_any : star<sor<blank, newline>> {};
// statement_gap := { blank | newline | ';' }: between statements
struct statement_gap : star<sor<blank, newline, one<';'>>> {};

// identifier := [A-Za-z_] { [A-Za-z0-9_] }
struct ident_first : ranges<'a', 'z', 'A', 'Z', '_'> {};
struct ident_other : ranges<'a', 'z', 'A', 'Z', '0', '9', '_'> {};
struct identifier : seq<ident_first, star<ident_other>> {};
// keyword := 'let' | 'stage' | 'true' | 'false'
struct kw_let : TAO_PEGTL_KEYWORD("let") {};
struct kw_stage : TAO_PEGTL_KEYWORD("stage") {};
struct kw_true : TAO_PEGTL_KEYWORD("true") {};
struct kw_false : TAO_PEGTL_KEYWORD("false") {};
struct keyword : sor<kw_let, kw_stage, kw_true, kw_false> {};

// number_token := digit { [A-Za-z0-9_] | '.' digit | [eE] [+-] digit }
// (one token for 1_000, 2.5e-3, 250ms, 4MiB and also 5sec: literals.cc decides)
struct exponent_sign : seq<one<'e', 'E'>, one<'+', '-'>, digit> {};
struct fraction : seq<one<'.'>, digit> {};
struct number_token : seq<digit, star<sor<exponent_sign, fraction, ident_other>>> {};

// string := '"' { escape | byte except '"' '\' newline NUL } '"'   (escapes: literals.cc)
struct escaped : seq<one<'\\'>, not_one<'\n', '\0'>> {};
struct string_char : sor<escaped, not_one<'"', '\\', '\n', '\0'>> {};
struct string_close : one<'"'> {};
struct string_lit : seq<one<'"'>, star<string_char>, must<string_close>> {};
// raw_string := 'r"' { byte except '"' newline NUL } '"'
struct raw_string_close : one<'"'> {};
struct raw_string_lit : seq<one<'r'>, one<'"'>, star<not_one<'"', '\n', '\0'>>, must<raw_string_close>> {};

// ---- Expressions (section 5) ------------------------------------------------
// The binary operators are matched as a flat chain, operand { op operand },
// and the builder orders them by precedence: no recursion per operand.

struct expr;

// paren := '(' expr ')'
struct paren_value : seq<expr> {};
struct paren_close : one<')'> {};
struct paren_inner : seq<sep, must<paren_value>, sep, must<paren_close>> {};
struct paren_expr : seq<one<'('>, paren_inner> {};

// field := '$' ( INT | '(' expr ')' )
struct field_number : number_token {};
struct field_index : seq<expr> {};
struct field_index_close : one<')'> {};
struct field_index_inner : seq<sep, must<field_index>, sep, must<field_index_close>> {};
struct field_index_expr : seq<one<'('>, field_index_inner> {};
struct field_name : identifier {};  // $NF: an error, with a hint to write $(NF)
struct field_body : sor<field_index_expr, field_number, seq<at<field_name>, raise<field_name>>> {};
struct field : seq<one<'$'>, must<field_body>> {};

// special := 'NF' | 'NR' | '_' (the whole record, $0)
struct nf : TAO_PEGTL_KEYWORD("NF") {};
struct nr : TAO_PEGTL_KEYWORD("NR") {};
struct record : TAO_PEGTL_KEYWORD("_") {};
struct bool_lit : sor<kw_true, kw_false> {};
struct number : number_token {};

// call := NAME '(' [ expr { ',' expr } ] ')'
struct call_head : seq<not_at<keyword>, identifier, sep, one<'('>> {};
struct call_arg : seq<expr> {};
struct call_arg_after_comma : seq<expr> {};
struct call_close : one<')'> {};
struct call_inner : seq<sep, opt<call_arg, star<sep, one<','>, sep, must<call_arg_after_comma>>>, sep, must<call_close>> {};
struct call : seq<call_head, call_inner> {};
struct name_ref : seq<not_at<keyword>, identifier> {};

// primary := paren | field | string | raw_string | number | bool | special | call | NAME
struct primary : sor<paren_expr, field, string_lit, raw_string_lit, number, bool_lit, nf, nr, record, call, name_ref> {};

// operand := ( '-' | '!' ) operand | primary
struct operand;
struct unary_op : one<'-', '!'> {};
struct unary_operand : seq<operand> {};
struct prefixed_inner : seq<sep, must<unary_operand>> {};
struct prefixed : seq<unary_op, prefixed_inner> {};
struct operand : sor<prefixed, primary> {};

// binary_op := '||' | '&&' | '==' | '!=' | '<=' | '>=' | '<' | '>' | '+' | '-' | '*' | '/' | '%'
struct binary_op : sor<string<'|', '|'>, string<'&', '&'>, string<'=', '='>, string<'!', '='>, string<'<', '='>,
                       string<'>', '='>, one<'<', '>', '+', '-', '*', '/', '%'>> {};
struct binary_rhs : seq<operand> {};
struct chain_begin : success {};
// chain := operand { binary_op operand }
struct chain : seq<operand, chain_begin, star<sep, binary_op, sep, must<binary_rhs>>> {};

// expr := chain [ '?' expr ':' expr ]   (right-associative)
struct then_expr : seq<expr> {};
struct else_expr : seq<expr> {};
struct conditional_colon : one<':'> {};
struct conditional_inner : seq<sep, must<then_expr>, sep, must<conditional_colon>, sep, must<else_expr>> {};
struct conditional : seq<one<'?'>, conditional_inner> {};
struct expr : seq<chain, opt<sep, conditional>> {};

// ---- Stages (section 3) -----------------------------------------------------

struct pipeline;

// arg := [ NAME '=' ] ( expr | pipeline )
struct arg_name : seq<identifier, sep, one<'='>, not_at<one<'='>>> {};
struct arg_expr : seq<expr> {};
struct arg_pipeline : seq<pipeline> {};
struct arg_value : sor<arg_expr, arg_pipeline> {};
struct arg_end_ahead : seq<sep, at<one<',', ')'>>> {};
struct named_arg_value : seq<arg_value> {};
struct named_arg : seq<arg_name, sep, must<named_arg_value>> {};
struct stage_arg : sor<named_arg, arg_value> {};
struct stage_arg_after_comma : seq<stage_arg> {};
// args := '(' [ arg { ',' arg } ] ')'
struct stage_args_open : one<'('> {};
struct stage_args_close : one<')'> {};
struct stage_args_inner : seq<sep, opt<stage_arg, star<sep, one<','>, sep, must<stage_arg_after_comma>>>, sep, must<stage_args_close>> {};
struct stage_args : seq<stage_args_open, stage_args_inner> {};

// block := '{' { 'let' NAME '=' expr ';' } expr '}'
struct block_let_name : identifier {};
struct block_let_eq : one<'='> {};
struct block_let_value : seq<expr> {};
struct block_let_semicolon : one<';'> {};
struct block_let : seq<kw_let, sep, must<block_let_name>, sep, must<block_let_eq>, sep, must<block_let_value>, sep, must<block_let_semicolon>> {};
struct block_result : seq<expr> {};
struct block_close : one<'}'> {};
struct block_inner : seq<sep, star<block_let, sep>, must<block_result>, sep, must<block_close>> {};
struct block_open : one<'{'> {};
struct block : seq<block_open, block_inner> {};

// count := [ '-' ] INT | 'auto' | NAME   (0 and negative counts parse; the checker refuses them)
struct replica_number : seq<opt<one<'-'>>, number_token> {};
struct replica_auto : TAO_PEGTL_KEYWORD("auto") {};
struct replica_name : identifier {};
struct replica_count : sor<replica_number, replica_auto, replica_name> {};
struct replicas : seq<one<'*'>, sep, must<replica_count>> {};

// options := '[' option { ',' option } ']' ;  option := NAME [ '=' expr ]
struct option_name : identifier {};
struct option_value : seq<expr> {};
struct option : seq<option_name, opt<sep, one<'='>, sep, must<option_value>>> {};
struct options_close : one<']'> {};
struct options_inner : seq<sep, must<option>, star<sep, one<','>, sep, must<option>>, sep, must<options_close>> {};
struct options : seq<one<'['>, options_inner> {};

// stage := NAME [ args ] [ block ] [ '*' count ] [ options ]
// ('let' and 'stage' start a statement: after a '|' they mean a stage is missing)
struct definition_keyword : sor<kw_let, kw_stage> {};
struct stage_name : seq<not_at<definition_keyword>, identifier> {};
struct stage_call : seq<stage_name, opt<sep, stage_args>, opt<sep, block>, opt<sep, replicas>, opt<sep, options>> {};

// pipeline := stage { '|' stage }, newlines allowed on either side of '|'
struct stage_after_pipe : seq<stage_call> {};
struct pipe_link : seq<ws_any, one<'|'>, ws_any, must<stage_after_pipe>> {};
struct pipeline_begin : success {};
struct pipeline : seq<stage_call, pipeline_begin, star<pipe_link>> {};

// ---- Statements (section 3) -------------------------------------------------

// end := ';' | newline | end of file
struct statement_end : seq<sep, sor<one<';'>, newline, eof>> {};

// let_def := 'let' NAME '=' expr
struct let_name : identifier {};
struct let_eq : one<'='> {};
struct let_value : seq<expr> {};
struct let_end : seq<statement_end> {};
struct let_def : seq<kw_let, sep, must<let_name>, sep, must<let_eq>, sep, must<let_value>, must<let_end>> {};

// stage_def := 'stage' NAME [ '(' NAME { ',' NAME } ')' ] '=' pipeline
struct stage_def_name : identifier {};
struct param : identifier {};
struct params_close : one<')'> {};
struct params_inner : seq<sep, must<param>, star<sep, one<','>, sep, must<param>>, sep, must<params_close>> {};
struct params : seq<one<'('>, params_inner> {};
struct stage_def_eq : one<'='> {};
struct stage_def_eq_after_params : one<'='> {};
struct stage_def_body : seq<pipeline> {};
struct stage_def_end : seq<statement_end> {};
struct stage_def : seq<kw_stage, sep, must<stage_def_name>, sep,
                       sor<seq<params, sep, must<stage_def_eq_after_params>>, must<stage_def_eq>>, sep,
                       must<stage_def_body>, must<stage_def_end>> {};

struct pipeline_end : seq<statement_end> {};
struct pipeline_statement : seq<pipeline, must<pipeline_end>> {};

// A '|' that starts a statement: the line before did not end a pipeline.
struct stray_pipe : one<'|'> {};
// statement := let_def | stage_def | pipeline
struct statement : sor<let_def, stage_def, pipeline_statement, seq<at<stray_pipe>, raise<stray_pipe>>> {};
// What ParseProgram parses once per statement, after the statement_gap.
struct program_statement : must<statement> {};

// clang-format on

}  // namespace flow::grammar
