// The replacement of the global operator new described in
// large_allocations.h. Large blocks are few (table chunks and per-object
// arrays: hundreds at a million Services), so their registry is a fixed array
// scanned under a mutex; only a pointer that is 2 MiB-aligned is looked up
// there, which no malloc block is (glibc puts a 16-byte header before every
// block it returns), so small deletes cost one test more than free().
#include "sim/large_allocations.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define EPSIM_STANDARD_OPERATOR_NEW 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
#define EPSIM_STANDARD_OPERATOR_NEW 1
#endif
#endif

#if defined(EPSIM_STANDARD_OPERATOR_NEW)

namespace epsim::sim {
bool large_allocations_on_huge_pages() { return false; }
bool is_huge_page_allocation(const void*) { return false; }
std::size_t huge_page_allocations() { return 0; }
}  // namespace epsim::sim

#else

namespace epsim::sim {
namespace {

// Live large blocks at once; past it, large requests go to malloc.
constexpr std::size_t kMaxLargeBlocks = 8192;

struct LargeBlock {
  std::uintptr_t base;
  std::size_t length_bytes;  // mapped, a multiple of 4 KiB
};

std::mutex registry_mutex;
LargeBlock registry[kMaxLargeBlocks];
std::size_t registry_size = 0;

std::uintptr_t round_up(std::uintptr_t value, std::uintptr_t unit) { return (value + unit - 1) / unit * unit; }

bool huge_aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % kHugePageBytes == 0; }

// A mapping of `bytes` at a 2 MiB boundary: map 2 MiB more than needed and
// give back the unaligned head and the tail.
void* map_aligned(std::size_t bytes) {
  // No address space holds half of it; rounding such a size up would wrap.
  if (bytes > std::numeric_limits<std::size_t>::max() / 2) return nullptr;
  const std::size_t length = round_up(bytes, kSmallPageBytes);
  const std::size_t reserved = length + kHugePageBytes;
  void* raw = mmap(nullptr, reserved, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const std::uintptr_t begin = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t base = round_up(begin, kHugePageBytes);
  if (base > begin) munmap(raw, base - begin);
  const std::uintptr_t end = begin + reserved;
  if (end > base + length) munmap(reinterpret_cast<void*>(base + length), end - (base + length));
  // Whole 2 MiB units only: a partial one at the end would be backed by a
  // whole huge page the block does not use. A kernel without transparent
  // huge pages refuses the advice; the block then simply stays on 4 KiB pages.
  const std::size_t huge_bytes = length / kHugePageBytes * kHugePageBytes;
  madvise(reinterpret_cast<void*>(base), huge_bytes, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(base);
}

void* allocate_large(std::size_t bytes) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  if (registry_size == kMaxLargeBlocks) return nullptr;
  void* p = map_aligned(bytes);
  if (p == nullptr) return nullptr;
  registry[registry_size++] = {reinterpret_cast<std::uintptr_t>(p), round_up(bytes, kSmallPageBytes)};
  return p;
}

// The registry entry of the large block at `p`, or registry_size when `p` is
// not one. Called with registry_mutex held.
std::size_t find_large(const void* p) {
  const std::uintptr_t base = reinterpret_cast<std::uintptr_t>(p);
  std::size_t i = 0;
  while (i < registry_size && registry[i].base != base) ++i;
  return i;
}

// Unmaps `p` if it is a large block; false if it is not one.
bool release_large(void* p) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  const std::size_t i = find_large(p);
  if (i == registry_size) return false;
  munmap(p, registry[i].length_bytes);
  registry[i] = registry[--registry_size];
  return true;
}

// The malloc heap. Small blocks come from glibc's main heap, which grows by
// moving the program break; every stretch it grows by is advised for huge
// pages as soon as operator new sees the break move, before malloc hands out
// more than the block that moved it. glibc is told to grow the heap 32 MiB at
// a time, so the 2 MiB unit the break was in when it grew (touched before the
// advice, hence on 4 KiB pages) is one unit in 16; to keep what it has
// instead of giving memory back and faulting it in again (M_TRIM_THRESHOLD);
// and to serve blocks below kLargeAllocationBytes from that heap instead of
// mappings of their own (M_MMAP_THRESHOLD, mallopt(3)). glibc's own
// glibc.malloc.hugetlb=1 tunable does the same, but only from the environment.
constexpr std::size_t kHeapGrowthBytes = std::size_t{32} << 20;
std::atomic<std::uintptr_t> heap_advised_end{0};  // the break when last advised
std::mutex heap_mutex;

std::uintptr_t program_break() { return reinterpret_cast<std::uintptr_t>(sbrk(0)); }

bool configure_malloc() {
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kLargeAllocationBytes));
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * kHeapGrowthBytes));
  mallopt(M_TOP_PAD, static_cast<int>(kHeapGrowthBytes));
  heap_advised_end.store(program_break(), std::memory_order_relaxed);
  return true;
}

void advise_heap_growth() {
  if (program_break() <= heap_advised_end.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(heap_mutex);
  const std::uintptr_t end = program_break();
  const std::uintptr_t advised = heap_advised_end.load(std::memory_order_relaxed);
  if (end <= advised) return;
  const std::uintptr_t first = round_up(advised, kHugePageBytes);
  const std::uintptr_t last = end / kHugePageBytes * kHugePageBytes;
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  heap_advised_end.store(end, std::memory_order_relaxed);
}

void* allocate_small(std::size_t bytes) {
  static const bool configured = configure_malloc();
  (void)configured;
  for (;;) {
    if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) {
      advise_heap_growth();
      return p;
    }
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

}  // namespace

bool large_allocations_on_huge_pages() { return true; }

std::size_t huge_page_allocations() {
  std::lock_guard<std::mutex> lock(registry_mutex);
  return registry_size;
}

bool is_huge_page_allocation(const void* p) {
  if (p == nullptr || !huge_aligned(p)) return false;
  std::lock_guard<std::mutex> lock(registry_mutex);
  return find_large(p) < registry_size;
}

}  // namespace epsim::sim

// The replaceable global allocation functions ([new.delete.single]). The
// array and nothrow forms of libstdc++ call these two, so replacing them
// covers every form.
void* operator new(std::size_t bytes) {
  if (bytes >= epsim::sim::kLargeAllocationBytes) {
    if (void* p = epsim::sim::allocate_large(bytes)) return p;
  }
  return epsim::sim::allocate_small(bytes);
}

void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  if (epsim::sim::huge_aligned(p) && epsim::sim::release_large(p)) return;
  std::free(p);
}

void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

#endif
