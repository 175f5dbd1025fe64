// How a NatsQueue lays out what it stores on the broker (issue 8): a batch
// message (header, then per record the varints of nr and seq, as zigzag
// differences from the previous record's, and of the length, then the
// bytes), the header of a large record's reference, and a producer's books
// in the run's bucket. Kept apart from the queue's protocol so that both
// sides of an edge read one definition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/queue.h"

namespace flow {

// The message kinds: a run of records, or the reference to a large record
// sent in pieces.
inline constexpr char kBatchKind = 'B';
inline constexpr char kLargeKind = 'L';
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kBatchHeader = 24;  // kind, version, 2 spare, count u32, origin u64, columns u32, data u32
inline constexpr size_t kLargeHeader = 40;  // kind, version, 2 spare, pieces u32, origin u64, nr, seq, length u64; token
inline constexpr size_t kMaxColumnBytes = 25;  // per record: two 64-bit varints and a 32-bit one

void PutU32(std::string& out, uint32_t v);
void PutU64(std::string& out, uint64_t v);
uint64_t GetLE(const char* p, int bytes);
void PutVarint(std::string& out, uint64_t v);
bool GetVarint(const char*& p, const char* end, uint64_t* v);
// Differences of neighbouring nrs and seqs are small, of either sign: zigzag
// makes them small unsigned numbers. Unsigned arithmetic wraps, so any two
// int64 values round-trip.
uint64_t Delta(int64_t value, int64_t previous);
int64_t Undelta(uint64_t zigzag, int64_t previous);

// A message's first 16 bytes: kind, version, count, origin.
std::string Header(char kind, uint32_t count, uint64_t origin);
// A batch message's columns; `*records` is where its bytes start. False
// when the message is damaged (or not ours).
bool DecodeBatch(const char* data, size_t len, std::vector<int64_t>* nrs, std::vector<int64_t>* seqs,
                 std::vector<uint32_t>* ends, const char** records);

// The books as stored in the bucket: one line of numbers, readable with
// `nats kv get`.
std::string FormatBooks(const ProducerProgress& p, uint64_t messages);
bool ParseBooks(const char* text, ProducerProgress* p, uint64_t* messages);

}  // namespace flow
