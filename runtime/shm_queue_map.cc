// Mapping a queue: the geometry of its segment, the memfd mapped with its
// arena twice, and the shared state initialised before any fork.
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "runtime/shm_lock.h"
#include "runtime/shm_queue.h"

namespace flow {

namespace {

constexpr uint64_t kMaxDescriptors = 1024;
constexpr uint64_t kMinLaneBytes = 4096;
constexpr uint64_t kMaxLaneBytes = 64 * 1024;

uint64_t RoundUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

// Where everything sits in the segment (see shm_queue_layout.h).
struct Geometry {
  uint64_t records, bytes, producers, consumers, descriptors, lane, arena;
  uint64_t producers_off, consumers_off, descriptors_off, lanes_off, arena_off;
};

bool Plan(const ShmQueueOptions& options, Geometry* g, std::string* error) {
  if (options.producers < 1 || options.producers > kMaxQueueInstances ||
      options.consumers < 1 || options.consumers > kMaxQueueInstances) {
    *error = "a queue needs 1 to " + std::to_string(kMaxQueueInstances) +
             " producers and consumers";
    return false;
  }
  if (options.capacity_records < 1 || options.capacity_bytes < 1) {
    *error = "a queue's capacity must be at least one record and one byte";
    return false;
  }
  if (static_cast<uint64_t>(options.capacity_bytes) > kMaxRecordBytes) {
    *error = "a queue's capacity must be less than 4GiB";
    return false;
  }
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  g->records = static_cast<uint64_t>(options.capacity_records);
  g->bytes = std::max<uint64_t>(options.capacity_bytes, kMinQueueBytes);
  g->producers = static_cast<uint64_t>(options.producers);
  g->consumers = static_cast<uint64_t>(options.consumers);
  // Every batch holds at least one record, so more descriptors than records
  // would never be used; past 1024, batches are simply larger.
  g->descriptors = std::min(g->records, kMaxDescriptors);
  g->lane = std::clamp(RoundUp(g->bytes / 4, kMinLaneBytes), kMinLaneBytes, kMaxLaneBytes);
  g->arena = RoundUp(g->bytes, page);
  uint64_t off = RoundUp(sizeof(shm::Header), 64);
  g->producers_off = off;
  off += g->producers * sizeof(shm::ProducerSlot);
  g->consumers_off = off;
  off += g->consumers * sizeof(shm::ConsumerSlot);
  g->descriptors_off = off;
  off += g->descriptors * sizeof(shm::Descriptor);
  g->lanes_off = off;
  off += g->consumers * g->lane;
  g->arena_off = RoundUp(off, page);
  return true;
}

}  // namespace

void SetShmQueueCrashHook(void (*hook)(const char* op, const char* phase)) {
  shm::crash_hook = hook;
}

uint64_t ShmQueueMemoryBytes(const ShmQueueOptions& options) {
  Geometry g;
  std::string error;
  return Plan(options, &g, &error) ? g.arena_off + g.arena : 0;
}

std::unique_ptr<ShmQueue> ShmQueue::Create(const ShmQueueOptions& options, std::string* error) {
  Geometry g;
  if (!Plan(options, &g, error)) return nullptr;
  const size_t mapped = g.arena_off + 2 * g.arena;
  auto fail = [&](const char* what) {
    *error = std::string("cannot map a queue: ") + what + ": " + std::strerror(errno);
    return nullptr;
  };
  // A memfd rather than shm_open: it has no name anyone could leave behind
  // in /dev/shm, and it goes away with the last mapping.
  int fd = memfd_create("flowrun-queue", MFD_CLOEXEC);
  if (fd < 0) return fail("memfd_create");
  // A memfd is a file to RLIMIT_FSIZE: a low `ulimit -f`, meant for the
  // files a run writes, would kill the supervisor here with SIGXFSZ. The
  // soft limit is lifted for this one call (the hard one still holds: past
  // it, a clear error instead of the signal).
  const auto size = static_cast<off_t>(g.arena_off + g.arena);
  rlimit fsize{};
  getrlimit(RLIMIT_FSIZE, &fsize);
  if (fsize.rlim_max != RLIM_INFINITY && static_cast<rlim_t>(size) > fsize.rlim_max) {
    close(fd);
    *error = "a queue of " + std::to_string(size) + " bytes is larger than the file size limit (ulimit -f: " +
             std::to_string(fsize.rlim_max) + " bytes), which shared memory counts against";
    return nullptr;
  }
  rlimit lifted = fsize;
  lifted.rlim_cur = fsize.rlim_max;
  setrlimit(RLIMIT_FSIZE, &lifted);
  const int truncated = ftruncate(fd, size);
  const int saved_errno = errno;
  setrlimit(RLIMIT_FSIZE, &fsize);
  if (truncated != 0) {
    close(fd);
    errno = saved_errno;
    return fail("ftruncate");
  }
  // Reserve the whole range first so that the two views of the arena are
  // adjacent, then map the file over it.
  void* range = mmap(nullptr, mapped, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  char* base = static_cast<char*>(range);
  bool ok = range != MAP_FAILED &&
            mmap(base, g.arena_off + g.arena, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
                 0) != MAP_FAILED &&
            mmap(base + g.arena_off + g.arena, g.arena, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_FIXED, fd, static_cast<off_t>(g.arena_off)) != MAP_FAILED;
  int saved = errno;
  close(fd);  // the mappings keep the memory
  errno = saved;
  if (!ok) {
    if (range != MAP_FAILED) munmap(range, mapped);
    return fail("mmap");
  }

  // The file starts zeroed; construct the shared objects in place anyway.
  auto* h = new (base) shm::Header();
  h->magic = shm::kMagic;
  h->producers = g.producers;
  h->consumers = g.consumers;
  h->descriptors = g.descriptors;
  h->capacity_records = g.records;
  h->capacity_bytes = g.bytes;
  // A batch is cut into runs of at most a quarter of the queue, so that a
  // producer copies one run while consumers read the others.
  h->max_batch_records = std::max<uint64_t>(1, g.records / 4);
  h->max_batch_bytes = std::max(QueueFootprint(1, 0), g.bytes / 4);
  h->arena_bytes = g.arena;
  h->lane_bytes = g.lane;
  h->producers_off = g.producers_off;
  h->consumers_off = g.consumers_off;
  h->descriptors_off = g.descriptors_off;
  h->lanes_off = g.lanes_off;
  h->arena_off = g.arena_off;
  for (uint64_t i = 0; i < g.producers; ++i) {
    new (base + g.producers_off + i * sizeof(shm::ProducerSlot)) shm::ProducerSlot();
  }
  for (uint64_t i = 0; i < g.consumers; ++i) {
    new (base + g.consumers_off + i * sizeof(shm::ConsumerSlot)) shm::ConsumerSlot();
  }
  for (uint64_t i = 0; i < g.descriptors; ++i) {
    new (base + g.descriptors_off + i * sizeof(shm::Descriptor)) shm::Descriptor();
  }
  if (!shm::InitRobustMutex(&h->lock, error)) {
    munmap(base, mapped);
    return nullptr;
  }
  return std::unique_ptr<ShmQueue>(new ShmQueue(base, mapped));
}

ShmQueue::ShmQueue(char* base, size_t mapped_bytes)
    : base_(base), mapped_bytes_(mapped_bytes), h_(reinterpret_cast<shm::Header*>(base)) {}

ShmQueue::~ShmQueue() { munmap(base_, mapped_bytes_); }

}  // namespace flow
