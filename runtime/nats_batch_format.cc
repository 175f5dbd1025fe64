#include "runtime/nats_batch_format.h"

#include <cinttypes>
#include <cstdio>

namespace flow {

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>(v >> (8 * i));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>(v >> (8 * i));
}
uint64_t GetLE(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>(v | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
bool GetVarint(const char*& p, const char* end, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const auto byte = static_cast<unsigned char>(*p++);
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) return true;
  }
  return false;
}
uint64_t Delta(int64_t value, int64_t previous) {
  const uint64_t d = static_cast<uint64_t>(value) - static_cast<uint64_t>(previous);
  return (d << 1) ^ (0 - (d >> 63));
}
int64_t Undelta(uint64_t zigzag, int64_t previous) {
  const uint64_t d = (zigzag >> 1) ^ (0 - (zigzag & 1));
  return static_cast<int64_t>(static_cast<uint64_t>(previous) + d);
}

std::string Header(char kind, uint32_t count, uint64_t origin) {
  std::string out;
  out += kind;
  out += static_cast<char>(kVersion);
  out += std::string(2, '\0');
  PutU32(out, count);
  PutU64(out, origin);
  return out;
}

bool DecodeBatch(const char* data, size_t len, std::vector<int64_t>* nrs, std::vector<int64_t>* seqs,
                 std::vector<uint32_t>* ends, const char** records) {
  const uint64_t count = GetLE(data + 4, 4);
  const uint64_t columns = GetLE(data + 16, 4);
  const uint64_t data_bytes = GetLE(data + 20, 4);
  // Each record takes 3 bytes of columns at least: `count` is bounded
  // before anything is reserved for it.
  if (kBatchHeader + columns + data_bytes != len || count * 3 > columns) return false;
  const char* p = data + kBatchHeader;
  const char* end = p + columns;
  nrs->reserve(count);
  seqs->reserve(count);
  ends->reserve(count);
  uint64_t nr = 0, seq = 0, bytes = 0, offset = 0;
  for (uint64_t k = 0; k < count; ++k) {
    if (!GetVarint(p, end, &nr) || !GetVarint(p, end, &seq) || !GetVarint(p, end, &bytes) ||
        bytes > data_bytes - offset)
      return false;
    nrs->push_back(Undelta(nr, nrs->empty() ? 0 : nrs->back()));
    seqs->push_back(Undelta(seq, seqs->empty() ? 0 : seqs->back()));
    offset += bytes;
    ends->push_back(static_cast<uint32_t>(offset));
  }
  *records = end;
  return p == end && offset == data_bytes;
}

std::string FormatBooks(const ProducerProgress& p, uint64_t messages) {
  char text[160];
  std::snprintf(text, sizeof text, "%" PRIu64 " %" PRId64 " %" PRId64 " %" PRIu64 " %" PRIu64 " %d", p.records,
                p.last_nr, p.last_seq, p.origin, messages, p.ended ? 1 : 0);
  return text;
}
bool ParseBooks(const char* text, ProducerProgress* p, uint64_t* messages) {
  int ended = 0;
  if (std::sscanf(text, "%" SCNu64 " %" SCNd64 " %" SCNd64 " %" SCNu64 " %" SCNu64 " %d", &p->records, &p->last_nr,
                  &p->last_seq, &p->origin, messages, &ended) != 6)
    return false;
  p->ended = ended != 0;
  return true;
}

}  // namespace flow
