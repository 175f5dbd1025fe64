#include "runtime/nkey_seed.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace flow {
namespace {

// A user's public key starts with this byte ('U'); a user's seed with the
// bytes that make "SU", which the word found already starts with.
constexpr uint8_t kPrefixUser = 20 << 3;
constexpr size_t kKeyBytes = 32;
constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

uint16_t Crc16(const std::vector<uint8_t>& data) {
  uint16_t crc = 0;
  for (uint8_t byte : data) {
    crc ^= static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : crc << 1;
  }
  return crc;
}

// false when `text` has a character outside the alphabet.
bool Base32Decode(const std::string& text, std::vector<uint8_t>* out) {
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const char* at = std::strchr(kBase32, c);
    if (c == '\0' || at == nullptr) return false;
    bits = (bits << 5) | static_cast<uint32_t>(at - kBase32);
    count += 5;
    if (count >= 8) {
      count -= 8;
      out->push_back(static_cast<uint8_t>(bits >> count));
    }
  }
  return true;
}

std::string Base32Encode(const std::vector<uint8_t>& data) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (uint8_t byte : data) {
    bits = (bits << 8) | byte;
    count += 8;
    while (count >= 5) {
      count -= 5;
      out += kBase32[(bits >> count) & 31];
    }
  }
  if (count > 0) out += kBase32[(bits << (5 - count)) & 31];
  return out;
}

// Wipes the decoded seed however the function returns.
struct Wiped {
  std::vector<uint8_t> bytes;
  ~Wiped() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

}  // namespace

std::string NKeyUserPublicKey(const std::string& text, std::string* error) {
  // The first word that starts with "SU", found in place: no copy of the
  // file's text but the seed's own, wiped once decoded.
  std::string seed;
  for (size_t at = 0; at < text.size();) {
    const size_t start = text.find_first_not_of(" \t\r\n", at);
    if (start == std::string::npos) break;
    const size_t end = std::min(text.find_first_of(" \t\r\n", start), text.size());
    if (text.compare(start, 2, "SU") == 0) {
      seed.assign(text, start, end - start);
      break;
    }
    at = end;
  }
  if (seed.empty()) {
    *error = "no user NKey seed in it (a word that starts with SU)";
    return "";
  }
  Wiped raw;
  const bool decoded = Base32Decode(seed, &raw.bytes);
  OPENSSL_cleanse(seed.data(), seed.size());
  if (!decoded || raw.bytes.size() != 2 + kKeyBytes + 2) {
    *error = "its user NKey seed does not decode";
    return "";
  }
  const uint16_t said = static_cast<uint16_t>(raw.bytes[2 + kKeyBytes] | raw.bytes[3 + kKeyBytes] << 8);
  Wiped body;  // the prefix and the seed, which the checksum covers
  body.bytes.assign(raw.bytes.begin(), raw.bytes.begin() + 2 + kKeyBytes);
  if (Crc16(body.bytes) != said) {
    *error = "its user NKey seed has a wrong checksum (a character changed?)";
    return "";
  }
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, raw.bytes.data() + 2, kKeyBytes);
  std::vector<uint8_t> pub(1 + kKeyBytes);
  size_t length = kKeyBytes;
  const bool derived = key != nullptr && EVP_PKEY_get_raw_public_key(key, pub.data() + 1, &length) == 1 &&
                       length == kKeyBytes;
  EVP_PKEY_free(key);
  if (!derived) {
    *error = "cannot derive the public key of its user NKey seed";
    return "";
  }
  pub[0] = kPrefixUser;
  const uint16_t crc = Crc16(pub);
  pub.push_back(static_cast<uint8_t>(crc & 0xFF));
  pub.push_back(static_cast<uint8_t>(crc >> 8));
  return Base32Encode(pub);
}

std::string NKeyUserPublicKeyOfFile(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read the NKey seed file '" + path + "': " + std::strerror(errno);
    return "";
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string why;
  std::string key = NKeyUserPublicKey(text, &why);
  OPENSSL_cleanse(text.data(), text.size());
  if (key.empty()) *error = "cannot use the NKey seed file '" + path + "': " + why;
  return key;
}

}  // namespace flow
