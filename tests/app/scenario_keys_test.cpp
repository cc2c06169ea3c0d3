// Holds the scenario schema, its documentation and the loader to each other:
// docs/scenario.md documents every key of scenario_key_paths() exactly once,
// and every key, set to a value other than its default, reaches the typed
// Scenario field it names (and, where it has one, the documented default
// applies when the key is absent).
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/canonical_scenario.h"
#include "app/input_error.h"
#include "app/scenario.h"
#include "app/scenario_readers.h"
#include "app/scenario_schema.h"
#include "run_epsim.h"

using epsim::app::ClusterSpec;
using epsim::app::DeploySpec;
using epsim::app::Scenario;
using epsim::app::ServiceGroupSpec;
using epsim::sim::Duration;

namespace {

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// ---------------------------------------------------------------------------
// docs/scenario.md

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// The first cells of the table rows (outside fenced code) that hold a
// backtick: "`path`" gives "path"; any other shape is returned whole so that
// it shows up as an extra entry.
std::vector<std::string> documented_paths(const std::string& markdown) {
  std::vector<std::string> out;
  std::istringstream in(markdown);
  std::string line;
  bool fenced = false;
  while (std::getline(in, line)) {
    const std::string t = trim(line);
    if (t.rfind("```", 0) == 0) {
      fenced = !fenced;
      continue;
    }
    if (fenced || t.empty() || t[0] != '|') continue;
    const auto end = t.find('|', 1);
    const std::string cell = trim(t.substr(1, end == std::string::npos ? std::string::npos : end - 1));
    if (cell.find('`') == std::string::npos) continue;
    const bool one_path = cell.size() > 2 && cell.front() == '`' && cell.back() == '`' &&
                          cell.find('`', 1) == cell.size() - 1;
    out.push_back(one_path ? cell.substr(1, cell.size() - 2) : cell);
  }
  return out;
}

// a − b as multisets.
std::vector<std::string> minus(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// The ```yaml blocks of the document: each is a whole scenario.
std::vector<std::string> yaml_examples(const std::string& markdown) {
  std::vector<std::string> out;
  std::istringstream in(markdown);
  std::string line, block;
  bool in_yaml = false, fenced = false;
  while (std::getline(in, line)) {
    const std::string t = trim(line);
    if (t.rfind("```", 0) == 0) {
      if (fenced && in_yaml) out.push_back(block);
      in_yaml = !fenced && t == "```yaml";
      fenced = !fenced;
      block.clear();
      continue;
    }
    if (in_yaml) block += line + "\n";
  }
  return out;
}

// ---------------------------------------------------------------------------
// The key table

// Pieces spliced into a small valid scenario: a business cluster "idc" with
// one services entry (count 2), an access cluster "access", a sync section
// and an ingress section. Each field is a comma-separated list of
// "key: value" items (YAML flow style) added to that mapping.
struct Parts {
  std::string top{};           // top-level mapping
  std::string cluster{};       // clusters[0] ("idc")
  std::string api_server{};    // clusters[0].apiServer
  std::string cm{};            // clusters[0].controllerManager
  std::string service{};       // clusters[0].services[0]
  std::string deploy{};        // clusters[0].deploys[0] (no deploys when empty)
  std::string access{};        // clusters[1] ("access")
  std::string sync{};          // sync
  std::string ingress{};       // ingress
  std::string services{};      // replaces the whole clusters[0].services list
};

std::string mapping(std::vector<std::string> items) {
  items.erase(std::remove(items.begin(), items.end(), std::string()), items.end());
  std::string out = "{";
  out += join(items, ", ");
  out += "}";
  return out;
}

std::string scenario_text(const Parts& p) {
  const std::string service = mapping({"count: 2", p.service});
  std::vector<std::string> idc = {"name: idc", p.cluster};
  if (!p.api_server.empty()) idc.push_back("apiServer: " + mapping({p.api_server}));
  if (!p.cm.empty()) idc.push_back("controllerManager: " + mapping({p.cm}));
  idc.push_back("services: " + (p.services.empty() ? "[" + service + "]" : p.services));
  if (!p.deploy.empty()) idc.push_back("deploys: [" + mapping({p.deploy}) + "]");
  const std::string access = mapping({"name: access", "role: access", p.access});
  const std::string clusters = "clusters: [" + mapping(idc) + ", " + access + "]";
  const std::string out = mapping({p.top, clusters, "sync: " + mapping({"from: [idc]", "to: access", p.sync}),
                                   "ingress: " + mapping({"cluster: access", p.ingress})});
  return out + "\n";
}

Scenario load(const Parts& p) { return epsim::app::load_scenario_text(scenario_text(p), "keys.yaml"); }

const ClusterSpec& idc(const Scenario& s) { return s.clusters.at(0); }
const ClusterSpec& access(const Scenario& s) { return s.clusters.at(1); }
const ServiceGroupSpec& svc(const Scenario& s) { return idc(s).services.at(0); }
const DeploySpec& dep(const Scenario& s) { return idc(s).deploys.at(0); }
const auto& cm(const Scenario& s) { return idc(s).controller_manager; }
const auto& ep(const Scenario& s) { return idc(s).controller_manager.endpoints; }
const auto& api(const Scenario& s) { return idc(s).api_server; }
const auto& ing(const Scenario& s) { return s.ingress.config; }
bool overridden(const Scenario& s, const std::string& name, bool value) {
  const auto it = idc(s).switch_overrides.find(name);
  return it != idc(s).switch_overrides.end() && it->second == value;
}

using Check = std::function<void(const Scenario&)>;

struct KeyCase {
  std::string path{};
  Parts set{};     // sets the key to a non-default value
  Check check{};   // on the scenario loaded with `set`
  Check absent{};  // on the scenario without the key: the documented default (optional)
};

const std::vector<KeyCase>& key_cases() {
  static const std::vector<KeyCase> cases = {
      // top level
      {"name", {.top = "name: storm"}, [](auto& s) { CHECK(s.name == "storm"); },
       [](auto& s) { CHECK(s.name == "unnamed"); }},
      {"description", {.top = "description: a test"}, [](auto& s) { CHECK(s.description == "a test"); },
       [](auto& s) { CHECK(s.description.empty()); }},
      {"seed", {.top = "seed: 42"}, [](auto& s) { CHECK(s.seed == 42); }, [](auto& s) { CHECK(s.seed == 1); }},
      {"duration", {.top = "duration: 1h30m"}, [](auto& s) { CHECK(s.duration == Duration::minutes(90)); },
       [](auto& s) { CHECK(s.duration == Duration::hours(24)); }},
      {"maxEvents", {.top = "maxEvents: 12345"}, [](auto& s) { CHECK(s.max_events == 12345); },
       [](auto& s) { CHECK(s.max_events == 200'000'000); }},
      {"include", {.top = "include: [common/apiserver-calibrated.yaml]"},
       [](auto& s) {
         CHECK(api(s).mutating_throughput == 45);
         CHECK(api(s).latency_median == Duration::milliseconds(20));
         CHECK(access(s).api_server.watch_delay == Duration::milliseconds(100));
       },
       [](auto& s) { CHECK(api(s).mutating_throughput == 0); }},
      {"clusterDefaults",
       {.top = "clusterDefaults: {controllerManager: {kubeAPIQPS: 77}, kubernetesVersion: '1.20'}",
        .cm = "kubeAPIQPS: 33"},
       [](auto& s) {
         CHECK(ep(s).kube_api_qps == 33);  // the cluster's own value wins
         CHECK(access(s).controller_manager.endpoints.kube_api_qps == 77);
         CHECK(idc(s).kubernetes_version == "1.20");
         CHECK(access(s).kubernetes_version == "1.20");
       }},
      {"clusters", {.access = "kubernetesVersion: '1.22'"},
       [](auto& s) {
         CHECK(s.clusters.size() == 2);
         CHECK(idc(s).name == "idc");
         CHECK(access(s).kubernetes_version == "1.22");
       }},
      // clusters[]
      {"clusters[].name", {}, [](auto& s) { CHECK(idc(s).name == "idc"); CHECK(access(s).name == "access"); }},
      {"clusters[].role", {}, [](auto& s) { CHECK(access(s).role == "access"); },
       [](auto& s) { CHECK(idc(s).role == "business"); }},
      {"clusters[].kubernetesVersion", {.cluster = "kubernetesVersion: 1.17.13"},
       [](auto& s) {
         CHECK(idc(s).kubernetes_version == "1.17.13");
         CHECK_FALSE(epsim::app::resolve_switches(idc(s)).headless_label_compare);
       },
       [](auto& s) {
         CHECK(idc(s).kubernetes_version == "1.17.3");
         CHECK(epsim::app::resolve_switches(idc(s)).headless_label_compare);
       }},
      // clusters[].apiServer
      {"clusters[].apiServer", {.api_server = "watchDelay: 1s"},
       [](auto& s) { CHECK(api(s).watch_delay == Duration::seconds(1)); }},
      {"clusters[].apiServer.requestLatency", {.api_server = "requestLatency: {median: 3ms, p99: 300ms}"},
       [](auto& s) {
         CHECK(api(s).latency_median == Duration::milliseconds(3));
         CHECK(api(s).latency_p99 == Duration::milliseconds(300));
       }},
      {"clusters[].apiServer.requestLatency.median", {.api_server = "requestLatency: {median: 3ms}"},
       [](auto& s) { CHECK(api(s).latency_median == Duration::milliseconds(3)); },
       [](auto& s) { CHECK(api(s).latency_median == Duration::milliseconds(10)); }},
      {"clusters[].apiServer.requestLatency.p99", {.api_server = "requestLatency: {p99: 300ms}"},
       [](auto& s) { CHECK(api(s).latency_p99 == Duration::milliseconds(300)); },
       [](auto& s) { CHECK(api(s).latency_p99 == Duration::milliseconds(100)); }},
      {"clusters[].apiServer.mutatingThroughput", {.api_server = "mutatingThroughput: 12.5"},
       [](auto& s) { CHECK(api(s).mutating_throughput == 12.5); },
       [](auto& s) { CHECK(api(s).mutating_throughput == 0); }},
      {"clusters[].apiServer.maxMutatingRequestsInflight", {.api_server = "maxMutatingRequestsInflight: 7"},
       [](auto& s) { CHECK(api(s).max_mutating_requests_inflight == 7); },
       [](auto& s) { CHECK(api(s).max_mutating_requests_inflight == 200); }},
      {"clusters[].apiServer.watchDelay", {.api_server = "watchDelay: 7ms"},
       [](auto& s) { CHECK(api(s).watch_delay == Duration::milliseconds(7)); },
       [](auto& s) { CHECK(api(s).watch_delay == Duration::milliseconds(50)); }},
      {"clusters[].apiServer.noopUpdateElision", {.api_server = "noopUpdateElision: false"},
       [](auto& s) { CHECK_FALSE(api(s).noop_update_elision); }, [](auto& s) { CHECK(api(s).noop_update_elision); }},
      // clusters[].controllerManager
      {"clusters[].controllerManager", {.cm = "concurrentEndpointSyncs: 30, kubeAPIQPS: 100"},
       [](auto& s) {
         CHECK(ep(s).concurrent_endpoint_syncs == 30);
         CHECK(ep(s).kube_api_qps == 100);
       }},
      {"clusters[].controllerManager.concurrentEndpointSyncs", {.cm = "concurrentEndpointSyncs: 9"},
       [](auto& s) { CHECK(ep(s).concurrent_endpoint_syncs == 9); },
       [](auto& s) { CHECK(ep(s).concurrent_endpoint_syncs == 5); }},
      {"clusters[].controllerManager.kubeAPIQPS", {.cm = "kubeAPIQPS: 77.5"},
       [](auto& s) { CHECK(ep(s).kube_api_qps == 77.5); }, [](auto& s) { CHECK(ep(s).kube_api_qps == 20); }},
      {"clusters[].controllerManager.kubeAPIBurst", {.cm = "kubeAPIBurst: 88"},
       [](auto& s) { CHECK(ep(s).kube_api_burst == 88); }, [](auto& s) { CHECK(ep(s).kube_api_burst == 30); }},
      {"clusters[].controllerManager.minResyncPeriod", {.cm = "minResyncPeriod: 6h"},
       [](auto& s) { CHECK(cm(s).min_resync_period == Duration::hours(6)); },
       [](auto& s) { CHECK(cm(s).min_resync_period == Duration::hours(12)); }},
      {"clusters[].controllerManager.resyncPeriod", {.cm = "resyncPeriod: 16h25m"},
       [](auto& s) {
         CHECK(cm(s).resync_period == std::optional<Duration>(Duration::minutes(16 * 60 + 25)));
       },
       [](auto& s) { CHECK_FALSE(cm(s).resync_period.has_value()); }},
      {"clusters[].controllerManager.endpointUpdatesBatchPeriod", {.cm = "endpointUpdatesBatchPeriod: 1s"},
       [](auto& s) { CHECK(ep(s).endpoint_updates_batch_period == Duration::seconds(1)); },
       [](auto& s) { CHECK(ep(s).endpoint_updates_batch_period == Duration::zero()); }},
      {"clusters[].controllerManager.startedBefore", {.cm = "startedBefore: 12h"},
       [](auto& s) { CHECK(idc(s).informer_start == Duration::hours(12)); },
       [](auto& s) { CHECK(idc(s).informer_start == Duration::zero()); }},
      {"clusters[].controllerManager.leaderChanges", {.cm = "leaderChanges: [1h, 2h30m]"},
       [](auto& s) {
         CHECK(idc(s).leader_changes == std::vector<Duration>{Duration::hours(1), Duration::minutes(150)});
       },
       [](auto& s) { CHECK(idc(s).leader_changes.empty()); }},
      {"clusters[].controllerManager.switches", {.cm = "switches: {headlessLabelCompare: false}"},
       [](auto& s) { CHECK(idc(s).switch_overrides.size() == 1); },
       [](auto& s) { CHECK(idc(s).switch_overrides.empty()); }},
      {"clusters[].controllerManager.switches.headlessLabelCompare",
       {.cm = "switches: {headlessLabelCompare: false}"},
       [](auto& s) {
         CHECK(overridden(s, "headlessLabelCompare", false));
         CHECK_FALSE(epsim::app::resolve_switches(idc(s)).headless_label_compare);
       },
       [](auto& s) { CHECK(epsim::app::resolve_switches(idc(s)).headless_label_compare); }},
      {"clusters[].controllerManager.switches.serviceLabelMutation",
       {.cm = "switches: {serviceLabelMutation: true}"},
       [](auto& s) {
         CHECK(overridden(s, "serviceLabelMutation", true));
         CHECK(epsim::app::resolve_switches(idc(s)).service_label_mutation);
       },
       [](auto& s) { CHECK_FALSE(epsim::app::resolve_switches(idc(s)).service_label_mutation); }},
      {"clusters[].controllerManager.switches.targetRefResourceVersionCompare",
       {.cm = "switches: {targetRefResourceVersionCompare: false}"},
       [](auto& s) {
         CHECK(overridden(s, "targetRefResourceVersionCompare", false));
         CHECK_FALSE(epsim::app::resolve_switches(idc(s)).target_ref_resource_version_compare);
       },
       [](auto& s) { CHECK(epsim::app::resolve_switches(idc(s)).target_ref_resource_version_compare); }},
      {"clusters[].controllerManager.switches.triggerTimeAnnotationRewrite",
       {.cm = "switches: {triggerTimeAnnotationRewrite: false}"},
       [](auto& s) {
         CHECK(overridden(s, "triggerTimeAnnotationRewrite", false));
         CHECK_FALSE(epsim::app::resolve_switches(idc(s)).trigger_time_annotation_rewrite);
       },
       [](auto& s) { CHECK(epsim::app::resolve_switches(idc(s)).trigger_time_annotation_rewrite); }},
      {"clusters[].controllerManager.mirroringConcurrentServiceEndpointSyncs",
       {.access = "controllerManager: {mirroringConcurrentServiceEndpointSyncs: 11}"},
       [](auto& s) { CHECK(access(s).mirroring_workers == 11); },
       [](auto& s) { CHECK(access(s).mirroring_workers == 5); }},
      {"clusters[].controllerManager.endpointSliceController", {.cm = "endpointSliceController: true"},
       [](auto& s) { CHECK(epsim::app::resolve_endpoint_slice_controller(idc(s))); },
       // 1.17.3: the EndpointSlice feature gate is off before 1.18 (PR #86137).
       [](auto& s) { CHECK_FALSE(epsim::app::resolve_endpoint_slice_controller(idc(s))); }},
      {"clusters[].controllerManager.concurrentServiceEndpointSyncs", {.cm = "concurrentServiceEndpointSyncs: 12"},
       [](auto& s) { CHECK(idc(s).concurrent_service_endpoint_syncs == 12); },
       [](auto& s) { CHECK(idc(s).concurrent_service_endpoint_syncs == 5); }},
      // clusters[].kubeProxy
      {"clusters[].kubeProxy", {.cluster = "kubeProxy: {nodes: 4, syncDuration: 2s}"},
       [](auto& s) {
         CHECK(epsim::app::resolve_kube_proxy(idc(s)).nodes == 4);
         CHECK(epsim::app::resolve_kube_proxy(idc(s)).sync_duration == Duration::seconds(2));
       }},
      {"clusters[].kubeProxy.nodes", {.cluster = "kubeProxy: {nodes: 7}"},
       [](auto& s) { CHECK(epsim::app::resolve_kube_proxy(idc(s)).nodes == 7); },
       [](auto& s) { CHECK(epsim::app::resolve_kube_proxy(idc(s)).nodes == 3); }},
      {"clusters[].kubeProxy.iptablesMinSyncPeriod", {.cluster = "kubeProxy: {iptablesMinSyncPeriod: 10s}"},
       [](auto& s) { CHECK(epsim::app::resolve_kube_proxy(idc(s)).min_sync_period == Duration::seconds(10)); },
       // 1.17.3 predates PR #92836's 1s default.
       [](auto& s) { CHECK(epsim::app::resolve_kube_proxy(idc(s)).min_sync_period == Duration::zero()); }},
      {"clusters[].kubeProxy.iptablesSyncPeriod", {.cluster = "kubeProxy: {iptablesSyncPeriod: 1m}"},
       [](auto& s) { CHECK(epsim::app::resolve_kube_proxy(idc(s)).sync_period == Duration::minutes(1)); },
       [](auto& s) { CHECK(epsim::app::resolve_kube_proxy(idc(s)).sync_period == Duration::seconds(30)); }},
      {"clusters[].kubeProxy.syncDuration", {.cluster = "kubeProxy: {syncDuration: 3s}"},
       [](auto& s) { CHECK(epsim::app::resolve_kube_proxy(idc(s)).sync_duration == Duration::seconds(3)); },
       [](auto& s) { CHECK(epsim::app::resolve_kube_proxy(idc(s)).sync_duration == Duration::milliseconds(100)); }},
      {"clusters[].kubeProxy.endpointSliceProxying",
       {.cluster = "kubeProxy: {endpointSliceProxying: true}", .cm = "endpointSliceController: true"},
       [](auto& s) { CHECK(epsim::app::resolve_kube_proxy(idc(s)).read_endpoint_slices); },
       [](auto& s) { CHECK_FALSE(epsim::app::resolve_kube_proxy(idc(s)).read_endpoint_slices); }},
      // clusters[].services[]
      {"clusters[].services", {.services = "[{count: 2}, {count: 3, namePrefix: api-}]"},
       [](auto& s) {
         CHECK(idc(s).services.size() == 2);
         CHECK(idc(s).services.at(1).count == 3);
       }},
      {"clusters[].services[].count", {.services = "[{count: 7}]"}, [](auto& s) { CHECK(svc(s).count == 7); }},
      {"clusters[].services[].namePrefix", {.service = "namePrefix: web-"},
       [](auto& s) { CHECK(svc(s).name_prefix == "web-"); }, [](auto& s) { CHECK(svc(s).name_prefix == "svc-"); }},
      {"clusters[].services[].namespace", {.service = "namespace: prod"},
       [](auto& s) { CHECK(svc(s).namespace_name == "prod"); },
       [](auto& s) { CHECK(svc(s).namespace_name == "default"); }},
      {"clusters[].services[].headless", {.service = "headless: true"}, [](auto& s) { CHECK(svc(s).headless); },
       [](auto& s) { CHECK_FALSE(svc(s).headless); }},
      {"clusters[].services[].selector", {.service = "selector: false"}, [](auto& s) { CHECK_FALSE(svc(s).selector); },
       [](auto& s) { CHECK(svc(s).selector); }},
      {"clusters[].services[].publishNotReadyAddresses", {.service = "publishNotReadyAddresses: true"},
       [](auto& s) { CHECK(svc(s).publish_not_ready_addresses); },
       [](auto& s) { CHECK_FALSE(svc(s).publish_not_ready_addresses); }},
      {"clusters[].services[].pods", {.service = "pods: 4"}, [](auto& s) { CHECK(svc(s).workload.replicas == 4); },
       [](auto& s) { CHECK(svc(s).workload.replicas == 3); }},
      {"clusters[].services[].readinessDelay", {.service = "readinessDelay: 3s"},
       [](auto& s) { CHECK(svc(s).workload.readiness_delay == Duration::seconds(3)); },
       [](auto& s) { CHECK(svc(s).workload.readiness_delay == Duration::seconds(10)); }},
      {"clusters[].services[].terminationGracePeriod", {.service = "terminationGracePeriod: 45s"},
       [](auto& s) { CHECK(svc(s).workload.termination_grace_period == Duration::seconds(45)); },
       [](auto& s) { CHECK(svc(s).workload.termination_grace_period == Duration::seconds(30)); }},
      {"clusters[].services[].maxSurge", {.service = "maxSurge: 50%"},
       [](auto& s) { CHECK(svc(s).workload.max_surge_fraction == 0.5); },
       [](auto& s) { CHECK(svc(s).workload.max_surge_fraction == 0.25); }},
      {"clusters[].services[].maxUnavailable", {.service = "maxUnavailable: 0%"},
       [](auto& s) { CHECK(svc(s).workload.max_unavailable_fraction == 0); },
       [](auto& s) { CHECK(svc(s).workload.max_unavailable_fraction == 0.25); }},
      {"clusters[].services[].podStatusChurnPerHour", {.service = "podStatusChurnPerHour: 2.5"},
       [](auto& s) { CHECK(svc(s).pod_status_churn_per_hour == 2.5); },
       [](auto& s) { CHECK(svc(s).pod_status_churn_per_hour == 0); }},
      {"clusters[].services[].rps", {.service = "rps: 9"}, [](auto& s) { CHECK(svc(s).requests_per_second == 9); },
       [](auto& s) { CHECK(svc(s).requests_per_second == 0); }},
      {"clusters[].services[].inClusterRps", {.service = "inClusterRps: 4"},
       [](auto& s) {
         CHECK(svc(s).in_cluster_rps == 4);
         CHECK(epsim::app::in_cluster_clients(idc(s)));
       },
       [](auto& s) { CHECK_FALSE(epsim::app::in_cluster_clients(idc(s))); }},
      // clusters[].deploys[]
      {"clusters[].deploys", {.deploy = "ratePerHour: 1"}, [](auto& s) { CHECK(idc(s).deploys.size() == 1); },
       [](auto& s) { CHECK(idc(s).deploys.empty()); }},
      {"clusters[].deploys[].service", {.deploy = "service: prod/svc-00002, at: 1h"},
       [](auto& s) { CHECK(dep(s).service == "prod/svc-00002"); }},
      {"clusters[].deploys[].at", {.deploy = "service: default/svc-00001, at: 2h"},
       [](auto& s) {
         CHECK(dep(s).kind == DeploySpec::Kind::absolute);
         CHECK(dep(s).at == Duration::hours(2));
       }},
      {"clusters[].deploys[].at.after", {.deploy = "service: default/svc-00001, at: {after: resync}"},
       [](auto& s) {
         CHECK(dep(s).kind == DeploySpec::Kind::after_resync);
         CHECK(dep(s).offset == Duration::zero());
         CHECK(dep(s).nth_resync == 1);
       }},
      {"clusters[].deploys[].at.offset", {.deploy = "service: default/svc-00001, at: {after: resync, offset: 2m}"},
       [](auto& s) { CHECK(dep(s).offset == Duration::minutes(2)); }},
      {"clusters[].deploys[].at.nth", {.deploy = "service: default/svc-00001, at: {after: resync, nth: 4}"},
       [](auto& s) { CHECK(dep(s).nth_resync == 4); }},
      {"clusters[].deploys[].ratePerHour", {.deploy = "ratePerHour: 12"},
       [](auto& s) {
         CHECK(dep(s).kind == DeploySpec::Kind::background);
         CHECK(dep(s).rate_per_hour == 12);
       }},
      // traffic
      {"traffic", {.top = "traffic: {mode: exact, deadIP: unreachable}"},
       [](auto& s) {
         CHECK(s.traffic.mode == epsim::models::TrafficMode::exact);
         CHECK(s.traffic.dead_ip == epsim::models::DeadIpBehavior::unreachable);
       }},
      {"traffic.mode", {.top = "traffic: {mode: exact}"},
       [](auto& s) { CHECK(s.traffic.mode == epsim::models::TrafficMode::exact); },
       [](auto& s) { CHECK(s.traffic.mode == epsim::models::TrafficMode::fluid); }},
      {"traffic.deadIP", {.top = "traffic: {deadIP: refused}"},
       [](auto& s) { CHECK(s.traffic.dead_ip == epsim::models::DeadIpBehavior::refused); },
       [](auto& s) { CHECK(s.traffic.dead_ip == epsim::models::DeadIpBehavior::blackhole); }},
      // sync
      {"sync", {.sync = "workers: 2"},
       [](auto& s) {
         CHECK(s.sync.present);
         CHECK(s.sync.config.workers == 2);
       }},
      {"sync.from", {}, [](auto& s) { CHECK(s.sync.from == std::vector<std::string>{"idc"}); }},
      {"sync.to", {}, [](auto& s) { CHECK(s.sync.to == "access"); }},
      {"sync.workers", {.sync = "workers: 3"}, [](auto& s) { CHECK(s.sync.config.workers == 3); },
       [](auto& s) { CHECK(s.sync.config.workers == 10); }},
      {"sync.kubeAPIQPS", {.sync = "kubeAPIQPS: 12.5"}, [](auto& s) { CHECK(s.sync.config.kube_api_qps == 12.5); },
       [](auto& s) { CHECK(s.sync.config.kube_api_qps == 50); }},
      {"sync.kubeAPIBurst", {.sync = "kubeAPIBurst: 13"}, [](auto& s) { CHECK(s.sync.config.kube_api_burst == 13); },
       [](auto& s) { CHECK(s.sync.config.kube_api_burst == 100); }},
      {"sync.compareBeforeWrite", {.sync = "compareBeforeWrite: false"},
       [](auto& s) { CHECK_FALSE(s.sync.config.compare_before_write); },
       [](auto& s) { CHECK(s.sync.config.compare_before_write); }},
      {"sync.resyncPeriod", {.sync = "resyncPeriod: 30m"},
       [](auto& s) { CHECK(s.sync.config.resync_period == Duration::minutes(30)); },
       [](auto& s) { CHECK(s.sync.config.resync_period == Duration::zero()); }},
      // ingress
      {"ingress", {.ingress = "workerProcesses: 8"},
       [](auto& s) {
         CHECK(s.ingress.present);
         CHECK(ing(s).worker_processes == 8);
       }},
      {"ingress.cluster", {}, [](auto& s) { CHECK(s.ingress.cluster == "access"); }},
      {"ingress.version", {.access = "kubernetesVersion: '1.22'", .ingress = "version: v1.9.4"},
       [](auto& s) {
         CHECK(s.ingress.version == "v1.9.4");
         CHECK(epsim::app::ingress_version_traits(s.ingress.version)->read_endpoint_slices);
       },
       [](auto& s) {
         CHECK(s.ingress.version == "1.3.1");
         CHECK_FALSE(epsim::app::ingress_version_traits(s.ingress.version)->read_endpoint_slices);
       }},
      {"ingress.workerProcesses", {.ingress = "workerProcesses: 2"},
       [](auto& s) { CHECK(ing(s).worker_processes == 2); }, [](auto& s) { CHECK(ing(s).worker_processes == 4); }},
      {"ingress.syncRateLimit", {.ingress = "syncRateLimit: 0.5"},
       [](auto& s) { CHECK(ing(s).sync_rate_limit == 0.5); }, [](auto& s) { CHECK(ing(s).sync_rate_limit == 0.3); }},
      {"ingress.configBuild", {.ingress = "configBuild: {base: 1ms, perBackend: 2us}"},
       [](auto& s) {
         CHECK(ing(s).config_build_base == Duration::milliseconds(1));
         CHECK(ing(s).config_build_per_backend == Duration::microseconds(2));
       }},
      {"ingress.configBuild.base", {.ingress = "configBuild: {base: 1ms}"},
       [](auto& s) { CHECK(ing(s).config_build_base == Duration::milliseconds(1)); },
       [](auto& s) { CHECK(ing(s).config_build_base == Duration::milliseconds(20)); }},
      {"ingress.configBuild.perBackend", {.ingress = "configBuild: {perBackend: 2us}"},
       [](auto& s) { CHECK(ing(s).config_build_per_backend == Duration::microseconds(2)); },
       [](auto& s) { CHECK(ing(s).config_build_per_backend == Duration::microseconds(10)); }},
      {"ingress.post", {.ingress = "post: {base: 1ms, perBackend: 2us}"},
       [](auto& s) {
         CHECK(ing(s).post_base == Duration::milliseconds(1));
         CHECK(ing(s).post_per_backend == Duration::microseconds(2));
       }},
      {"ingress.post.base", {.ingress = "post: {base: 1ms}"},
       [](auto& s) { CHECK(ing(s).post_base == Duration::milliseconds(1)); },
       [](auto& s) { CHECK(ing(s).post_base == Duration::milliseconds(5)); }},
      {"ingress.post.perBackend", {.ingress = "post: {perBackend: 2us}"},
       [](auto& s) { CHECK(ing(s).post_per_backend == Duration::microseconds(2)); },
       [](auto& s) { CHECK(ing(s).post_per_backend == Duration::microseconds(5)); }},
      {"ingress.reload", {.ingress = "reload: {base: 1s, perBackend: 2ms}"},
       [](auto& s) {
         CHECK(ing(s).reload_base == Duration::seconds(1));
         CHECK(ing(s).reload_per_backend == Duration::milliseconds(2));
       }},
      {"ingress.reload.base", {.ingress = "reload: {base: 1s}"},
       [](auto& s) { CHECK(ing(s).reload_base == Duration::seconds(1)); },
       [](auto& s) { CHECK(ing(s).reload_base == Duration::milliseconds(200)); }},
      {"ingress.reload.perBackend", {.ingress = "reload: {perBackend: 2ms}"},
       [](auto& s) { CHECK(ing(s).reload_per_backend == Duration::milliseconds(2)); },
       [](auto& s) { CHECK(ing(s).reload_per_backend == Duration::microseconds(100)); }},
      {"ingress.drainingShare", {.ingress = "drainingShare: 0.5"},
       [](auto& s) { CHECK(ing(s).draining_share == 0.5); }, [](auto& s) { CHECK(ing(s).draining_share == 0.25); }},
      {"ingress.config", {.ingress = "config: {proxy-connect-timeout: 2, worker-shutdown-timeout: 10}"},
       [](auto& s) {
         CHECK(s.traffic.proxy_connect_timeout == Duration::seconds(2));
         CHECK(ing(s).worker_shutdown_timeout == Duration::seconds(10));
       }},
      {"ingress.config.proxy-connect-timeout", {.ingress = "config: {proxy-connect-timeout: 1500ms}"},
       [](auto& s) { CHECK(s.traffic.proxy_connect_timeout == Duration::milliseconds(1500)); },
       [](auto& s) { CHECK(s.traffic.proxy_connect_timeout == Duration::seconds(5)); }},
      {"ingress.config.proxy-next-upstream", {.ingress = "config: {proxy-next-upstream: error http_502}"},
       [](auto& s) {
         CHECK(s.traffic.next_upstream_on_error);
         CHECK_FALSE(s.traffic.next_upstream_on_timeout);
       },
       [](auto& s) {
         CHECK(s.traffic.next_upstream_on_error);
         CHECK(s.traffic.next_upstream_on_timeout);
       }},
      {"ingress.config.proxy-next-upstream-tries", {.ingress = "config: {proxy-next-upstream-tries: 5}"},
       [](auto& s) { CHECK(s.traffic.proxy_next_upstream_tries == 5); },
       [](auto& s) { CHECK(s.traffic.proxy_next_upstream_tries == 3); }},
      {"ingress.config.worker-shutdown-timeout", {.ingress = "config: {worker-shutdown-timeout: 30s}"},
       [](auto& s) { CHECK(ing(s).worker_shutdown_timeout == Duration::seconds(30)); },
       [](auto& s) { CHECK(ing(s).worker_shutdown_timeout == Duration::seconds(240)); }},
      // The only accepted value is the default; the key is checked further below.
      {"ingress.config.load-balance", {.ingress = "config: {load-balance: round_robin}"},
       [](auto& s) { CHECK(s.ingress.present); }},
  };
  return cases;
}

std::string load_error(const Parts& p) {
  try {
    load(p);
  } catch (const epsim::app::InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("docs/scenario.md documents every scenario key exactly once") {
  const std::string doc = epsim::test::read_file(epsim::test::source_path("docs/scenario.md"));
  REQUIRE_MESSAGE(!doc.empty(), "docs/scenario.md is missing or empty");
  const std::vector<std::string> documented = documented_paths(doc);
  const std::vector<std::string> keys = epsim::app::scenario_key_paths();
  const auto missing = minus(keys, documented);
  const auto extra = minus(documented, keys);
  CHECK_MESSAGE(missing.empty(), "keys without a row in docs/scenario.md: " << join(missing, ", "));
  CHECK_MESSAGE(extra.empty(), "rows that are not scenario keys or document a key twice: " << join(extra, ", "));
}

TEST_CASE("docs/scenario.md yaml examples are valid scenarios") {
  const std::string doc = epsim::test::read_file(epsim::test::source_path("docs/scenario.md"));
  const auto examples = yaml_examples(doc);
  CHECK(examples.size() >= 2);
  for (const std::string& text : examples) {
    INFO("example:\n" << text);
    CHECK_NOTHROW(epsim::app::load_scenario_text(text, "example.yaml"));
  }
}

TEST_CASE("the key table names every schema key once") {
  std::vector<std::string> table;
  for (const auto& c : key_cases()) table.push_back(c.path);
  const std::vector<std::string> keys = epsim::app::scenario_key_paths();
  const auto missing = minus(keys, table);
  const auto extra = minus(table, keys);
  CHECK_MESSAGE(missing.empty(), "schema keys without a case in key_cases(): " << join(missing, ", "));
  CHECK_MESSAGE(extra.empty(), "cases that are not schema keys or repeat one: " << join(extra, ", "));
}

TEST_CASE("every scenario key is exercised") {
  const Scenario base = load(Parts{});
  for (const KeyCase& c : key_cases()) {
    INFO("key " << c.path << "\nscenario: " << scenario_text(c.set));
    try {
      c.check(load(c.set));
    } catch (const std::exception& e) {
      FAIL_CHECK("loading failed: " << e.what());
    }
    if (c.absent) {
      INFO("(with the key absent)");
      c.absent(base);
    }
  }
}

TEST_CASE("the canonical scenario carries every key: each case changes it and it reads back to itself") {
  const std::string base = epsim::app::canonical_scenario_yaml(load(Parts{}));
  // Cases that set nothing new: the base already has these cluster names,
  // roles and sync and ingress targets, and round_robin is the only balancer.
  const std::set<std::string> unchanged = {"clusters[].name", "clusters[].role", "sync.from", "sync.to",
                                           "ingress.cluster", "ingress.config.load-balance"};
  for (const KeyCase& c : key_cases()) {
    INFO("key " << c.path << "\nscenario: " << scenario_text(c.set));
    const std::string text = epsim::app::canonical_scenario_yaml(load(c.set));
    CHECK(epsim::app::canonical_scenario_yaml(epsim::app::load_scenario_text(text, "canonical.yaml")) == text);
    if (unchanged.count(c.path) > 0) {
      CHECK(text == base);
    } else {
      CHECK(text != base);
    }
  }
}

TEST_CASE("a section's readers must name exactly its schema keys") {
  // traffic has mode and deadIP: a reader table without deadIP would accept
  // the key and ignore it; one with an extra key reads what the schema refuses.
  const YAML::Node node = YAML::Load("{mode: exact}");
  const auto noop = [](const std::string&, const YAML::Node&) {};
  CHECK_THROWS_AS(epsim::app::read_section(node, "t.yaml", "traffic", "traffic", {{"mode", noop}}), std::logic_error);
  CHECK_THROWS_AS(epsim::app::read_section(node, "t.yaml", "traffic", "traffic",
                                           {{"mode", noop}, {"deadIP", noop}, {"extra", noop}}),
                  std::logic_error);
  int read = 0;
  epsim::app::read_section(node, "t.yaml", "traffic", "traffic",
                           {{"mode", [&](const std::string&, const YAML::Node&) { ++read; }}, {"deadIP", noop}});
  CHECK(read == 1);
}

TEST_CASE("scenario key values the loader refuses") {
  // load-balance has no typed field: only round_robin is modelled.
  CHECK(load_error({.ingress = "config: {load-balance: ewma}"}).find("not modelled") != std::string::npos);
  // proxy-next-upstream "off": no condition retries.
  const Scenario off = load({.ingress = "config: {proxy-next-upstream: 'off'}"});
  CHECK_FALSE(off.traffic.next_upstream_on_error);
  CHECK_FALSE(off.traffic.next_upstream_on_timeout);
  // Durations need a unit, except the ingress ConfigMap timeouts.
  CHECK(load_error({.top = "duration: 3600"}).find("missing unit") != std::string::npos);
  CHECK(load_error({.api_server = "watchDelay: 5"}).find("missing unit") != std::string::npos);
  CHECK(load({.ingress = "config: {proxy-connect-timeout: 7}"}).traffic.proxy_connect_timeout == Duration::seconds(7));
  CHECK(load_error({.ingress = "config: {proxy-connect-timeout: 1.5}"}).find("missing unit") != std::string::npos);
  // Unknown keys name the closest valid one, with file:line:column.
  const std::string typo = load_error({.cm = "kubeApiQps: 5"});
  CHECK(typo.find("keys.yaml:1:") != std::string::npos);
  CHECK(typo.find("did you mean \"kubeAPIQPS\"") != std::string::npos);
  // clusterDefaults applies to every cluster unless it sets the key itself.
  const Scenario d = load({.top = "clusterDefaults: {apiServer: {mutatingThroughput: 100}}",
                           .api_server = "mutatingThroughput: 45"});
  CHECK(api(d).mutating_throughput == 45);
  CHECK(access(d).api_server.mutating_throughput == 100);
}
