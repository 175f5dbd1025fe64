#include "compiler/jit_runtime.h"

#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <string_view>

#include "compiler/text_functions.h"
#include "compiler/value.h"

namespace {

using flow::JitBlockState;

std::string_view View(const char* p, uint64_t n) { return n == 0 ? std::string_view() : std::string_view(p, n); }

FlowStr Str(std::string_view v) { return FlowStr{v.data(), v.size()}; }

// *out = {p, n} in one 16-byte store. The generated code reads a FlowStr
// that a runtime function wrote (the fields of flow_jit_split, an
// out-parameter) and copies it to the run's values: LLVM makes that one
// 16-byte load, which the CPU cannot forward from two 8-byte stores (a
// stall of a dozen cycles, more than the rest of `map { $2 }`), but can
// from one.
void StoreStr(FlowStr* out, const char* p, uint64_t n) {
#ifdef __SSE2__
  static_assert(sizeof(FlowStr) == 16 && sizeof(const char*) == 8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                   _mm_set_epi64x(static_cast<int64_t>(n), static_cast<int64_t>(reinterpret_cast<uintptr_t>(p))));
#else
  *out = FlowStr{p, n};
#endif
}

void Put(FlowStr* out, std::string_view v) { StoreStr(out, v.data(), v.size()); }

// A copy of `v` in the arena, valid until the next record.
FlowStr Copy(JitBlockState* s, std::string_view v) {
  char* p = s->arena.Allocate(v.size());
  if (!v.empty()) std::memcpy(p, v.data(), v.size());
  return FlowStr{p, v.size()};
}

// upper and lower map bytes one to one: written straight into the arena,
// with no std::string in between (a map { upper($0) } spent a third of its
// time in malloc and copies).
FlowStr MapCaseInto(JitBlockState* s, const char* p, uint64_t n, bool upper) {
  char* dst = s->arena.Allocate(n);
  if (upper)
    flow::UpperInto(View(p, n), dst);
  else
    flow::LowerInto(View(p, n), dst);
  return FlowStr{dst, n};
}

void SetError(JitBlockState* s, uint32_t line, uint32_t col, std::string_view message) {
  // The interpreter's adapter writes the same "file:line:col: message".
  s->error.assign(s->path);
  s->error += ':';
  s->error += std::to_string(line);
  s->error += ':';
  s->error += std::to_string(col);
  s->error += ": ";
  s->error += message;
}

// Bit j set when byte j of the 64 at `p` is a space or a tab.
uint64_t BlankMask(const char* p) {
#ifdef __SSE2__
  const __m128i space = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');
  uint64_t mask = 0;
  for (int j = 0; j < 4; ++j) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * j));
    const __m128i blank = _mm_or_si128(_mm_cmpeq_epi8(bytes, space), _mm_cmpeq_epi8(bytes, tab));
    mask |= uint64_t{static_cast<uint32_t>(_mm_movemask_epi8(blank))} << (16 * j);
  }
  return mask;
#else
  uint64_t mask = 0;
  for (int j = 0; j < 64; ++j) mask |= uint64_t{p[j] == ' ' || p[j] == '\t'} << j;
  return mask;
#endif
}

// awk's default splitting of fields 1..k into fields[], as FieldSplitter
// does it, 64 bytes at a time: a blank mask per chunk, and two bit scans
// per field. Returns the index after the last field found.
int64_t SplitOnBlanks(const char* record, size_t len, int64_t k, FlowStr* fields) {
  int64_t i = 1;
  bool in_field = false;
  size_t start = 0;
  char tail[64];
  for (size_t base = 0; base < len && i <= k; base += 64) {
    const char* chunk = record + base;
    if (len - base < 64) {
      // The last chunk, padded with blanks (which end its last field)
      // instead of reading past the record.
      std::memcpy(tail, chunk, len - base);
      std::memset(tail + (len - base), ' ', 64 - (len - base));
      chunk = tail;
    }
    const uint64_t blanks = BlankMask(chunk);
    int at = 0;
    while (i <= k) {
      const uint64_t wanted = (in_field ? blanks : ~blanks) & (~uint64_t{0} << at);
      if (wanted == 0) break;
      at = std::countr_zero(wanted);
      if (in_field)
        StoreStr(&fields[i++], record + start, base + static_cast<size_t>(at) - start);
      else
        start = base + static_cast<size_t>(at);
      in_field = !in_field;
    }
  }
  if (in_field && i <= k) StoreStr(&fields[i++], record + start, len - start);
  return i;
}

void ReturnText(FlowBlockResult* r, const char* p, uint64_t n) {
  *r = FlowBlockResult{};
  r->ok = 1;
  r->text = p;
  r->text_len = n;
}

}  // namespace

extern "C" {

void flow_jit_begin(FlowJitState* s, const char* record, uint64_t len) {
  s->fields.Reset(View(record, len));
  s->arena.Reset();
  s->record = record;
  s->record_len = len;
}

void flow_jit_begin_run(FlowJitState* s) {
  s->arena.Reset();
  s->record = nullptr;
  s->record_len = 0;
}

void flow_jit_begin_record(FlowJitState* s, const char* record, uint64_t len) {
  s->fields.Reset(View(record, len));
  s->record = record;
  s->record_len = len;
}

void flow_jit_return_str(FlowJitState* s, FlowBlockResult* r, const char* p, uint64_t n) {
  // A view into the record (`map { $1 }`) would dangle once the caller
  // moves on to the next record, before the next call; literals and the
  // arena stay valid until then.
  const auto at = reinterpret_cast<uintptr_t>(p), begin = reinterpret_cast<uintptr_t>(s->record);
  if (n > 0 && at >= begin && at < begin + s->record_len) {
    p = Copy(s, View(p, n)).data;
  }
  ReturnText(r, p, n);
}

void flow_jit_return_int_text(FlowJitState* s, FlowBlockResult* r, int64_t v) {
  const FlowStr text = flow_jit_int_text(s, v);
  ReturnText(r, text.data, text.len);
}

void flow_jit_return_float_text(FlowJitState* s, FlowBlockResult* r, double v) {
  const FlowStr text = flow_jit_float_text(s, v);
  ReturnText(r, text.data, text.len);
}

void flow_jit_return_bool(FlowBlockResult* r, int32_t v) {
  *r = FlowBlockResult{};
  r->ok = 1;
  r->bool_value = v != 0;
}

void flow_jit_return_int(FlowBlockResult* r, int64_t v) {
  *r = FlowBlockResult{};
  r->ok = 1;
  r->int_value = v;
}

void flow_jit_return_float(FlowBlockResult* r, double v) {
  *r = FlowBlockResult{};
  r->ok = 1;
  r->is_float = 1;
  r->float_value = v;
}

void flow_jit_return_error(FlowJitState* s, FlowBlockResult* r) {
  *r = FlowBlockResult{};
  r->error = s->error.data();
  r->error_len = s->error.size();
}

void flow_jit_error_text(FlowJitState* s, uint32_t line, uint32_t col, const char* msg, uint64_t n) {
  SetError(s, line, col, View(msg, n));
}

void flow_jit_error_negative_field(FlowJitState* s, uint32_t line, uint32_t col, int64_t index) {
  SetError(s, line, col, flow::NegativeFieldMessage(index));
}

void flow_jit_error_convert_str(FlowJitState* s, uint32_t line, uint32_t col, const char* p, uint64_t n,
                                int32_t to_float) {
  SetError(s, line, col, flow::CannotConvertMessage(View(p, n), to_float ? "float" : "int"));
}

void flow_jit_error_convert_float(FlowJitState* s, uint32_t line, uint32_t col, double v) {
  SetError(s, line, col, flow::CannotConvertMessage(v, "int"));
}

FlowStr flow_jit_field(FlowJitState* s, int64_t i) { return Str(s->fields.Field(i)); }

int64_t flow_jit_nf(FlowJitState* s) { return s->fields.Count(); }

void flow_jit_split(FlowJitState* s, int64_t k, FlowStr* fields) {
  // The rules of FieldSplitter (fields.cc), in one pass; the differential
  // test holds the two together.
  int64_t i = 1;
  if (s->fs.empty()) {
    i = SplitOnBlanks(s->record, s->record_len, k, fields);
  } else if (s->record_len > 0) {
    // Every occurrence of fs separates two fields: "a," is "a" and "".
    const std::string_view record(s->record, s->record_len);
    size_t pos = 0;
    for (; i <= k; ++i) {
      const size_t at = s->fs.size() == 1 ? record.find(s->fs[0], pos) : record.find(s->fs, pos);
      if (at == std::string_view::npos) {
        StoreStr(&fields[i++], s->record + pos, record.size() - pos);
        break;
      }
      StoreStr(&fields[i], s->record + pos, at - pos);
      pos = at + s->fs.size();
    }
  }
  for (; i <= k; ++i) StoreStr(&fields[i], "", 0);
}

int32_t flow_jit_nth_field(FlowJitState* s, uint32_t line, uint32_t col, const char* p, uint64_t n, int64_t i,
                           const char* sep, uint64_t sep_len, int32_t has_sep, FlowStr* out) {
  // The interpreter's order: the index first, then the separator.
  if (i < 0) {
    flow_jit_error_negative_field(s, line, col, i);
    return 0;
  }
  if (has_sep && sep_len == 0) {
    SetError(s, line, col, flow::kEmptySeparatorMessage);
    return 0;
  }
  Put(out, flow::NthField(View(p, n), i, has_sep ? View(sep, sep_len) : std::string_view()));
  return 1;
}

int32_t flow_jit_compare(const char* a, uint64_t an, const char* b, uint64_t bn) {
  // char_traits<char> compares bytes as unsigned char, as the interpreter's
  // std::string comparisons do.
  const int c = View(a, an).compare(View(b, bn));
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

char* flow_jit_alloc(FlowJitState* s, uint64_t n) { return s->arena.Allocate(n); }

FlowStr flow_jit_upper(FlowJitState* s, const char* p, uint64_t n) { return MapCaseInto(s, p, n, true); }

FlowStr flow_jit_lower(FlowJitState* s, const char* p, uint64_t n) { return MapCaseInto(s, p, n, false); }

FlowStr flow_jit_trim(const char* p, uint64_t n) { return Str(flow::Trim(View(p, n))); }

int32_t flow_jit_contains(const char* p, uint64_t n, const char* t, uint64_t tn) {
  return View(p, n).find(View(t, tn)) != std::string_view::npos;
}

int32_t flow_jit_starts_with(const char* p, uint64_t n, const char* t, uint64_t tn) {
  return View(p, n).starts_with(View(t, tn));
}

int32_t flow_jit_ends_with(const char* p, uint64_t n, const char* t, uint64_t tn) {
  return View(p, n).ends_with(View(t, tn));
}

int64_t flow_jit_find(const char* p, uint64_t n, const char* t, uint64_t tn) {
  return flow::Find(View(p, n), View(t, tn));
}

FlowStr flow_jit_replace(FlowJitState* s, const char* p, uint64_t n, const char* from, uint64_t from_len,
                         const char* to, uint64_t to_len) {
  return Copy(s, flow::Replace(View(p, n), View(from, from_len), View(to, to_len)));
}

int64_t flow_jit_hash(const char* p, uint64_t n) { return flow::Hash(View(p, n)); }

int32_t flow_jit_parse_int(const char* p, uint64_t n, int64_t* out) {
  // The common case, 1 to 18 plain digits, cannot overflow and needs no
  // trimming; everything else goes to ParseInt.
  if (n > 0 && n <= 18) {
    int64_t value = 0;
    uint64_t i = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; ++i) value = value * 10 + (p[i] - '0');
    if (i == n) {
      *out = value;
      return 1;
    }
  }
  std::optional<int64_t> v = flow::ParseInt(View(p, n));
  if (!v) return 0;
  *out = *v;
  return 1;
}

int32_t flow_jit_parse_float(const char* p, uint64_t n, double* out) {
  std::optional<double> v = flow::ParseFloat(View(p, n));
  if (!v) return 0;
  *out = *v;
  return 1;
}

FlowStr flow_jit_int_text(FlowJitState* s, int64_t v) {
  // The digits std::to_string writes, without a std::string.
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  (void)ec;  // 24 bytes hold every int64
  return Copy(s, std::string_view(buffer, static_cast<size_t>(end - buffer)));
}

FlowStr flow_jit_float_text(FlowJitState* s, double v) { return Copy(s, flow::FormatFloat(v)); }

double flow_jit_float_add(double a, double b) { return a + b; }
double flow_jit_float_sub(double a, double b) { return a - b; }
double flow_jit_float_mul(double a, double b) { return a * b; }
double flow_jit_float_div(double a, double b) { return a / b; }
double flow_jit_float_mod(double a, double b) { return std::fmod(a, b); }

int32_t flow_jit_matches(FlowJitState* s, uint32_t line, uint32_t col, int32_t regex, const char* p, uint64_t n,
                         int32_t* out) {
  std::string error;
  std::optional<bool> matched = s->regexes[static_cast<size_t>(regex)]->Matches(View(p, n), &error);
  if (!matched) {
    SetError(s, line, col, error);
    return 0;
  }
  *out = *matched ? 1 : 0;
  return 1;
}

int32_t flow_jit_capture(FlowJitState* s, uint32_t line, uint32_t col, int32_t regex, const char* p, uint64_t n,
                         int64_t group, FlowStr* out) {
  std::string error;
  std::optional<std::string_view> captured =
      s->regexes[static_cast<size_t>(regex)]->Capture(View(p, n), group, &error);
  if (!captured) {
    SetError(s, line, col, error);
    return 0;
  }
  Put(out, *captured);
  return 1;
}

}  // extern "C"

namespace flow {

namespace {

template <class F>
uintptr_t Address(F* f) {
  return reinterpret_cast<uintptr_t>(f);
}

}  // namespace

std::span<const RuntimeSymbol> RuntimeSymbols() {
#define FLOW_SYMBOL(name) RuntimeSymbol{#name, Address(&name)}
  static const RuntimeSymbol kSymbols[] = {
      FLOW_SYMBOL(flow_jit_begin),
      FLOW_SYMBOL(flow_jit_begin_run),
      FLOW_SYMBOL(flow_jit_begin_record),
      FLOW_SYMBOL(flow_jit_return_str),
      FLOW_SYMBOL(flow_jit_return_int_text),
      FLOW_SYMBOL(flow_jit_return_float_text),
      FLOW_SYMBOL(flow_jit_return_bool),
      FLOW_SYMBOL(flow_jit_return_int),
      FLOW_SYMBOL(flow_jit_return_float),
      FLOW_SYMBOL(flow_jit_return_error),
      FLOW_SYMBOL(flow_jit_error_text),
      FLOW_SYMBOL(flow_jit_error_negative_field),
      FLOW_SYMBOL(flow_jit_error_convert_str),
      FLOW_SYMBOL(flow_jit_error_convert_float),
      FLOW_SYMBOL(flow_jit_field),
      FLOW_SYMBOL(flow_jit_nf),
      FLOW_SYMBOL(flow_jit_split),
      FLOW_SYMBOL(flow_jit_nth_field),
      FLOW_SYMBOL(flow_jit_compare),
      FLOW_SYMBOL(flow_jit_alloc),
      FLOW_SYMBOL(flow_jit_upper),
      FLOW_SYMBOL(flow_jit_lower),
      FLOW_SYMBOL(flow_jit_trim),
      FLOW_SYMBOL(flow_jit_contains),
      FLOW_SYMBOL(flow_jit_starts_with),
      FLOW_SYMBOL(flow_jit_ends_with),
      FLOW_SYMBOL(flow_jit_find),
      FLOW_SYMBOL(flow_jit_replace),
      FLOW_SYMBOL(flow_jit_hash),
      FLOW_SYMBOL(flow_jit_parse_int),
      FLOW_SYMBOL(flow_jit_parse_float),
      FLOW_SYMBOL(flow_jit_int_text),
      FLOW_SYMBOL(flow_jit_float_text),
      FLOW_SYMBOL(flow_jit_float_add),
      FLOW_SYMBOL(flow_jit_float_sub),
      FLOW_SYMBOL(flow_jit_float_mul),
      FLOW_SYMBOL(flow_jit_float_div),
      FLOW_SYMBOL(flow_jit_float_mod),
      FLOW_SYMBOL(flow_jit_matches),
      FLOW_SYMBOL(flow_jit_capture),
      // What LLVM itself may call: memcmp for a string equality (or bcmp,
      // which it turns memcmp == 0 into), memcpy/memmove/memset for copies.
      FLOW_SYMBOL(memcmp),
      FLOW_SYMBOL(bcmp),
      FLOW_SYMBOL(memcpy),
      FLOW_SYMBOL(memmove),
      FLOW_SYMBOL(memset),
  };
#undef FLOW_SYMBOL
  return kSymbols;
}

}  // namespace flow
