// sort: byte order, fields, numbers, reverse, stability, and the external
// merge sort, checked against Python's sorted() on generated data.
#include <cmath>
#include <cstdio>
#include <random>

#include "stdlib/sort_order.h"
#include "stdlib/sort_runs.h"
#include "stdlib/stages.h"
#include "tests/stdlib/stage_test_util.h"

namespace flow {
namespace {

using stagetest::Emitted;
using stagetest::Outcome;
using stagetest::TempDir;

Outcome Sort(SortSpec spec, const std::vector<std::string>& inputs) {
  return stagetest::Feed(*MakeSortStage(std::move(spec)), inputs);
}

SortSpec Spec(int64_t key, bool numeric, bool reverse) {
  SortSpec spec;
  spec.key = key;
  spec.numeric = numeric;
  spec.reverse = reverse;
  return spec;
}

// Records with words, numbers of every shape, blanks and missing fields.
std::vector<std::string> GeneratedRecords(size_t count, uint32_t seed) {
  static const char* const kPieces[] = {"10", "9", "-1", "-1.5", "2.50", "1e2", "abc", "Abc", "", "0", "-0", ".5",
                                        "5.", "+3", "1e999", "12abc", "x", "zz", "\xc3\xa9t\xc3\xa9", "7e-3", "-"};
  std::mt19937 rng(seed);
  std::vector<std::string> records;
  for (size_t i = 0; i < count; ++i) {
    std::string record;
    if (rng() % 4 == 0) record += rng() % 2 ? " " : "\t";
    size_t fields = rng() % 4;
    for (size_t f = 0; f < fields; ++f) {
      if (f > 0) record += rng() % 3 ? " " : " \t ";
      record += kPieces[rng() % std::size(kPieces)];
      if (rng() % 3 == 0) record += std::to_string(rng() % 1000);
    }
    records.push_back(std::move(record));
  }
  return records;
}

// What Python's sorted() makes of `records` (one per line) for each spec,
// with the numeric key NumericKey documents. Python's sort is stable, and
// reverse=True keeps equal keys in input order, as sort's `reverse` does.
std::vector<std::vector<std::string>> PythonSorted(const TempDir& dir, const std::vector<std::string>& records,
                                                   const std::vector<SortSpec>& specs) {
  std::string data;
  for (const std::string& r : records) data += r + "\n";
  std::string input = dir.Write("py_in.txt", data);
  std::string script = R"PY(
import re, sys
NUM = re.compile(rb'[ \t]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)')
def numeric(text):
    m = NUM.match(text)
    return float(m.group(1)) if m else 0.0
records = open(sys.argv[1], 'rb').read().split(b'\n')[:-1]
for i, spec in enumerate(sys.argv[3:]):
    key, num, rev = (int(x) for x in spec.split(','))
    def field(r):
        if key == 0: return r
        fields = r.split()
        return fields[key - 1] if key <= len(fields) else b''
    k = (lambda r: numeric(field(r))) if num else field
    with open('%s.%d' % (sys.argv[2], i), 'wb') as out:
        for r in sorted(records, key=k, reverse=bool(rev)):
            out.write(r + b'\n')
)PY";
  std::string script_path = dir.Write("sort.py", script);
  std::string command = "python3 " + script_path + " " + input + " " + dir.File("py_out");
  for (const SortSpec& s : specs)
    command += " " + std::to_string(s.key) + "," + std::to_string(s.numeric) + "," + std::to_string(s.reverse);
  REQUIRE(std::system(command.c_str()) == 0);
  std::vector<std::vector<std::string>> results;
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string text = stagetest::ReadFile(dir.File("py_out." + std::to_string(i)));
    std::vector<std::string> lines;
    size_t start = 0;
    for (size_t at; (at = text.find('\n', start)) != std::string::npos; start = at + 1)
      lines.push_back(text.substr(start, at - start));
    results.push_back(std::move(lines));
  }
  return results;
}

}  // namespace

TEST_SUITE("stages") {
  TEST_CASE("NumericKey reads a decimal prefix after blanks; anything else is 0") {
    CHECK(NumericKey("12abc") == 12);
    CHECK(NumericKey(" \t-7") == -7);
    CHECK(NumericKey("3.5e2x") == 350);
    CHECK(NumericKey("+4") == 4);
    CHECK(NumericKey("-.5") == -0.5);
    CHECK(NumericKey("5.") == 5);
    CHECK(NumericKey("1e") == 1);
    CHECK(NumericKey("1e+") == 1);
    CHECK(NumericKey("2E-1") == 0.2);
    CHECK(std::isinf(NumericKey("1e999")));
    CHECK(NumericKey("1e-999") == 0);
    for (const char* zero : {"", ".", "-", "+.", "abc", "inf", "nan", "\n5"}) {
      CAPTURE(zero);
      CHECK(NumericKey(zero) == 0);
    }
    CHECK(NumericKey("0x10") == 0);
    CHECK(NumericKey(std::string(100, '1') + "x") == 1.1111111111111111e99);
  }

  TEST_CASE("sort on the whole record, bytes compared unsigned, NRs kept") {
    std::string nul("a\0", 2);
    Outcome out = Sort(Spec(0, false, false), {"b", "a", "\xff", "B", "", nul, "a"});
    CHECK(out.records ==
          std::vector<Emitted>{{"", 5}, {"B", 4}, {"a", 2}, {"a", 7}, {nul, 6}, {"b", 1}, {"\xff", 3}});
  }

  TEST_CASE("sort is stable on a field, forwards and in reverse, and a missing field is \"\"") {
    std::vector<std::string> in{"x 2", "y 1", "x 1", "z", "w 2"};
    CHECK(Sort(Spec(1, false, false), in).Texts() == std::vector<std::string>{"w 2", "x 2", "x 1", "y 1", "z"});
    CHECK(Sort(Spec(2, false, false), in).Texts() == std::vector<std::string>{"z", "y 1", "x 1", "x 2", "w 2"});
    CHECK(Sort(Spec(2, false, true), in).Texts() == std::vector<std::string>{"x 2", "w 2", "y 1", "x 1", "z"});
    CHECK(Sort(Spec(5, false, true), in).Texts() == in);
  }

  TEST_CASE("sort numeric: numbers as values, non-numbers as 0, ties in input order") {
    std::vector<std::string> in{"10", "9", "-1", "abc", "2.5", "1e2", "", "0"};
    CHECK(Sort(Spec(0, true, false), in).Texts() ==
          std::vector<std::string>{"-1", "abc", "", "0", "2.5", "9", "10", "1e2"});
    CHECK(Sort(Spec(0, true, true), in).Texts() ==
          std::vector<std::string>{"1e2", "10", "9", "2.5", "abc", "", "0", "-1"});
  }

  TEST_CASE("sort through the factory, its defaults, and an empty input") {
    stagetest::TestProgram program("lines(\"\") | sort(key = 2, numeric = true, reverse = true) | discard");
    CHECK(stagetest::Feed(*program.Make("sort"), {"a 1", "b 30", "c 4"}).Texts() ==
          std::vector<std::string>{"b 30", "c 4", "a 1"});
    stagetest::TestProgram plain("lines(\"\") | sort | discard");
    CHECK(stagetest::Feed(*plain.Make("sort"), {"b 1", "a 2"}).Texts() == std::vector<std::string>{"a 2", "b 1"});
    CHECK(stagetest::Feed(*plain.Make("sort"), {}).records.empty());
  }

  TEST_CASE("sort agrees with Python's sorted() on generated data") {
    TempDir dir;
    std::vector<std::string> records = GeneratedRecords(5000, 42);
    std::vector<SortSpec> specs;
    for (int64_t key : {0, 1, 2, 4})
      for (bool numeric : {false, true})
        for (bool reverse : {false, true}) specs.push_back(Spec(key, numeric, reverse));
    std::vector<std::vector<std::string>> expected = PythonSorted(dir, records, specs);
    for (size_t i = 0; i < specs.size(); ++i) {
      CAPTURE(specs[i].key);
      CAPTURE(specs[i].numeric);
      CAPTURE(specs[i].reverse);
      CHECK(Sort(specs[i], records).Texts() == expected[i]);
    }
  }

  TEST_CASE("external sort with a tiny budget equals the in-memory sort and leaves no file") {
    TempDir dir;
    std::vector<std::string> records = GeneratedRecords(250000, 9);
    // A few records larger than the whole budget, each a run of its own.
    for (size_t i = 0; i < 20; ++i) records.insert(records.begin() + 9000 * i, std::string(200 << 10, 'a' + i));
    size_t bytes = 0;
    for (const std::string& r : records) bytes += r.size();
    REQUIRE(bytes > (5 << 20));
    for (SortSpec spec : {Spec(0, false, false), Spec(2, true, true)}) {
      Outcome in_memory = Sort(spec, records);
      spec.memory_bytes = 64 << 10;
      spec.temp_dir = dir.path();
      std::unique_ptr<Stage> stage = MakeSortStage(spec);
      stagetest::CollectingEmitter out;
      for (size_t i = 0; i < records.size(); ++i) REQUIRE(stage->OnRecord({records[i], int64_t(i + 1), 0}, out).ok());
      CHECK(dir.Entries().empty());  // the runs have no names even while they exist
      REQUIRE(stage->Finish(out).ok());
      CHECK(out.records.size() == records.size());
      CHECK(out.records == in_memory.records);
      stage.reset();
      CHECK(dir.Entries().empty());
    }
  }

  TEST_CASE("the merge of more runs than one pass takes stays stable") {
    TempDir dir;
    SpilledRuns runs(dir.path(), 64 << 10);
    SortOrder order(1, true, false);
    // Each run holds keys 0..9, all runs equal: ties must come out run by run.
    std::vector<std::string> texts;
    size_t run_count = SpilledRuns::kMaxMergeWidth * 2 + 3;
    for (size_t run = 0; run < run_count; ++run)
      for (int k = 0; k < 10; ++k) texts.push_back(std::to_string(k) + " " + std::to_string(run));
    for (size_t run = 0; run < run_count; ++run) {
      std::vector<SortItem> items;
      for (size_t k = 0; k < 10; ++k) {
        const std::string& text = texts[run * 10 + k];
        items.push_back({text, order.KeyOf(text), static_cast<int64_t>(run * 10 + k + 1)});
      }
      std::string error;
      REQUIRE(runs.Spill(items, &error));
    }
    std::string last_text = "0 last";
    std::vector<SortItem> last{{last_text, order.KeyOf(last_text), 99999}};
    stagetest::CollectingEmitter out;
    REQUIRE(runs.Merge(order, last, out).ok());
    REQUIRE(out.records.size() == run_count * 10 + 1);
    size_t i = 0;
    for (int k = 0; k < 10; ++k) {
      for (size_t run = 0; run < run_count; ++run, ++i)
        REQUIRE(out.records[i] == Emitted{std::to_string(k) + " " + std::to_string(run), int64_t(run * 10 + k + 1)});
      if (k == 0) CHECK(out.records[i++] == Emitted{"0 last", 99999});
    }
    CHECK(dir.Entries().empty());
  }

  TEST_CASE("sort: a temporary directory it cannot use is a fatal error naming it") {
    SortSpec spec = Spec(0, false, false);
    spec.memory_bytes = 1;
    spec.temp_dir = "/nonexistent-flowrun-dir";
    Outcome out = Sort(spec, {"b", "a"});
    CHECK(out.fatal == "sort: cannot create a temporary file in '/nonexistent-flowrun-dir': No such file or directory");
  }

  TEST_CASE("sort stops emitting when Emit returns false") {
    std::unique_ptr<Stage> stage = MakeSortStage(Spec(0, false, false));
    stagetest::CollectingEmitter in;
    for (const char* r : {"c", "b", "a"}) REQUIRE(stage->OnRecord({r, 1, 0}, in).ok());
    stagetest::CollectingEmitter out(2);
    CHECK(stage->Finish(out).ok());
    CHECK(out.Texts() == std::vector<std::string>{"a", "b"});
  }
}

}  // namespace flow
