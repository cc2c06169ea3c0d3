#include "app/stage.h"

#include <algorithm>

namespace epsim::app {

std::vector<PlannedStage> plan_stages(const Scenario& scenario, const StageRegistry& registry) {
  std::vector<PlannedStage> out;
  const auto add = [&](const StageRegistration& r, const ClusterSpec* cluster) {
    auto placement = r.place(scenario, cluster);
    if (placement) out.push_back(PlannedStage{&r, cluster, std::move(*placement), {}});
  };
  for (const ClusterSpec& c : scenario.clusters) {
    if (c.role != "business") continue;
    for (const StageRegistration& r : registry) {
      if (r.scope == StageScope::business_cluster) add(r, &c);
    }
  }
  if (scenario.sync.present) {
    for (const StageRegistration& r : registry) {
      if (r.scope == StageScope::access_cluster) add(r, nullptr);
    }
  }
  for (PlannedStage& s : out) {
    for (const PlannedStage& up : out) {
      const auto& writes = up.placement.writes;
      const bool feeds = std::any_of(s.placement.watches.begin(), s.placement.watches.end(), [&](const auto& w) {
        return std::find(writes.begin(), writes.end(), w) != writes.end();
      });
      if (feeds && &up != &s) s.upstream.push_back(up.placement.vertex);
    }
  }
  return out;
}

}  // namespace epsim::app
