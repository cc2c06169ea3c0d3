// Memory for the small address blocks of EndpointAddresses
// (endpoint_addresses.cpp): one block per Endpoints object whose addresses
// changed, a million of them when a 1.3M-Service cluster is seeded. Through
// malloc each cost about 230 instructions to make and 200 to free (most of
// the teardown), so blocks of up to kPooledAddresses addresses come from
// per-size free lists carved out of slabs instead (issue 12).
//
// Each scenario runs on one thread (a sweep runs several threads), so each
// thread has its own pool and needs no lock. A pool's memory is never given
// back: when its thread ends, the pool goes to a reserve that the next new
// thread takes over, so a block freed late (by another thread, or after its
// thread's pool went to the reserve) is always still memory of some pool. A
// block freed after its thread's pool went away is not reused.
//
// Sanitizer builds do not pool: every block is its own allocation, so
// AddressSanitizer still sees each one.
#pragma once

#include <cstddef>

namespace epsim::models::address_block_pool {

inline constexpr std::size_t kPooledAddresses = 8;

// Whether blocks of `addresses` addresses (1 or more) come from the pool.
bool pooled(std::size_t addresses);
// Storage for a block of `bytes` bytes holding `addresses` addresses,
// aligned for it: from the pool when pooled(addresses), else from
// operator new.
void* allocate(std::size_t addresses, std::size_t bytes);
// Gives back what allocate(addresses, ...) returned.
void deallocate(void* block, std::size_t addresses);

}  // namespace epsim::models::address_block_pool
