// The functions of the expression language (section 5), by name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flow {

enum class BuiltinFunction : uint8_t {
  kNone,
  kLen, kUpper, kLower, kTrim, kSubstr, kContains, kStartsWith, kEndsWith,
  kFind, kReplace, kField, kInt, kFloat, kStr, kFmt, kMin, kMax, kAbs,
  kHash, kMatches, kCapture,
  // Compile-time only: folded by the checker into literals, so a checked
  // block never calls them.
  kArg, kEnv,
};

// The function named `name` ("substr"), or kNone.
BuiltinFunction FindBuiltinFunction(const std::string& name);
const char* BuiltinFunctionName(BuiltinFunction f);
// Every name, for "did you mean".
std::vector<std::string> BuiltinFunctionNames();

}  // namespace flow
