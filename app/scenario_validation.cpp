#include "app/scenario_validation.h"

#include <fmt/format.h>

#include <set>
#include <string>

#include "app/input_error.h"
#include "models/version.h"

namespace epsim::app {

namespace {

const ClusterSpec* find_cluster(const Scenario& s, const std::string& name) {
  for (const auto& c : s.clusters) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace

void validate_topology(const Scenario& s) {
  if (s.ingress.present && !s.sync.present) {
    throw InputError(
        fmt::format("{}: ingress needs a sync section: ingress-nginx routes to the access cluster's "
                    "Endpoints, which the sync component writes",
                    s.ingress.origin));
  }
  if (s.sync.present) {
    const ClusterSpec* to = find_cluster(s, s.sync.to);
    if (to == nullptr || to->role != "access") {
      throw InputError(fmt::format("{}: sync.to must name an access cluster, got \"{}\"", s.sync.origin, s.sync.to));
    }
    if (s.sync.from.empty()) throw InputError(fmt::format("{}: sync.from lists no business cluster", s.sync.origin));
    std::set<std::string> seen;
    for (const auto& f : s.sync.from) {
      const ClusterSpec* from = find_cluster(s, f);
      if (from == nullptr || from->role != "business") {
        throw InputError(fmt::format("{}: sync.from must name business clusters, got \"{}\"", s.sync.origin, f));
      }
      if (!seen.insert(f).second) throw InputError(fmt::format("{}: sync.from names {} twice", s.sync.origin, f));
    }
    if (!s.ingress.present) throw InputError(fmt::format("{}: a sync section needs an ingress section", s.sync.origin));
    if (s.ingress.cluster != s.sync.to) {
      throw InputError(fmt::format("{}: ingress.cluster must be the sync target \"{}\", got \"{}\"", s.ingress.origin,
                                   s.sync.to, s.ingress.cluster));
    }
  }
  if (s.ingress.present && s.sync.present) {
    // ingress-nginx >= 1.4 reads EndpointSlices (PR #8890); for the sync
    // component's selector-less Endpoints those come from kube-controller-
    // manager's EndpointSliceMirroring controller, new in Kubernetes 1.19.
    const ClusterSpec* to = find_cluster(s, s.sync.to);
    const auto traits = ingress_version_traits(s.ingress.version);
    const auto access_version = models::parse_release_version(to->kubernetes_version);
    if (traits && traits->read_endpoint_slices && access_version && access_version->major == 1 &&
        access_version->minor < 19) {
      throw InputError(
          fmt::format("{}: ingress-nginx {} reads EndpointSlices, but access cluster {} runs Kubernetes "
                      "{}, which has no EndpointSlice mirroring (1.19+): set its kubernetesVersion to "
                      "1.19 or later, or use ingress-nginx < 1.4",
                      s.ingress.origin, s.ingress.version, to->name, to->kubernetes_version));
    }
  }
  int access = 0;
  for (const auto& c : s.clusters) access += c.role == "access" ? 1 : 0;
  if (access > 1) throw InputError("only one access cluster is supported");
  if (access == 1 && !s.sync.present) throw InputError("an access cluster needs a sync section that writes into it");
}

}  // namespace epsim::app
