// Bringing a cache line in ahead of its use, for look-aheads over tables read
// at random places (models/client_worker_pool.h). A software prefetch
// (__builtin_prefetch) measured no gain where issue 12's numbers come from (a
// virtual machine on AMD EPYC): the sync that followed still stalled on the
// very lines it had hinted. A load whose value is discarded (volatile, so
// the compiler keeps it) is never dropped, and the out-of-order core overlaps
// the independent loads of one look-ahead step: 21% less CPU for the
// 1.3M-Service storm than the hints.
#pragma once

namespace epsim::sim {

inline void load_ahead(const void* p) { (void)*static_cast<const volatile char*>(p); }

}  // namespace epsim::sim
