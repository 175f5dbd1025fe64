#include "compiler/param_value.h"

namespace flow {

bool ConvertArgument(ParamType type, const Value& value, Value* out) {
  Type t = value.type();
  bool fits = false;
  switch (type) {
    case ParamType::kInt: fits = t == Type::kInt; break;
    case ParamType::kFloat:
      if (t == Type::kInt) {
        *out = Value::Float(static_cast<double>(value.as_int()));
        return true;
      }
      fits = t == Type::kFloat;
      break;
    case ParamType::kStr: fits = t == Type::kStr; break;
    case ParamType::kBool: fits = t == Type::kBool; break;
    case ParamType::kDuration: fits = t == Type::kDuration; break;
    case ParamType::kSize: fits = t == Type::kSize; break;
    case ParamType::kIntOrSize: fits = t == Type::kInt || t == Type::kSize; break;
    case ParamType::kPipeline: fits = false; break;
  }
  if (fits) *out = value;
  return fits;
}

std::string DescribeParamType(ParamType type) {
  switch (type) {
    case ParamType::kInt: return "an int";
    case ParamType::kIntOrSize: return "an int or a size";
    default: return std::string("a ") + ParamTypeName(type);
  }
}

}  // namespace flow
