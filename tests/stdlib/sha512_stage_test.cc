// sha512: the chained digests against values computed with Python's
//     h = rec; for _ in range(rounds): h = hashlib.sha512(h).hexdigest().encode()
// for text, the empty record, binary bytes (NUL, 0xff, CR, tab) and a
// record longer than one SHA-512 block.
#include <string>

#include "stdlib/stages.h"
#include "tests/stdlib/stage_test_util.h"

namespace flow {
namespace {

using stagetest::Emitted;
using stagetest::Outcome;

// The one record sha512(rounds) emits for `record`.
std::string Chain(const std::string& record, int64_t rounds) {
  Outcome out = stagetest::Feed(*MakeSha512Stage(rounds), {record});
  REQUIRE(out.fatal == "");
  REQUIRE(out.records.size() == 1);
  return out.records[0].bytes;
}

const std::string kBinary("a\0\xff\tb\r\n", 7);

}  // namespace

TEST_SUITE("sha512") {
  TEST_CASE("one round is the plain SHA-512 hex digest") {
    CHECK(Chain("abc", 1) ==
          "abc\tddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d"
          "4423643ce80e2a9ac94fa54ca49f");
    CHECK(Chain("", 1) ==
          "\tcf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931b"
          "d47417a81a538327af927da3e");
    CHECK(Chain(kBinary, 1) == kBinary +
                                   "\tfc7243ed745cf62ec379ea73200e6234bce0cb0eb2cd5d3cddc07d5fc791bc27351313aa63e854cd"
                                   "da8b8322cf5126072178288e5c45131872aa7921b3961cff");
    CHECK(Chain(std::string(1000, 'x'), 1) ==
          std::string(1000, 'x') +
              "\tae13575c5d98bfa689617bb19f0f55efdd52b39397fd620bcd1fbc03fda979e6b69bfba24698176eafe766d31c48b70273b0"
              "3198064323082e04cc4eb9126310");
  }

  TEST_CASE("later rounds digest the hex text of the round before") {
    CHECK(Chain("abc", 2) ==
          "abc\tee02b3dd5b2c06e4e61888d141998abac194d57692f77ae7a28d748fdf9b9f28f756d980687f7290f1306857edf3fe01f8e"
          "bf4626880d49a33e029399cb2d700");
    CHECK(Chain("abc", 3) ==
          "abc\tf0178008163c814921716865e420b6984af130cdb408e70a239c6ecdafea01a7bf3deeff26b4d885ce9afbe1a15f3f0b61f"
          "5b64e893bc4118ced6a9a38dc44fe");
    CHECK(Chain("", 2) ==
          "\t8fb29448faee18b656030e8f5a8b9e9a695900f36a3b7d7ebb0d9d51e06c8569d81a55e39b481cf50546d697e7bde1715aa6bad"
          "ede8ddc801c739777be77f166");
    CHECK(Chain("", 3) ==
          "\t111b55a07597cabe04996109644c0d119175f935c42d254eea56b0b0360fa630ef5f4344512827117f9020dd3d8277ce4efc9ad"
          "7dad075d99813ec50896582d2");
    CHECK(Chain(kBinary, 2) == kBinary +
                                   "\ta4a46bcbceaa037bb10f3d4c990652d2a231aee39eb9bea4ced91d7911bf235ef730a243987f21c9"
                                   "af0b34fade88bb61b30fc3ce1c623abe4bb52f5498908d24");
    CHECK(Chain(kBinary, 3) == kBinary +
                                   "\taa3f1388baea5864fd22a5a37d0e8e7bdca5136f42bbe46cd611968e2aab3080837cc384adcb2ac6"
                                   "0713bf251425fb1e3058e69c96a7dd0ecd7155fd7475797e");
    CHECK(Chain(std::string(1000, 'x'), 2) ==
          std::string(1000, 'x') +
              "\t4077c615a83ba1a6bb0a0949c9094e13bc3e3a9867c38db9dfc8a13e1d3bbba51341a9a5fe1e272b61c4ee6e5ad7f404edc1"
              "3ce6b86d2f2762011b5dd65654cb");
  }

  TEST_CASE("a thousand rounds") {
    CHECK(Chain("abc", 1000) ==
          "abc\tc9655e7043a4499f5c4b899b5630fe550b9a7af7e090c65c79f93846c958c11accc23fca8e81ff338675eb13f3afac67e5d"
          "e69d0e7da6c5654abd441428deb56");
    CHECK(Chain("", 1000) ==
          "\t65fa18a9042a5bad398320d907f1e14bdebfc5861fe855e1161a288b917dc8e8f3d4e1fff7a9d723251f3a677f5fa965899acaf"
          "908231b9379b0f6e2db5113d1");
    CHECK(Chain(kBinary, 1000) == kBinary +
                                      "\t25d0ec3786339453499ecd005b83d429ec854cad6c6667fd5903072b982809f1fcf394db6424"
                                      "01ac04aa2dfba8ac6e43adc70d4245639fa2353a4efb3957b915");
  }

  TEST_CASE("every record is hashed on its own and keeps its number") {
    Outcome out = stagetest::Feed(*MakeSha512Stage(1), {std::string(1000, 'x'), "abc", ""});
    CHECK(out.fatal == "");
    REQUIRE(out.records.size() == 3);
    // A short record after a long one: nothing of the long one is left over.
    CHECK(out.records[1] ==
          Emitted{"abc\tddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3fe"
                  "ebbd454d4423643ce80e2a9ac94fa54ca49f",
                  2});
    CHECK(out.records[2].bytes.substr(0, 9) == "\tcf83e135");
    CHECK(out.records[2].bytes.size() == 129);
    CHECK(out.records[0].nr == 1);
    CHECK(out.records[2].nr == 3);
  }

  TEST_CASE("zero rounds leaves the record as Python's empty loop does") {
    CHECK(Chain("abc", 0) == "abc\tabc");
  }

  TEST_CASE("through the factory, with the rounds the program gives") {
    stagetest::TestProgram program("lines(\"abc\") | sha512(rounds = 3) | write(\"-\")");
    Outcome out = stagetest::Feed(*program.Make("sha512"), {"abc"});
    REQUIRE(out.records.size() == 1);
    CHECK(out.records[0].bytes.substr(0, 20) == "abc\tf0178008163c8149");
  }
}

}  // namespace flow
