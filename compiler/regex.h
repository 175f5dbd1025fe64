// A compiled PCRE2 pattern: compiled once (at check time, to report a bad
// pattern as a compile error, and once per stage to run), matched per record.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace flow {

class Regex {
 public:
  // Compiles `pattern`; on failure returns null and sets `error` to PCRE2's
  // message and `error_offset` to the byte in the pattern where it failed.
  static std::unique_ptr<Regex> Compile(std::string_view pattern, std::string* error, size_t* error_offset);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // The number of capturing groups (not counting group 0).
  int capture_count() const { return capture_count_; }

  // Whether `subject` contains a match. A PCRE2 run-time failure (match or
  // depth limit) returns nullopt and sets `error`.
  std::optional<bool> Matches(std::string_view subject, std::string* error) const;

  // Group `group` of the first match of `subject`: "" when nothing matches or
  // the group did not take part. nullopt and `error` on a run-time failure or
  // a group number outside 0..capture_count().
  std::optional<std::string_view> Capture(std::string_view subject, int64_t group, std::string* error) const;

 private:
  Regex() = default;
  struct Impl;
  Impl* impl_ = nullptr;
  int capture_count_ = 0;
};

}  // namespace flow
