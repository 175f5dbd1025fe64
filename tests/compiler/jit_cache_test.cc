// The JIT's cache of machine code between runs (compiler/jit_cache.h): a
// program compiled again comes from it and computes the same; a damaged
// entry, an unwritable directory or another program is a miss and compiles;
// where the environment puts it; pruning keeps the most recently used.
#include "compiler/jit_cache.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "compiler/compiled_blocks.h"
#include "tests/compiler/jit_test_util.h"

namespace flow {
namespace {

using jittest::CheckedProgram;
using jittest::CheckProgramText;
using jittest::Show;

const char kProgram[] = R"(seq(1) | map { fmt("{}:{}", $2, int($1) * 3) })";

struct TempDir {
  TempDir() {
    char name[] = "/tmp/flowrun-jit-cache-XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  if (!std::filesystem::exists(dir)) return names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().string());
  return names;
}

// kProgram's block compiled with `cache`: what it makes of "7 x", and
// whether its code came from the cache.
std::string Compile(std::optional<JitCache> cache, bool* cached) {
  std::unique_ptr<CheckedProgram> checked = CheckProgramText(kProgram);
  REQUIRE_MESSAGE(checked->block, checked->diagnostics);
  CompiledBlocks compiled(std::move(cache));
  BlockFunction fn = compiled.Make(*checked->block, "", kFlowWantText, *checked->file);
  std::string error;
  CHECK_MESSAGE(compiled.Finalize(&error), error);
  CHECK(compiled.interpreted_count() == 0);
  *cached = compiled.cached_count() == 1;
  FlowBlockResult result;
  fn("7 x", 3, 1, &result);
  return Show(result, kFlowWantText);
}

// Sets an environment variable for the scope, as it was after.
struct ScopedEnv {
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old != nullptr) old_ = old;
    if (value != nullptr) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }
  const char* name_;
  std::optional<std::string> old_;
};

TEST_SUITE("jit_cache") {
  TEST_CASE("a program compiled again takes its code from the cache and computes the same") {
    TempDir dir;
    bool cached = true;
    CHECK(Compile(JitCache(dir.path + "/made/here"), &cached) == "text:x:21");
    CHECK_FALSE(cached);
    const std::vector<std::string> entries = Entries(dir.path + "/made/here");
    REQUIRE(entries.size() == 1);
    struct stat st;
    REQUIRE(stat((dir.path + "/made").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);  // code this user runs: nobody else's to change
    CHECK(Compile(JitCache(dir.path + "/made/here"), &cached) == "text:x:21");
    CHECK(cached);
    // Without a cache, as before.
    CHECK(Compile(std::nullopt, &cached) == "text:x:21");
    CHECK_FALSE(cached);
  }

  TEST_CASE("a damaged entry is a miss: compiled and stored again") {
    TempDir dir;
    bool cached = true;
    CHECK(Compile(JitCache(dir.path), &cached) == "text:x:21");
    const std::vector<std::string> entries = Entries(dir.path);
    REQUIRE(entries.size() == 1);
    std::string bytes;
    {
      std::ifstream in(entries[0], std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    REQUIRE(bytes.size() > 200);
    bytes[bytes.size() - 100] ^= 0x5a;  // in the machine code, past the header
    {
      std::ofstream out(entries[0], std::ios::binary | std::ios::trunc);
      out << bytes;
    }
    CHECK(Compile(JitCache(dir.path), &cached) == "text:x:21");
    CHECK_FALSE(cached);
    CHECK(Compile(JitCache(dir.path), &cached) == "text:x:21");
    CHECK(cached);
    // Cut short (a full disk): a miss too.
    std::filesystem::resize_file(entries[0], 50);
    CHECK(Compile(JitCache(dir.path), &cached) == "text:x:21");
    CHECK_FALSE(cached);
  }

  TEST_CASE("a cache that cannot be written: the program compiles as without one") {
    bool cached = true;
    CHECK(Compile(JitCache("/proc/no/such/cache"), &cached) == "text:x:21");
    CHECK_FALSE(cached);
    TempDir dir;
    const std::string file = dir.path + "/a-file";
    std::ofstream(file) << "not a directory";
    CHECK(Compile(JitCache(file + "/jit"), &cached) == "text:x:21");
    CHECK_FALSE(cached);
  }

  TEST_CASE("another program, host or flowrun is another key") {
    const std::string a = JitCache::Key("ir a\nx86_64 znver3 +avx2 LLVM 19.1.7\nflowrun 0.1");
    CHECK(a.size() == 64);
    CHECK(a == JitCache::Key("ir a\nx86_64 znver3 +avx2 LLVM 19.1.7\nflowrun 0.1"));
    CHECK(a != JitCache::Key("ir b\nx86_64 znver3 +avx2 LLVM 19.1.7\nflowrun 0.1"));
    CHECK(a != JitCache::Key("ir a\nx86_64 skylake +avx2 LLVM 19.1.7\nflowrun 0.1"));
    CHECK(a != JitCache::Key("ir a\nx86_64 znver3 +avx2 LLVM 19.1.7\nflowrun 0.2"));
    TempDir dir;
    JitCache cache(dir.path);
    std::string object;
    CHECK(cache.Store(a, "machine code"));
    CHECK(cache.Load(a, &object));
    CHECK(object == "machine code");
    CHECK_FALSE(cache.Load(JitCache::Key("ir b"), &object));
    CHECK_FALSE(cache.Load("../../etc/passwd", &object));  // not a key: never a path
  }

  TEST_CASE("where the environment puts the cache") {
    ScopedEnv xdg("XDG_CACHE_HOME", "/x/cache");
    ScopedEnv home("HOME", "/home/u");
    {
      ScopedEnv chosen("FLOWRUN_JIT_CACHE", "/somewhere/jit");
      REQUIRE(JitCache::FromEnvironment());
      CHECK(JitCache::FromEnvironment()->directory() == "/somewhere/jit");
    }
    {
      ScopedEnv off("FLOWRUN_JIT_CACHE", "off");
      CHECK_FALSE(JitCache::FromEnvironment());
    }
    {
      ScopedEnv empty("FLOWRUN_JIT_CACHE", "");
      CHECK_FALSE(JitCache::FromEnvironment());
    }
    ScopedEnv unset("FLOWRUN_JIT_CACHE", nullptr);
    REQUIRE(JitCache::FromEnvironment());
    CHECK(JitCache::FromEnvironment()->directory() == "/x/cache/flowrun/jit");
    {
      ScopedEnv no_xdg("XDG_CACHE_HOME", nullptr);
      REQUIRE(JitCache::FromEnvironment());
      CHECK(JitCache::FromEnvironment()->directory() == "/home/u/.cache/flowrun/jit");
      ScopedEnv no_home("HOME", nullptr);
      CHECK_FALSE(JitCache::FromEnvironment());
    }
  }

  TEST_CASE("past its size the cache keeps the three quarters last used") {
    TempDir dir;
    JitCache cache(dir.path);
    std::vector<std::string> keys;
    for (size_t i = 0; i < JitCache::kMaxEntries; ++i) {
      keys.push_back(JitCache::Key("program " + std::to_string(i)));
      REQUIRE(cache.Store(keys.back(), "code " + std::to_string(i)));
      // Used in order, one second apart: the first are the oldest.
      const timespec when[2] = {{1'000'000 + static_cast<time_t>(i), 0}, {1'000'000 + static_cast<time_t>(i), 0}};
      REQUIRE(utimensat(AT_FDCWD, (dir.path + "/" + keys.back() + ".o").c_str(), when, 0) == 0);
    }
    CHECK(Entries(dir.path).size() == JitCache::kMaxEntries);
    std::string object;
    REQUIRE(cache.Load(keys[0], &object));  // the oldest, used now: kept
    REQUIRE(cache.Store(JitCache::Key("one more"), "code"));
    CHECK(Entries(dir.path).size() == JitCache::kMaxEntries * 3 / 4);
    CHECK(cache.Load(keys[0], &object));
    CHECK(cache.Load(JitCache::Key("one more"), &object));
    CHECK_FALSE(cache.Load(keys[1], &object));
    CHECK(cache.Load(keys.back(), &object));
  }
}

}  // namespace
}  // namespace flow
