#include "compiler/stage_graph.h"

namespace flow {

const char* OnErrorName(OnError on_error) {
  switch (on_error) {
    case OnError::kFail: return "fail";
    case OnError::kSkip: return "skip";
    case OnError::kDeadLetter: return "dead_letter";
  }
  return "fail";
}

}  // namespace flow
