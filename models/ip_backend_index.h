// Which backends list a live pod IP (models/traffic.h), so that a dying IP
// reaches exactly the backends that may route to it. Pod IPs are handed out
// sequentially per cluster, (cluster << 24) + n (app/pipeline.cpp,
// models/deployment.cpp), so the first backend of an IP sits in a flat array
// per cluster indexed by n: 4 bytes per IP instead of a hash node and a heap
// block. The rare IP listed by several backends keeps the others in a hash
// map, as does an IP far beyond the ones seen so far. Only looked up by IP,
// never iterated: no hash order reaches a decision.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "models/objects.h"

namespace epsim::models {

class IpBackendIndex {
 public:
  // Records that `backend` lists `ip` (nothing if it already is).
  void add(PodIp ip, std::uint32_t backend);
  // The backends recorded for `ip`, in the order they were added, and forgets them.
  std::vector<std::uint32_t> take(PodIp ip);

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  static constexpr std::size_t kMaxFlatGrowth = std::size_t{1} << 16;  // IPs past the seen ones kept flat

  std::uint32_t* first_slot(PodIp ip, bool grow);  // nullptr: not in the flat arrays

  std::vector<std::vector<std::uint32_t>> first_;  // [ip >> 24][ip & 0xFFFFFF]: first backend or kNone
  std::unordered_map<PodIp, std::vector<std::uint32_t>> more_;  // backends after the first (all, off the flat range)
};

}  // namespace epsim::models
