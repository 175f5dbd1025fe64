// sha512(rounds = n): emits `record\thex`, where hex is the lower-case
// SHA-512 hex digest chained `rounds` times, exactly as Python's
//     h = record
//     for _ in range(rounds): h = hashlib.sha512(h).hexdigest().encode()
// The first round digests the record's bytes (any content, NUL included);
// every later round digests the 128-byte hex text of the round before.
//
// Speed is the point of this stage (the seeds' CPU farm), and the chain
// leaves little room: a round is two SHA-512 compressions (128 bytes of hex
// plus the padding block) and almost nothing else may be added around them.
// Hence the low-level SHA512_Init/Update/Final on a SHA512_CTX on the stack:
// no EVP dispatch and no allocation per round. OpenSSL 3's one-shot SHA512()
// is EVP_Q_digest, which looks the algorithm up by name on every call and
// costs about three times as much (../shared/anchors/README.md). The hex
// text is made from a 256-entry table into a stack buffer, and the output
// record is built in a string the stage keeps, so a record allocates only
// when it is longer than every one before it.
//
// SHA512_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP,
// still exported and still the fastest way in. Defining
// OPENSSL_SUPPRESS_DEPRECATED takes the deprecation attribute off their
// declarations, so that a warning per call does not bury real ones. It must
// come before the first OpenSSL header.
#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED
#endif
#include <openssl/sha.h>

#include <array>
#include <cstring>

#include "stdlib/stages.h"

namespace flow {
namespace {

constexpr size_t kDigestBytes = SHA512_DIGEST_LENGTH;  // 64
constexpr size_t kHexBytes = 2 * kDigestBytes;          // 128

// kHexPairs[b] is the two lower-case hex digits of byte b.
constexpr std::array<std::array<char, 2>, 256> MakeHexPairs() {
  constexpr char kDigits[] = "0123456789abcdef";
  std::array<std::array<char, 2>, 256> pairs{};
  for (size_t b = 0; b < 256; ++b) pairs[b] = {kDigits[b >> 4], kDigits[b & 15]};
  return pairs;
}
constexpr std::array<std::array<char, 2>, 256> kHexPairs = MakeHexPairs();

inline void ToHex(const unsigned char* digest, char* hex) {
  for (size_t i = 0; i < kDigestBytes; ++i) std::memcpy(hex + 2 * i, kHexPairs[digest[i]].data(), 2);
}

inline void Digest(const void* data, size_t size, unsigned char* digest) {
  SHA512_CTX context;
  SHA512_Init(&context);
  SHA512_Update(&context, data, size);
  SHA512_Final(digest, &context);
}

class Sha512Stage : public Stage {
 public:
  explicit Sha512Stage(int64_t rounds) : rounds_(rounds) {}

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    line_.assign(record.bytes);
    line_.push_back('\t');
    if (rounds_ <= 0) {
      // Python's loop run zero times leaves h as the record itself (the
      // checker refuses rounds < 1; this only keeps the stage total).
      line_.append(record.bytes);
    } else {
      unsigned char digest[kDigestBytes];
      char hex[kHexBytes];
      Digest(record.bytes.data(), record.bytes.size(), digest);
      ToHex(digest, hex);
      for (int64_t round = 1; round < rounds_; ++round) {
        Digest(hex, kHexBytes, digest);
        ToHex(digest, hex);
      }
      line_.append(hex, kHexBytes);
    }
    out.Emit(line_, record.nr);
    return StageStatus::Ok();
  }

 private:
  int64_t rounds_;
  std::string line_;  // the output record, its capacity kept across records
};

}  // namespace

std::unique_ptr<Stage> MakeSha512Stage(int64_t rounds) { return std::make_unique<Sha512Stage>(rounds); }

}  // namespace flow
