#include "compiler/interpreted_block.h"

#include "compiler/interpreter.h"

namespace flow {

// One block's interpreter and the buffers its results point into (valid
// until the next call, as the ABI says).
class InterpretedBlock {
 public:
  InterpretedBlock(const Block& block, std::string fs, FlowBlockWant want, const SourceFile& file)
      : interpreter_(block, std::move(fs)), want_(want), file_(file) {}

  static void Call(void* state, const char* record, uint64_t len, int64_t nr, FlowBlockResult* result) {
    static_cast<InterpretedBlock*>(state)->Evaluate(std::string_view(record, len), nr, result);
  }

 private:
  void Evaluate(std::string_view record, int64_t nr, FlowBlockResult* result) {
    *result = FlowBlockResult{};
    RecordError error;
    std::optional<Value> value = interpreter_.Evaluate(record, nr, &error);
    if (!value) {
      error_ = file_.path() + ":" + std::to_string(error.loc.line) + ":" + std::to_string(error.loc.column) +
               ": " + error.message;
      result->error = error_.data();
      result->error_len = error_.size();
      return;
    }
    result->ok = 1;
    switch (want_) {
      case kFlowWantText:
        text_ = value->ToText();
        result->text = text_.data();
        result->text_len = text_.size();
        break;
      case kFlowWantBool:
        result->bool_value = value->as_bool() ? 1 : 0;
        break;
      case kFlowWantNumber:
        if (value->type() == Type::kFloat) {
          result->is_float = 1;
          result->float_value = value->as_float();
        } else {
          result->int_value = value->as_int();
        }
        break;
    }
  }

  BlockInterpreter interpreter_;
  FlowBlockWant want_;
  const SourceFile& file_;
  std::string text_;
  std::string error_;
};

InterpretedBlocks::InterpretedBlocks() = default;
InterpretedBlocks::~InterpretedBlocks() = default;

BlockFunction InterpretedBlocks::Make(const Block& block, std::string fs, FlowBlockWant want,
                                      const SourceFile& file) {
  blocks_.push_back(std::make_unique<InterpretedBlock>(block, std::move(fs), want, file));
  return BlockFunction{&InterpretedBlock::Call, blocks_.back().get()};
}

}  // namespace flow
