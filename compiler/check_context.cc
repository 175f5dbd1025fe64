#include "compiler/check_context.h"

#include <utility>

namespace flow {

std::string DidYouMean(const std::string& name, const std::vector<std::string>& candidates) {
  std::string nearest = NearestName(name, candidates);
  return nearest.empty() ? "" : "; did you mean '" + nearest + "'?";
}

}  // namespace flow
