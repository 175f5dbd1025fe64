#include "runtime/nkey_seed.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace flow {
namespace {

// The Ed25519 seed 00 01 02 ... 1f as a NATS user seed, and its public
// key, as made by an independent encoder (Python's cryptography package,
// base64.b32encode and the nkeys CRC-16).
constexpr const char* kSeed = "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y";
constexpr const char* kPublic = "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK";

TEST_CASE("a user NKey seed gives its public key, alone or among other words of a file") {
  std::string error;
  CHECK(NKeyUserPublicKey(kSeed, &error) == kPublic);
  CHECK(NKeyUserPublicKey(std::string("# made by nk -gen user\n\n  ") + kSeed + "\n", &error) == kPublic);
  CHECK(error.empty());
}

TEST_CASE("a seed that is not a user's, or changed, or missing is refused without showing it") {
  std::string error;
  std::string changed = kSeed;
  changed[20] = changed[20] == 'A' ? 'B' : 'A';
  CHECK(NKeyUserPublicKey(changed, &error).empty());
  CHECK(error.find("wrong checksum") != std::string::npos);
  CHECK(error.find(changed) == std::string::npos);
  error.clear();
  CHECK(NKeyUserPublicKey("SU-not-base32", &error).empty());
  CHECK(error.find("does not decode") != std::string::npos);
  error.clear();
  CHECK(NKeyUserPublicKey(kPublic, &error).empty());  // a public key is no seed
  CHECK(error.find("no user NKey seed") != std::string::npos);
  error.clear();
  // An account's seed (the same key): SA..., not SU...
  CHECK(NKeyUserPublicKey("SAAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4HYMHI", &error).empty());
  CHECK(error.find("no user NKey seed") != std::string::npos);
  error.clear();
  CHECK(NKeyUserPublicKey("", &error).empty());
  CHECK(!error.empty());
}

TEST_CASE("a seed file that cannot be read is named in the error") {
  std::string error;
  CHECK(NKeyUserPublicKeyOfFile("/nonexistent/user.nk", &error).empty());
  CHECK(error == "cannot read the NKey seed file '/nonexistent/user.nk': No such file or directory");
  char path[] = "/tmp/flowrun-nkey-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  FILE* f = fdopen(fd, "w");
  std::fputs(kSeed, f);
  std::fclose(f);
  error.clear();
  CHECK(NKeyUserPublicKeyOfFile(path, &error) == kPublic);
  std::remove(path);
}

}  // namespace
}  // namespace flow
