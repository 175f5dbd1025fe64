#include "compiler/option_checker.h"

#include <set>

#include "compiler/param_value.h"

namespace flow {
namespace {

constexpr const char* kOnErrorChoices = "fail, skip or dead_letter";

}  // namespace

StageOptionsSet OptionChecker::Check(std::vector<Option>& options, const StageSignature& signature, bool replicated,
                                     const ConstantScope& scope) {
  StageOptionsSet set;
  std::set<std::string> seen;
  for (Option& option : options) {
    const OptionSignature* known = FindStageOption(option.name);
    if (!known) {
      std::vector<std::string> names;
      for (const OptionSignature& o : StageOptions()) names.push_back(o.name);
      ctx_.Error(option.loc, "unknown option '" + option.name + "'" + DidYouMean(option.name, names));
      continue;
    }
    if (!seen.insert(option.name).second) {
      ctx_.Error(option.loc, "option '" + option.name + "' is given twice");
      continue;
    }
    if (option.name == "on_error") {
      CheckOnError(option, &set);
      continue;
    }
    Value value = Value::Bool(true);  // a bare flag: `[ordered]`
    if (option.value) {
      std::optional<Value> folded = folder_.Fold(option.value, scope);
      if (!folded) continue;
      if (!ConvertArgument(known->type, *folded, &value)) {
        ctx_.Error(option.value->loc, "option '" + option.name + "' expects " + DescribeParamType(known->type) +
                                          ", got " + TypeName(folded->type()));
        continue;
      }
    } else if (known->type != ParamType::kBool) {
      ctx_.Error(option.loc, "option '" + option.name + "' needs a value (" + DescribeParamType(known->type) + ")");
      continue;
    }
    Apply(option, value, signature, replicated, &set);
  }
  return set;
}

// `on_error` takes a bare name, not an expression: `[on_error = skip]`.
void OptionChecker::CheckOnError(const Option& option, StageOptionsSet* set) {
  if (!option.value) {
    ctx_.Error(option.loc, std::string("option 'on_error' needs a value: ") + kOnErrorChoices);
    return;
  }
  const Expr& value = *option.value;
  if (value.kind != ExprKind::kName) {
    ctx_.Error(value.loc, std::string("'on_error' must be ") + kOnErrorChoices + ", written as a bare name");
    return;
  }
  if (value.text == "fail") {
    set->on_error = OnError::kFail;
  } else if (value.text == "skip") {
    set->on_error = OnError::kSkip;
  } else if (value.text == "dead_letter") {
    set->on_error = OnError::kDeadLetter;
  } else {
    ctx_.Error(value.loc, std::string("'on_error' must be ") + kOnErrorChoices + ", got '" + value.text + "'" +
                              DidYouMean(value.text, {"fail", "skip", "dead_letter"}));
  }
}

void OptionChecker::Apply(const Option& option, const Value& value, const StageSignature& signature,
                          bool replicated, StageOptionsSet* set) {
  SourceLoc loc = option.value ? option.value->loc : option.loc;
  if (option.name == "ordered") {
    set->ordered = value.as_bool();
    if (set->ordered && !replicated) ctx_.Error(option.loc, "'ordered' needs a replicated stage (* N)");
  } else if (option.name == "retries") {
    if (value.as_int() < 0)
      ctx_.Error(loc, "'retries' must be at least 0, got " + std::to_string(value.as_int()));
    else
      set->retries = value.as_int();
  } else if (option.name == "timeout") {
    if (value.as_duration().nanoseconds <= 0)
      ctx_.Error(loc, "'timeout' must be more than 0");
    else
      set->timeout_ns = value.as_duration().nanoseconds;
  } else if (option.name == "queue") {
    if (signature.kind == StageKind::kSource) {
      ctx_.Error(option.loc, "option 'queue' does not apply to a source: '" + signature.name +
                                 "' has no input queue");
    } else if (value.type() == Type::kInt) {
      if (value.as_int() < 1)
        ctx_.Error(loc, "'queue' must be at least 1 record, got " + std::to_string(value.as_int()));
      else
        set->queue_records = value.as_int();
    } else if (value.as_size().bytes < 1) {
      ctx_.Error(loc, "'queue' must be more than 0 bytes");
    } else {
      set->queue_bytes = value.as_size().bytes;
    }
  }
}

}  // namespace flow
