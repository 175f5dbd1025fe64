// A folded constant given where a stage parameter or an option of some
// ParamType is expected.
#pragma once

#include <string>

#include "compiler/value.h"
#include "stdlib/signatures.h"

namespace flow {

// `value` as a `type` argument: the same value, an int widened to a float
// where a float is wanted; false when it does not fit (kPipeline never does).
bool ConvertArgument(ParamType type, const Value& value, Value* out);

// "an int", "a duration", "an int or a size": as diagnostics write it.
std::string DescribeParamType(ParamType type);

}  // namespace flow
