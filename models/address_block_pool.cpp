#include "models/address_block_pool.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>


#if defined(__SANITIZE_ADDRESS__)
#define EPSIM_POOL_ADDRESS_BLOCKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
#define EPSIM_POOL_ADDRESS_BLOCKS 0
#endif
#endif
#ifndef EPSIM_POOL_ADDRESS_BLOCKS
#define EPSIM_POOL_ADDRESS_BLOCKS 1
#endif

namespace epsim::models::address_block_pool {

#if EPSIM_POOL_ADDRESS_BLOCKS

namespace {

// Slabs start small, so a small scenario stays small, and double up to one
// huge page (sim/large_allocations.h serves that size from huge pages).
constexpr std::size_t kFirstSlabBytes = std::size_t{64} << 10;
constexpr std::size_t kLastSlabBytes = std::size_t{2} << 20;

struct FreeBlock {
  FreeBlock* next;
};

struct SizeClass {
  FreeBlock* free = nullptr;  // given back, most recent first
  char* unused = nullptr;     // the rest of the newest slab
  char* unused_end = nullptr;
  std::size_t next_slab_bytes = kFirstSlabBytes;
};

struct Pool {
  std::array<SizeClass, kPooledAddresses> classes;
  std::vector<void*> slabs;  // kept for the process: see the header
};

// Every pool ever made stays reachable from here (so a leak checker sees
// none), and pools whose thread ended wait in `reserve` for a new thread.
// Both live for the process: a block may be freed during static destruction.
struct Registry {
  std::mutex mutex;
  std::vector<Pool*> all;
  std::vector<Pool*> reserve;
};
Registry& registry() {
  static Registry* const r = new Registry;
  return *r;
}

// The thread's pool; null before its first block and after the thread's
// end handed it to the reserve (a trivially destructible thread_local stays
// readable until the thread's storage goes).
thread_local Pool* thread_pool = nullptr;
thread_local bool thread_ended = false;

struct ThreadEnd {
  ~ThreadEnd() {
    thread_ended = true;
    if (thread_pool == nullptr) return;
    Registry& r = registry();
    const std::lock_guard<std::mutex> lock(r.mutex);
    r.reserve.push_back(thread_pool);
    thread_pool = nullptr;
  }
};

Pool& pool() {
  if (thread_pool != nullptr) [[likely]] return *thread_pool;
  Registry& r = registry();
  {
    const std::lock_guard<std::mutex> lock(r.mutex);
    if (!r.reserve.empty()) {
      thread_pool = r.reserve.back();
      r.reserve.pop_back();
    } else {
      thread_pool = new Pool;
      r.all.push_back(thread_pool);
    }
  }
  // Hands the pool on when the thread ends. A block made during the
  // thread's own end keeps its pool for good (it is in `all`).
  if (!thread_ended) {
    static thread_local ThreadEnd end;
    (void)end;
  }
  return *thread_pool;
}

}  // namespace

bool pooled(std::size_t addresses) { return addresses >= 1 && addresses <= kPooledAddresses; }

void* allocate(std::size_t addresses, std::size_t bytes) {
  if (!pooled(addresses)) return ::operator new(bytes);
  static_assert(alignof(FreeBlock) <= alignof(std::max_align_t));
  Pool& p = pool();
  SizeClass& c = p.classes[addresses - 1];
  if (c.free != nullptr) {
    FreeBlock* block = c.free;
    c.free = block->next;
    return block;
  }
  // Every block of a class has the same size, a multiple of 8.
  const std::size_t size = (std::max(bytes, sizeof(FreeBlock)) + 7) / 8 * 8;
  if (static_cast<std::size_t>(c.unused_end - c.unused) < size) {
    const std::size_t slab_bytes = c.next_slab_bytes;
    c.next_slab_bytes = std::min(kLastSlabBytes, slab_bytes * 2);
    c.unused = static_cast<char*>(::operator new(slab_bytes));
    c.unused_end = c.unused + slab_bytes;
    p.slabs.push_back(c.unused);
  }
  void* block = c.unused;
  c.unused += size;
  return block;
}

void deallocate(void* block, std::size_t addresses) {
  if (!pooled(addresses)) {
    // Unsized: clang enables sized deallocation only with -fsized-deallocation.
    ::operator delete(block);
    return;
  }
  // After the thread's end its pool is in the reserve: leave the block be.
  if (thread_pool == nullptr && thread_ended) return;
  SizeClass& c = pool().classes[addresses - 1];
  c.free = ::new (block) FreeBlock{c.free};
}

#else  // sanitizers: one allocation per block

bool pooled(std::size_t) { return false; }
void* allocate(std::size_t, std::size_t bytes) { return ::operator new(bytes); }
// Unsized: clang enables sized deallocation only with -fsized-deallocation.
void deallocate(void* block, std::size_t) { ::operator delete(block); }

#endif

}  // namespace epsim::models::address_block_pool
