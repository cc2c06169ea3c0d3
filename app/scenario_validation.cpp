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
  for (const ClusterSpec& c : s.clusters) {
    for (const ServiceGroupSpec& g : c.services) {
      if (g.in_cluster_rps == 0) continue;
      // proxier.go skips Services without a ClusterIP; a selector-less
      // Service has no endpoints kube-controller-manager keeps.
      if (c.role != "business") {
        throw InputError(fmt::format("{}: inClusterRps: kube-proxy is modelled in business clusters only, and {} is "
                                     "the access cluster",
                                     g.origin, c.name));
      }
      if (g.headless) {
        throw InputError(fmt::format("{}: inClusterRps on a headless Service: kube-proxy programs no rules for "
                                     "ClusterIP None (its clients dial the pod IPs DNS returns)",
                                     g.origin));
      }
      if (!g.selector) {
        throw InputError(fmt::format("{}: inClusterRps on a Service without selector: nothing in the model keeps "
                                     "its endpoints",
                                     g.origin));
      }
    }
    if (in_cluster_clients(c)) {
      // Each simulated node's change tracker has a slot per Service.
      std::uint64_t services = 0;
      for (const ServiceGroupSpec& g : c.services) services += g.count;
      const auto nodes = static_cast<std::uint64_t>(resolve_kube_proxy(c).nodes);
      if (nodes * services > kMaxKubeProxyNodeServices) {
        throw InputError(fmt::format("{}: kubeProxy.nodes {} x {} services is over {} node-Services (kube-proxy "
                                     "tracks every Service on every simulated node): simulate fewer nodes",
                                     c.origin, nodes, services, kMaxKubeProxyNodeServices));
      }
    }
    if (in_cluster_clients(c) && resolve_kube_proxy(c).read_endpoint_slices && !resolve_endpoint_slice_controller(c)) {
      throw InputError(fmt::format("{}: kube-proxy reads EndpointSlices (EndpointSliceProxying, on by default from "
                                   "1.19) but the EndpointSlice controller is off in cluster {}: turn one on or the "
                                   "other off",
                                   c.origin, c.name));
    }
  }
  int access = 0;
  for (const auto& c : s.clusters) access += c.role == "access" ? 1 : 0;
  if (access > 1) throw InputError("only one access cluster is supported");
  if (access == 1 && !s.sync.present) throw InputError("an access cluster needs a sync section that writes into it");
}

}  // namespace epsim::app
