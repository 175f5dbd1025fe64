#include "compiler/jit_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <utility>
#include <vector>

namespace flow {
namespace {

// The first line of an entry; another format is another line, so an entry
// of an older flowrun is a miss, not a misread.
constexpr char kMagic[] = "flowrun-jit-object 1\n";
constexpr size_t kMagicSize = sizeof kMagic - 1;
constexpr size_t kHexSize = 64;  // of a digest, as a file name or a checksum
constexpr char kSuffix[] = ".o";

// The first 32 bytes of the SHA-512 of `data`, in hex.
std::string Digest(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), md, &size, EVP_sha512(), nullptr) != 1) return "";
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < kHexSize / 2 && i < size; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

// mkdir -p, private to the user: the cache holds code this process runs.
bool MakeDirectories(const std::string& path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string part = path.substr(0, slash);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return false;
    if (slash == std::string::npos) return true;
  }
}

bool ReadWhole(const std::string& path, std::string* out) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buffer[65536];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return n == 0;
    }
    out->append(buffer, static_cast<size_t>(n));
  }
}

bool WriteWhole(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::optional<JitCache> JitCache::FromEnvironment() {
  const char* chosen = std::getenv("FLOWRUN_JIT_CACHE");
  if (chosen != nullptr) {
    const std::string dir = chosen;
    if (dir.empty() || dir == "off") return std::nullopt;
    return JitCache(dir);
  }
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return JitCache(std::string(xdg) + "/flowrun/jit");
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/' && home[1] != '\0') return JitCache(std::string(home) + "/.cache/flowrun/jit");
  return std::nullopt;
}

std::string JitCache::Key(const std::string& description) { return Digest(description); }

std::string JitCache::PathOf(const std::string& key) const { return directory_ + "/" + key + kSuffix; }

bool JitCache::Load(const std::string& key, std::string* object) const {
  if (key.size() != kHexSize) return false;
  const std::string path = PathOf(key);
  std::string entry;
  if (!ReadWhole(path, &entry)) return false;
  const size_t header = kMagicSize + kHexSize + 1;
  const bool whole = entry.size() > header && entry.compare(0, kMagicSize, kMagic) == 0 &&
                     entry[header - 1] == '\n' &&
                     Digest(entry.substr(header)) == std::string_view(entry).substr(kMagicSize, kHexSize);
  if (!whole) {
    unlink(path.c_str());  // made again by this run
    return false;
  }
  object->assign(entry, header, std::string::npos);
  // Used now: the last to go when the cache is pruned.
  utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
  return true;
}

bool JitCache::Store(const std::string& key, const std::string& object) const {
  if (key.size() != kHexSize || object.empty() || !MakeDirectories(directory_)) return false;
  const std::string checksum = Digest(object);
  if (checksum.empty()) return false;
  // Written aside, then renamed over: a reader sees a whole entry or none,
  // whatever runs compile the same program at the same time.
  const std::string temp = directory_ + "/." + key + "." + std::to_string(getpid()) + ".tmp";
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool written = WriteWhole(fd, std::string(kMagic) + checksum + "\n") && WriteWhole(fd, object);
  if (close(fd) != 0 || !written || rename(temp.c_str(), PathOf(key).c_str()) != 0) {
    unlink(temp.c_str());
    return false;
  }
  Prune();
  return true;
}

void JitCache::Prune() const {
  DIR* dir = opendir(directory_.c_str());
  if (dir == nullptr) return;
  std::vector<std::pair<int64_t, std::string>> entries;  // (last used, path)
  while (const dirent* e = readdir(dir)) {
    const std::string name = e->d_name;
    if (name.size() != kHexSize + sizeof kSuffix - 1 || name.compare(kHexSize, std::string::npos, kSuffix) != 0)
      continue;
    struct stat st;
    const std::string path = directory_ + "/" + name;
    if (stat(path.c_str(), &st) == 0)
      entries.emplace_back(static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec, path);
  }
  closedir(dir);
  if (entries.size() <= kMaxEntries) return;
  // Down to three quarters at once: a cache at its limit is not pruned at
  // every miss.
  std::sort(entries.begin(), entries.end());
  for (size_t i = 0; i < entries.size() - kMaxEntries * 3 / 4; ++i) unlink(entries[i].second.c_str());
}

}  // namespace flow
