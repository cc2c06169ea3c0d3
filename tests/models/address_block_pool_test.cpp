#include "models/address_block_pool.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "models/endpoint_addresses.h"

namespace pool = epsim::models::address_block_pool;
using epsim::models::EndpointAddress;
using epsim::models::EndpointAddresses;

namespace {

// A block's bytes as endpoint_addresses.cpp lays it out: an 8-byte header
// and 16 bytes per address.
std::size_t block_bytes(std::size_t addresses) { return 8 + 16 * addresses; }

}  // namespace

TEST_CASE("address block pool: a freed block is the next of its size handed out, and sizes never share one") {
  if (!pool::pooled(1)) {
    // Sanitizer builds: every block is its own allocation.
    CHECK_FALSE(pool::pooled(pool::kPooledAddresses));
    void* block = pool::allocate(1, block_bytes(1));
    std::memset(block, 0xab, block_bytes(1));
    pool::deallocate(block, 1);
    return;
  }
  CHECK_FALSE(pool::pooled(0));
  CHECK(pool::pooled(pool::kPooledAddresses));
  CHECK_FALSE(pool::pooled(pool::kPooledAddresses + 1));
  void* one = pool::allocate(1, block_bytes(1));
  pool::deallocate(one, 1);
  void* two = pool::allocate(2, block_bytes(2));
  CHECK(two != one);  // a block of 2 addresses is not the freed block of 1
  CHECK(pool::allocate(1, block_bytes(1)) == one);
  // A block too large for the pool is an allocation of its own, not the
  // freed pooled one.
  const std::size_t large = pool::kPooledAddresses + 1;
  pool::deallocate(one, 1);
  void* own = pool::allocate(large, block_bytes(large));
  CHECK(own != one);
  std::memset(own, 0xcd, block_bytes(large));
  pool::deallocate(own, large);
  pool::deallocate(two, 2);
}

TEST_CASE("address block pool: blocks of one size lie apart by at least their size, across slabs") {
  // 5,000 blocks of 56 bytes need more than the first 64 KiB slab.
  constexpr std::size_t kAddresses = 3;
  const std::size_t bytes = block_bytes(kAddresses);
  std::vector<std::uint8_t*> blocks;
  for (std::size_t i = 0; i < 5000; ++i) {
    auto* block = static_cast<std::uint8_t*>(pool::allocate(kAddresses, bytes));
    std::memset(block, static_cast<int>(i % 251), bytes);
    blocks.push_back(block);
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    CHECK(blocks[i][0] == i % 251);
    CHECK(blocks[i][bytes - 1] == i % 251);
    CHECK(reinterpret_cast<std::uintptr_t>(blocks[i]) % alignof(EndpointAddress) == 0);
  }
  std::vector<std::uint8_t*> sorted = blocks;
  std::sort(sorted.begin(), sorted.end(), [](const std::uint8_t* a, const std::uint8_t* b) {
    return reinterpret_cast<std::uintptr_t>(a) < reinterpret_cast<std::uintptr_t>(b);
  });
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    CHECK(reinterpret_cast<std::uintptr_t>(sorted[i]) - reinterpret_cast<std::uintptr_t>(sorted[i - 1]) >= bytes);
  }
  for (std::uint8_t* block : blocks) pool::deallocate(block, kAddresses);
}

TEST_CASE("address block pool: a thread's pool goes to the next new thread, and its blocks outlive it") {
  void* kept = nullptr;
  void* freed = nullptr;
  EndpointAddresses made_elsewhere;
  std::thread first([&] {
    kept = pool::allocate(1, block_bytes(1));
    const EndpointAddress address{10, 1, 7};
    made_elsewhere.assign({&address, 1}, {});
    freed = pool::allocate(1, block_bytes(1));
    pool::deallocate(freed, 1);
  });
  first.join();
  void* taken = nullptr;
  std::thread second([&] {
    taken = pool::allocate(1, block_bytes(1));
    // A block made by the thread that ended is still memory to use and free.
    std::memset(kept, 0x5a, block_bytes(1));
    pool::deallocate(kept, 1);
  });
  second.join();
  if (pool::pooled(1)) {
    // The second thread took over the first one's pool: its free list first.
    CHECK(taken == freed);
  }
  // The block the first thread made reads the same from here, and goes back
  // to this thread's pool when the last holder lets go.
  REQUIRE(made_elsewhere.ready().size() == 1);
  CHECK(made_elsewhere.ready()[0].ip == 10);
  CHECK(made_elsewhere.ready()[0].target_ref_resource_version == 7);
  made_elsewhere.clear();
  CHECK(made_elsewhere.empty());
  if (!pool::pooled(1)) pool::deallocate(taken, 1);
}
