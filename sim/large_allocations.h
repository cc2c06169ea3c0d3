// Large allocations on transparent huge pages.
//
// A run at a million Services fills a few hundred MB of per-object tables
// (object store slabs, per-pod chunks, per-Service arrays). On 4 KiB pages
// that is over 100,000 page faults, and on a virtualised host a fault costs
// several microseconds: about a second of CPU for a 1.3M-Service storm, as
// much as the simulation itself (issue 12). The C++ program's replacement of
// the global `operator new` (large_allocations.cpp, [replacement.functions])
// therefore serves every request of at least kLargeAllocationBytes from its
// own anonymous mapping, 2 MiB-aligned, whose whole 2 MiB units are marked
// MADV_HUGEPAGE: the kernel backs them with one huge page per 2 MiB touched
// (madvise(2); with /sys/kernel/mm/transparent_hugepage/enabled at "madvise"
// or "always"; at "never" they stay 4 KiB pages and only the speed-up is
// lost). A partial 2 MiB unit at the end stays on 4 KiB pages, so what is
// resident is what is touched, rounded up to 4 KiB. Smaller requests go to
// malloc as before. Deleting returns the mapping to the kernel at once.
//
// Sanitizer builds keep the standard operator new, so AddressSanitizer still
// sees every allocation.
#pragma once

#include <cstddef>

namespace epsim::sim {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;
inline constexpr std::size_t kSmallPageBytes = 4096;
// A request is large when its mapping, rounded up to 4 KiB, holds at least
// one whole 2 MiB unit.
inline constexpr std::size_t kLargeAllocationBytes = kHugePageBytes - kSmallPageBytes + 1;

// Elements of T in one chunk of a chunked table: as many as fill one huge
// page, so that the chunk is one large allocation with no 4 KiB-page tail.
template <class T>
inline constexpr std::size_t kElementsPerHugePage = kHugePageBytes / sizeof(T);

// Whether this build replaces operator new as above (false under sanitizers).
bool large_allocations_on_huge_pages();
// Whether `p` is a live allocation made by that replacement.
bool is_huge_page_allocation(const void* p);
// How many such allocations are live.
std::size_t huge_page_allocations();

}  // namespace epsim::sim
