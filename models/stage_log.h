// What each stage of the pipeline wrote, and when, so that a stale window can
// be followed back through the stages a pod change crossed (docs/model.md §13).
// A stage that writes endpoint lists (the endpoints controller, the sync
// component, EndpointSlice mirroring) records every write that changed
// storage.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "models/objects.h"
#include "sim/invariant.h"
#include "sim/time.h"

namespace epsim::models {

struct StageWrite {
  sim::Time queued;    // the key was added to the stage's workqueue
  sim::Time started;   // a worker took the key (Get)
  sim::Time sent;      // the request left the client's token bucket
  sim::Time stored;    // the API server applied it
  std::vector<PodIp> ready_ips;  // the addresses written (sorted)

  bool routes_to(PodIp ip) const { return std::binary_search(ready_ips.begin(), ready_ips.end(), ip); }
};

class StageLog {
 public:
  // Writes are recorded when the API server's answer arrives, so each
  // object's writes are in `stored` order; the look-ups rely on it.
  void record(std::uint32_t object, StageWrite write) {
    if (object >= writes_.size()) writes_.resize(object + 1);
    EPSIM_INVARIANT(writes_[object].empty() || writes_[object].back().stored <= write.stored,
                    "stage writes recorded out of stored order");
    writes_[object].push_back(std::move(write));
  }
  // The first write of `object` stored at or after `after` that no longer
  // lists `ip`, or nullptr.
  const StageWrite* first_without(std::uint32_t object, PodIp ip, sim::Time after) const {
    return first_stored_from(object, after, [ip](const StageWrite& w) { return !w.routes_to(ip); });
  }
  // The first write stored at or after `after` that lists `ip`, or nullptr.
  const StageWrite* first_with(std::uint32_t object, PodIp ip, sim::Time after) const {
    return first_stored_from(object, after, [ip](const StageWrite& w) { return w.routes_to(ip); });
  }
  std::size_t objects() const { return writes_.size(); }
  // Every recorded write of `object`, in the order stored.
  const std::vector<StageWrite>& writes_of(std::uint32_t object) const {
    static const std::vector<StageWrite> none;
    return object < writes_.size() ? writes_[object] : none;
  }

 private:
  template <typename Pred>
  const StageWrite* first_stored_from(std::uint32_t object, sim::Time after, Pred matches) const {
    if (object >= writes_.size()) return nullptr;
    const auto& list = writes_[object];
    auto it = std::lower_bound(list.begin(), list.end(), after,
                               [](const StageWrite& w, sim::Time t) { return w.stored < t; });
    for (; it != list.end(); ++it) {
      if (matches(*it)) return &*it;
    }
    return nullptr;
  }

  std::vector<std::vector<StageWrite>> writes_;
};

inline std::vector<PodIp> ready_ips(const Endpoints& e) {
  std::vector<PodIp> ips;
  ips.reserve(e.addresses.size());
  for (const auto& a : e.addresses) ips.push_back(a.ip);
  std::sort(ips.begin(), ips.end());
  return ips;
}

}  // namespace epsim::models
