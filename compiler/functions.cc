#include "compiler/functions.h"

namespace flow {
namespace {

struct NamedFunction {
  BuiltinFunction function;
  const char* name;
};

constexpr NamedFunction kFunctions[] = {
    {BuiltinFunction::kLen, "len"},         {BuiltinFunction::kUpper, "upper"},
    {BuiltinFunction::kLower, "lower"},     {BuiltinFunction::kTrim, "trim"},
    {BuiltinFunction::kSubstr, "substr"},   {BuiltinFunction::kContains, "contains"},
    {BuiltinFunction::kStartsWith, "starts_with"}, {BuiltinFunction::kEndsWith, "ends_with"},
    {BuiltinFunction::kFind, "find"},       {BuiltinFunction::kReplace, "replace"},
    {BuiltinFunction::kField, "field"},     {BuiltinFunction::kInt, "int"},
    {BuiltinFunction::kFloat, "float"},     {BuiltinFunction::kStr, "str"},
    {BuiltinFunction::kFmt, "fmt"},         {BuiltinFunction::kMin, "min"},
    {BuiltinFunction::kMax, "max"},         {BuiltinFunction::kAbs, "abs"},
    {BuiltinFunction::kHash, "hash"},       {BuiltinFunction::kMatches, "matches"},
    {BuiltinFunction::kCapture, "capture"}, {BuiltinFunction::kArg, "arg"},
    {BuiltinFunction::kEnv, "env"},
};

}  // namespace

BuiltinFunction FindBuiltinFunction(const std::string& name) {
  for (const NamedFunction& f : kFunctions)
    if (name == f.name) return f.function;
  return BuiltinFunction::kNone;
}

const char* BuiltinFunctionName(BuiltinFunction function) {
  for (const NamedFunction& f : kFunctions)
    if (function == f.function) return f.name;
  return "";
}

std::vector<std::string> BuiltinFunctionNames() {
  std::vector<std::string> names;
  for (const NamedFunction& f : kFunctions) names.push_back(f.name);
  return names;
}

}  // namespace flow
