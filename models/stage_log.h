// What each stage of the pipeline wrote, and when, so that a stale window can
// be followed back through the stages a pod change crossed (DESIGN.md §3).
// A stage that writes endpoint lists (the endpoints controller, the sync
// component, EndpointSlice mirroring) records every write that changed
// storage.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "models/objects.h"
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
  void record(std::uint32_t object, StageWrite write) {
    if (object >= writes_.size()) writes_.resize(object + 1);
    writes_[object].push_back(std::move(write));
  }
  // The first write of `object` stored at or after `after` that no longer
  // lists `ip`, or nullptr.
  const StageWrite* first_without(std::uint32_t object, PodIp ip, sim::Time after) const {
    if (object >= writes_.size()) return nullptr;
    for (const StageWrite& w : writes_[object]) {
      if (w.stored >= after && !w.routes_to(ip)) return &w;
    }
    return nullptr;
  }
  // The first write stored at or after `after` that lists `ip`, or nullptr.
  const StageWrite* first_with(std::uint32_t object, PodIp ip, sim::Time after) const {
    if (object >= writes_.size()) return nullptr;
    for (const StageWrite& w : writes_[object]) {
      if (w.stored >= after && w.routes_to(ip)) return &w;
    }
    return nullptr;
  }
  std::size_t objects() const { return writes_.size(); }
  // Every recorded write of `object`, in the order stored.
  const std::vector<StageWrite>& writes_of(std::uint32_t object) const {
    static const std::vector<StageWrite> none;
    return object < writes_.size() ? writes_[object] : none;
  }

 private:
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
