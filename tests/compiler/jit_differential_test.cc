// The JIT against the reference interpreter on random well-typed programs
// and random records (tests/compiler/random_program.h): every result (text,
// bool, number; floats compared bit for bit, any NaN equal to any NaN) and
// every record error (its whole text, location included) must be the same.
//
// In CI it runs with a fixed seed. By hand, any seed and any count, as in
//   FLOWRUN_DIFF_SEED=12345 FLOWRUN_DIFF_PROGRAMS=100000 build/tests/flowrun_tests -ts=jit_differential
// (FLOWRUN_DIFF_SEED: the generator's seed, default 20240601;
// FLOWRUN_DIFF_PROGRAMS: how many programs, default 2000).
// A mismatch prints the seed, the program, the field separator, the record
// and both results.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "compiler/compiled_blocks.h"
#include "compiler/interpreted_block.h"
#include "tests/compiler/jit_test_util.h"
#include "tests/compiler/random_program.h"

namespace flow {
namespace {

using jittest::CheckedProgram;
using jittest::Printable;
using jittest::Show;

constexpr uint64_t kDefaultSeed = 20240601;
constexpr uint64_t kDefaultPrograms = 2000;
constexpr int kProgramsPerModule = 50;  // compiled together, as a program's blocks are
constexpr int kRecordsPerProgram = 12;

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  return text && *text ? std::strtoull(text, nullptr, 10) : fallback;
}

// Records stored by columns, as a RecordRun holds them (base 0).
struct RunColumns {
  explicit RunColumns(const std::vector<std::string>& records) {
    for (const std::string& record : records) {
      data += record;
      ends.push_back(static_cast<uint32_t>(data.size()));
    }
    if (ends.empty()) ends.push_back(0);
  }
  std::string data;
  std::vector<uint32_t> ends;
};

// One random program, made into a block function by both sides, once per
// want that fits its type.
struct Case {
  std::unique_ptr<CheckedProgram> checked;
  std::string fs;
  std::vector<FlowBlockWant> wants;
  std::vector<BlockFunction> jit, reference;
};

TEST_SUITE("jit_differential") {
  TEST_CASE("the JIT agrees with the interpreter on random programs and records") {
    const uint64_t seed = EnvOr("FLOWRUN_DIFF_SEED", kDefaultSeed);
    const uint64_t programs = EnvOr("FLOWRUN_DIFF_PROGRAMS", kDefaultPrograms);
    jittest::ProgramGenerator generator(seed);
    uint64_t made = 0, rejected = 0, compared = 0, errors = 0;
    int mismatches = 0;
    std::string first_rejected;
    const auto start = std::chrono::steady_clock::now();
    while (made < programs && mismatches < 3) {
      CompiledBlocks compiled;
      InterpretedBlocks interpreted;
      std::vector<Case> cases;
      while (cases.size() < kProgramsPerModule && made < programs) {
        Case c;
        c.checked = jittest::CheckProgramText(generator.Program());
        if (!c.checked->block) {
          // A global `let` that fails to fold (`int("x")`) is a compile error.
          if (first_rejected.empty()) first_rejected = c.checked->file->text() + c.checked->diagnostics;
          ++rejected;
          continue;
        }
        c.fs = generator.FieldSeparator();
        const Type type = c.checked->block->result->type;
        c.wants.push_back(kFlowWantText);
        if (type == Type::kBool) c.wants.push_back(kFlowWantBool);
        if (type == Type::kInt || type == Type::kFloat) c.wants.push_back(kFlowWantNumber);
        for (FlowBlockWant want : c.wants) {
          c.jit.push_back(compiled.Make(*c.checked->block, c.fs, want, *c.checked->file));
          c.reference.push_back(interpreted.Make(*c.checked->block, c.fs, want, *c.checked->file));
        }
        cases.push_back(std::move(c));
        ++made;
      }
      std::string error;
      REQUIRE_MESSAGE(compiled.Finalize(&error), error);
      REQUIRE(compiled.interpreted_count() == 0);
      for (const Case& c : cases) {
        std::vector<std::string> records;
        std::vector<int64_t> nrs;
        for (int r = 0; r < kRecordsPerProgram && mismatches < 3; ++r) {
          const std::string record = generator.Record(c.fs);
          const int64_t nr = generator.RecordNumber();
          records.push_back(record);
          nrs.push_back(nr);
          for (size_t w = 0; w < c.wants.size(); ++w) {
            FlowBlockResult a, b;
            c.jit[w](record.data(), record.size(), nr, &a);
            c.reference[w](record.data(), record.size(), nr, &b);
            const std::string jit = Show(a, c.wants[w]), reference = Show(b, c.wants[w]);
            ++compared;
            errors += !a.ok;
            if (jit == reference) continue;
            ++mismatches;
            FAIL_CHECK("the JIT and the interpreter disagree (FLOWRUN_DIFF_SEED="
                       << seed << ")\nprogram:\n"
                       << c.checked->file->text() << "fs: \"" << Printable(c.fs) << "\"\nrecord: \""
                       << Printable(record) << "\"\nNR: " << nr << "\nwant: " << c.wants[w]
                       << "\njit:         " << Printable(jit) << "\ninterpreter: " << Printable(reference));
          }
        }
        // The same records as one run, through the run entry: each value
        // as the interpreter's, up to the first record error, which must
        // be the interpreter's too.
        RunColumns columns(records);
        for (size_t w = 0; w < c.wants.size() && mismatches < 3; ++w) {
          if (c.wants[w] == kFlowWantNumber) continue;
          REQUIRE(static_cast<bool>(c.jit[w].run));
          std::vector<FlowRunValue> values(records.size());
          FlowBlockResult run_error{};
          const uint64_t done = c.jit[w].run(c.jit[w].state, columns.data.data(), columns.ends.data(), 0,
                                             nrs.data(), records.size(), values.data(), &run_error);
          REQUIRE(done <= records.size());
          for (size_t r = 0; r <= done && r < records.size(); ++r) {
            FlowBlockResult b;
            c.reference[w](records[r].data(), records[r].size(), nrs[r], &b);
            std::string jit = Show(run_error, c.wants[w]);
            if (r < done) {
              FlowBlockResult a{};
              a.ok = 1;
              a.text = values[r].text;
              a.text_len = values[r].len;
              a.bool_value = static_cast<int32_t>(values[r].len);
              jit = Show(a, c.wants[w]);
            }
            const std::string reference = Show(b, c.wants[w]);
            ++compared;
            if (jit == reference) continue;
            ++mismatches;
            FAIL_CHECK("the JIT's run entry and the interpreter disagree (FLOWRUN_DIFF_SEED="
                       << seed << ")\nprogram:\n"
                       << c.checked->file->text() << "fs: \"" << Printable(c.fs) << "\"\nrecord " << r
                       << " of the run: \"" << Printable(records[r]) << "\"\nNR: " << nrs[r]
                       << "\nwant: " << c.wants[w] << "\njit:         " << Printable(jit)
                       << "\ninterpreter: " << Printable(reference));
          }
        }
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("seed " << seed << ": " << made << " programs (" << rejected << " rejected by the checker), "
                    << compared << " results compared (" << errors << " of them record errors) in " << seconds
                    << " s");
    // The generator makes well-typed programs; only constant folding may
    // refuse one (a global `let` failing), which must stay the exception.
    CHECK_MESSAGE(rejected * 4 <= made, "first rejected program:\n" << first_rejected);
  }
}

}  // namespace
}  // namespace flow
