// The small world both fuzz targets run in: the loader accepts up to the
// documented limits, the run gets a much smaller world, so one input stays in
// the milliseconds.
#pragma once

#include <algorithm>
#include <cstdint>

#include "app/scenario.h"

namespace epsim::fuzz {

inline constexpr std::uint32_t kServicesPerGroup = 8;
inline constexpr int kPodsPerService = 8;
inline constexpr std::uint64_t kMaxEvents = 50'000;
inline const sim::Duration kMaxDuration = sim::Duration::hours(1);

inline void shrink(app::Scenario& s) {
  s.duration = std::min(s.duration, kMaxDuration);
  s.max_events = std::min(s.max_events, kMaxEvents);
  for (auto& c : s.clusters) {
    for (auto& g : c.services) {
      g.count = std::min(g.count, kServicesPerGroup);
      g.workload.replicas = std::min(g.workload.replicas, kPodsPerService);
    }
  }
}

}  // namespace epsim::fuzz
