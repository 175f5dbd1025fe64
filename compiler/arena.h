// A bump allocator for the short-lived strings of one record.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace flow {

// The strings a block makes while it evaluates one record (`a + b`, `fmt`,
// `str(i)`, a result copied out of the record). Reset per record; after the
// first records it holds one chunk big enough for a record's needs, so a
// block allocates nothing per record.
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  char* Allocate(size_t n) {
    if (n > capacity_ - used_) Grow(n);
    char* p = chunk_ + used_;
    used_ += n;
    return p;
  }
  // Forgets every allocation; merges the chunks of a record that needed
  // more than one into one chunk of their total size. Inline: it runs
  // before every record a block sees.
  void Reset() {
    used_ = 0;
    if (chunks_.size() > 1) [[unlikely]]
      Merge();
  }

 private:
  void Grow(size_t n);
  void Merge();

  std::vector<std::unique_ptr<char[]>> chunks_;
  size_t total_ = 0;  // bytes in all chunks
  char* chunk_ = nullptr;  // the newest chunk
  size_t capacity_ = 0;
  size_t used_ = 0;
};

}  // namespace flow
