#include "compiler/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace flow {

// The compiled code and a match-data block sized for it, reused by every
// match: a stage matches one record at a time, in one process.
struct Regex::Impl {
  pcre2_code* code = nullptr;
  pcre2_match_data* match_data = nullptr;
};

namespace {

std::string Pcre2Message(int code) {
  PCRE2_UCHAR buffer[256];
  int n = pcre2_get_error_message(code, buffer, sizeof buffer);
  if (n < 0) return "PCRE2 error " + std::to_string(code);
  return std::string(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n));
}

}  // namespace

std::unique_ptr<Regex> Regex::Compile(std::string_view pattern, std::string* error, size_t* error_offset) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), 0, &code,
                                       &offset, nullptr);
  if (!compiled) {
    if (error) *error = Pcre2Message(code);
    if (error_offset) *error_offset = offset;
    return nullptr;
  }
  // PCRE2's own JIT makes matching several times faster; when it is not
  // available (or fails) the interpreter of PCRE2 gives the same results.
  pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);
  std::unique_ptr<Regex> regex(new Regex());
  regex->impl_ = new Impl{compiled, pcre2_match_data_create_from_pattern(compiled, nullptr)};
  uint32_t captures = 0;
  pcre2_pattern_info(compiled, PCRE2_INFO_CAPTURECOUNT, &captures);
  regex->capture_count_ = static_cast<int>(captures);
  return regex;
}

Regex::~Regex() {
  if (!impl_) return;
  pcre2_match_data_free(impl_->match_data);
  pcre2_code_free(impl_->code);
  delete impl_;
}

std::optional<bool> Regex::Matches(std::string_view subject, std::string* error) const {
  int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0,
                       impl_->match_data, nullptr);
  if (rc >= 0) return true;
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (error) *error = "regex failed: " + Pcre2Message(rc);
  return std::nullopt;
}

std::optional<std::string_view> Regex::Capture(std::string_view subject, int64_t group, std::string* error) const {
  if (group < 0 || group > capture_count_) {
    if (error) *error = "capture group " + std::to_string(group) + " does not exist (the regex has " +
                        std::to_string(capture_count_) + ")";
    return std::nullopt;
  }
  int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0,
                       impl_->match_data, nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return std::string_view();
  if (rc < 0) {
    if (error) *error = "regex failed: " + Pcre2Message(rc);
    return std::nullopt;
  }
  // rc == 0 means the ovector was too small; it is sized from the pattern,
  // so every group fits.
  if (group >= rc) return std::string_view();  // a trailing group that did not take part
  PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(impl_->match_data);
  PCRE2_SIZE begin = ovector[2 * group], end = ovector[2 * group + 1];
  if (begin == PCRE2_UNSET) return std::string_view();
  return subject.substr(begin, end - begin);
}

}  // namespace flow
