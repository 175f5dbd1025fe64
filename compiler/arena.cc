#include "compiler/arena.h"

#include <algorithm>

namespace flow {

void Arena::Grow(size_t n) {
  const size_t size = std::max({n, capacity_ * 2, size_t{4096}});
  chunks_.push_back(std::make_unique<char[]>(size));
  chunk_ = chunks_.back().get();
  capacity_ = size;
  total_ += size;
  used_ = 0;
}

void Arena::Merge() {
  // This record needed several chunks: the next one gets a single chunk of
  // their total, so a steady stream of records settles on one chunk.
  const size_t total = total_;
  chunks_.clear();
  total_ = 0;
  capacity_ = 0;
  Grow(total);
}

}  // namespace flow
