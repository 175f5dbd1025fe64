// Machine code of compiled blocks kept on disk between runs, so that a
// program run again skips LLVM's optimizer and code generator: the JIT's
// 20-45 ms for a few blocks (most of a short run's start, and on a broker
// run CPU taken from the instances starting on a 2-core machine) become a
// file read and a link of about a millisecond.
//
// An entry is one module's object file, named by a SHA-512 of everything
// that shapes the code: the module's IR before optimization, the host's
// target triple, CPU and features, the LLVM and flowrun versions. Another
// flowrun, LLVM or CPU therefore never finds an entry it did not make. An
// entry carries a checksum of its bytes: a damaged one (a full disk, a
// crash mid-write despite the rename) is a miss, made again.
//
// Where: $FLOWRUN_JIT_CACHE if set ("off" or empty: no cache), else
// $XDG_CACHE_HOME/flowrun/jit, else $HOME/.cache/flowrun/jit. A directory
// that cannot be made or written is no cache, silently: the run compiles as
// it did without one. At most kMaxEntries entries are kept; the least
// recently used go first.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace flow {

class JitCache {
 public:
  static constexpr size_t kMaxEntries = 512;

  // The cache the environment asks for; nullopt for none.
  static std::optional<JitCache> FromEnvironment();
  explicit JitCache(std::string directory) : directory_(std::move(directory)) {}

  // The key of the code that `description` (IR and target, see above)
  // compiles to.
  static std::string Key(const std::string& description);

  // The object stored under `key` into *object; false when there is none,
  // or it is damaged (then removed).
  bool Load(const std::string& key, std::string* object) const;
  // Stores `object` under `key`, whole or not at all; false when it could
  // not be written (the run goes on without it).
  bool Store(const std::string& key, const std::string& object) const;

  const std::string& directory() const { return directory_; }

 private:
  std::string PathOf(const std::string& key) const;
  void Prune() const;

  std::string directory_;
};

}  // namespace flow
