// The JIT's own code for `a + b`, substr, len, fmt of joins (pieces joined
// once, codegen_str.cc), int() of a str (digits read inline) and
// upper/lower: each block on many records through the function of one
// record and through the run entry (all records in one run, so values share
// the run's arena), against the interpreter. Field values come from the
// record, so nothing is folded at compile time.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "compiler/compiled_blocks.h"
#include "compiler/interpreted_block.h"
#include "tests/compiler/jit_test_util.h"

namespace flow {
namespace {

using jittest::CheckProgramText;
using jittest::Printable;
using jittest::Show;

// Runs `block` (a map's, fields split on `fs`) on every record, both ways,
// and CHECKs that the JIT (one record at a time, and in one run from
// `base` > 0) gives the interpreter's text or record error for each.
// Returns how many records gave a value.
int Agree(const std::string& block, const std::vector<std::string>& records, const std::string& fs = ",") {
  auto checked = CheckProgramText("seq(1) | map " + block);
  REQUIRE_MESSAGE(checked->block, checked->diagnostics);
  jittest::BlockBothWays both(*checked, fs, kFlowWantText);
  REQUIRE_MESSAGE(both.finalized, both.finalize_error);
  const BlockFunction& jit = both.jit;
  const BlockFunction& reference = both.reference;
  REQUIRE(static_cast<bool>(jit.run));
  std::vector<std::string> expected;
  int values = 0;
  for (size_t r = 0; r < records.size(); ++r) {
    FlowBlockResult a, b;
    jit(records[r].data(), records[r].size(), static_cast<int64_t>(r + 1), &a);
    reference(records[r].data(), records[r].size(), static_cast<int64_t>(r + 1), &b);
    expected.push_back(Show(b, kFlowWantText));
    values += b.ok;
    CHECK_MESSAGE(Show(a, kFlowWantText) == expected.back(),
                  block << " on \"" << Printable(records[r]) << "\": " << Printable(Show(a, kFlowWantText))
                        << " != " << Printable(expected.back()));
  }
  // The run: a prefix that is not part of any record, then the records.
  std::string data = "prefix";
  std::vector<uint32_t> ends;
  std::vector<int64_t> nrs;
  for (size_t r = 0; r < records.size(); ++r) {
    data += records[r];
    ends.push_back(static_cast<uint32_t>(data.size()));
    nrs.push_back(static_cast<int64_t>(r + 1));
  }
  std::vector<FlowRunValue> out(records.size());
  for (size_t from = 0; from < records.size();) {
    FlowBlockResult run_error{};
    const uint32_t base = from == 0 ? 6 : ends[from - 1];
    const uint64_t done = jit.run(jit.state, data.data(), ends.data() + from, base, nrs.data() + from,
                                  records.size() - from, out.data(), &run_error);
    REQUIRE(done <= records.size() - from);
    // Every value of the run is valid until the next call: checked after
    // the whole run, not as each record is done.
    for (size_t k = 0; k <= done && from + k < records.size(); ++k) {
      const std::string got =
          k < done ? "text:" + std::string(out[k].text, out[k].len) : Show(run_error, kFlowWantText);
      CHECK_MESSAGE(got == expected[from + k], block << " in a run, on \"" << Printable(records[from + k])
                                                     << "\": " << Printable(got)
                                                     << " != " << Printable(expected[from + k]));
    }
    from += done + 1;
  }
  return values;
}

const std::vector<std::string> kTexts = {"", "x", "hello", std::string("\xc3\xa9\xff\0z", 5), "0123456789abcdefXYZ"};
const std::vector<std::string> kPositions = {"-9223372036854775808", "-5", "-1", "0", "1", "2", "3", "5",
                                             "6", "7", "11", "100", "9223372036854775807"};

// "a,b,m,n" for every text pair, position and count.
std::vector<std::string> SubstrRecords() {
  std::vector<std::string> records;
  for (size_t a = 0; a < kTexts.size(); ++a)
    for (size_t b = 0; b < kTexts.size(); b += 2)
      for (const std::string& m : kPositions)
        for (size_t n = 0; n < kPositions.size(); n += (a + b) % 3 + 1)
          records.push_back(kTexts[a] + "," + kTexts[b] + "," + m + "," + kPositions[n]);
  return records;
}

TEST_SUITE("jit") {
  TEST_CASE("substr of joins, as pieces: every position and count, empty, out of range, binary bytes") {
    const std::vector<std::string> records = SubstrRecords();
    CHECK(Agree("{ substr($1, int($3), int($4)) }", records) == static_cast<int>(records.size()));
    Agree("{ substr($1, int($3)) }", records);
    Agree("{ substr($1 + $2, int($3)) }", records);
    Agree("{ substr($1 + $2, int($3), int($4)) }", records);
    Agree(R"({ substr("[" + $1 + "|" + $2 + "]", int($3), int($4)) })", records);
    Agree("{ substr(substr($2 + $1, int($3)) + $1, int($4), int($3)) }", records);
    Agree("{ substr($1 + substr($2 + $1, int($4), int($3)), 2) + $2 }", records);
    Agree("{ len($1 + $2) * 1000 + len(substr($1 + $2, int($3), int($4))) }", records);
    Agree(R"({ fmt("<{}>{}", substr($1 + $2, int($3)), $2 + $1) })", records);
    Agree(R"({ let s = $1 + "-" + $2; substr(s, int($3), int($4)) + s })", records);
    Agree(R"({ substr($1 + $2, int($3), int($4)) == substr($2 + $1, int($3), int($4)) })", records);
    Agree("{ upper(substr($1 + $2, int($3), int($4))) + lower($2 + $1) }", records);
    // A joined value's pieces come from the record: copied, not pointed to.
    Agree(R"({ $1 + "" })", records);
    Agree(R"({ "" + "" + substr($1 + "", 1) })", records);
  }

  TEST_CASE("the benchmark's record generator") {
    std::vector<std::string> records;
    for (int i : {0, 1, 9, 10, 99, 12345, 999999, 4999999, 1234567890, 2147483647})
      records.push_back(std::to_string(i));
    records.push_back("12345678901234567890");  // int() fails: a record error
    Agree(R"({ substr("0000000000" + $0, len($0) + 1) + )"
          R"(substr("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_", 1, 6 + int($0) * 7 % 49) })",
          records, "");
  }

  TEST_CASE("int() of a str: the inline digits and everything they hand on") {
    const std::vector<std::string> records = {
        "0", "7", "42", "007", "-0", "+5", "-5", " 5", "5 ", "\t5\r", "", " ", "5x", "x5", "1.5", "5e3",
        std::string("\0", 1), std::string("5\0", 2), "\xd9\xa3", "123456789012345678", "999999999999999999",
        "1234567890123456789", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "-9223372036854775809", "00000000000000000000000042", "+", "-", "--5", "+-5", "0x10",
        // The bytes either side of the digits.
        "/", ":", "5/", "5:", "1:0", "/5", "12345678901234567:"};
    Agree("{ int($0) }", records, "");
    Agree("{ int($0, -1) }", records, "");
    Agree("{ int($0, -1) * 3 + int($0 + $0, 7) }", records, "");
  }

  // bench/runtime_bench.py's "01's records generated" pipeline, block by
  // block, through the run entry as a map stage calls it (runs of 64, the
  // records in a 300 KB buffer that stays in the cache).
  TEST_CASE("micro-benchmark: run entries of the records benchmark's blocks (printed, not asserted)") {
    const std::string fill = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
    std::vector<std::string> numbers, generated;
    for (int i = 0; i < 8192; ++i) {
      const std::string n = std::to_string(i * 601);
      numbers.push_back(n);
      generated.push_back(std::string(10 - n.size(), '0') + n + fill.substr(0, 6 + (i * 601 * 7) % 49));
    }
    struct Case {
      std::string block;
      const std::vector<std::string>* records;
    } cases[] = {
        {"{ substr(\"0000000000\" + $0, len($0) + 1) + substr(\"" + fill + "\", 1, 6 + int($0) * 7 % 49) }", &numbers},
        {"{ upper($0) }", &generated},
        {"{ $0 }", &numbers},
    };
    for (const Case& c : cases) {
      auto checked = CheckProgramText("seq(1) | map " + c.block);
      REQUIRE_MESSAGE(checked->block, checked->diagnostics);
      CompiledBlocks compiled;
      BlockFunction jit = compiled.Make(*checked->block, "", kFlowWantText, *checked->file);
      REQUIRE(compiled.Finalize());
      REQUIRE(static_cast<bool>(jit.run));
      std::string data;
      std::vector<uint32_t> ends;
      std::vector<int64_t> nrs;
      for (const std::string& record : *c.records) {
        data += record;
        ends.push_back(static_cast<uint32_t>(data.size()));
        nrs.push_back(static_cast<int64_t>(nrs.size() + 1));
      }
      FlowRunValue values[64];
      FlowBlockResult error{};
      double best = 1e300;
      for (int round = 0; round < 30; ++round) {
        uint64_t checksum = 0;
        const auto start = std::chrono::steady_clock::now();
        for (size_t at = 0; at < ends.size(); at += 64) {
          const size_t n = std::min<size_t>(64, ends.size() - at);
          const uint32_t base = at == 0 ? 0 : ends[at - 1];
          REQUIRE(jit.run(jit.state, data.data(), ends.data() + at, base, nrs.data() + at, n, values, &error) == n);
          for (size_t k = 0; k < n; ++k) checksum += values[k].len;
        }
        const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
        best = std::min(best, elapsed.count() / static_cast<double>(ends.size()));
        CHECK(checksum != 0);
      }
      MESSAGE("map " << c.block.substr(0, 40) << ": " << best << " ns/record in runs of 64");
    }
  }

  TEST_CASE("upper and lower of records of every length up to 70") {
    std::vector<std::string> records;
    for (size_t n = 0; n <= 70; ++n) {
      std::string r;
      for (size_t i = 0; i < n; ++i) r += "aZ{`@[z\xff\x80Q\xc3\xa9"[(i * 7 + n) % 12];
      records.push_back(r);
    }
    Agree("{ upper($0) }", records, "");
    Agree("{ lower($0) + upper($0) }", records, "");
  }
}

}  // namespace
}  // namespace flow
