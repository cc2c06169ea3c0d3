#include "app/canonical_scenario.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "app/sha256.h"
#include "models/controller_switches.h"

namespace epsim::app {

namespace {

// The shortest text that reads back as the same double (read_number uses strtod).
std::string number(double v) { return fmt::format("{}", v); }

// Go's Duration.String(), which parse_duration reads back exactly.
std::string duration(sim::Duration d) { return sim::format_duration(d); }

std::string boolean(bool b) { return b ? "true" : "false"; }

// read_percent reads "P%" as P / 100: find the P that gives `fraction` back
// (fraction * 100 can be one or two ulps away from the text the user wrote).
std::string percent(double fraction) {
  const double guess = fraction * 100.0;
  double lo = guess, hi = guess;
  for (int step = 0; step < 16; ++step) {
    for (const double candidate : {lo, hi}) {
      const std::string text = number(candidate);
      if (std::strtod(text.c_str(), nullptr) / 100.0 == fraction) return yaml_quoted(text + "%");
    }
    lo = std::nextafter(lo, -INFINITY);
    hi = std::nextafter(hi, INFINITY);
  }
  return yaml_quoted(fmt::format("{:.17g}%", guess));  // unreachable for any fraction read_percent produced
}

std::string next_upstream(const models::TrafficConfig& t) {
  if (t.next_upstream_on_error && t.next_upstream_on_timeout) return "error timeout";
  if (t.next_upstream_on_error) return "error";
  if (t.next_upstream_on_timeout) return "timeout";
  return "off";
}

std::string dead_ip(models::DeadIpBehavior b) {
  switch (b) {
    case models::DeadIpBehavior::blackhole:
      return "blackhole";
    case models::DeadIpBehavior::refused:
      return "refused";
    case models::DeadIpBehavior::unreachable:
      return "unreachable";
  }
  return "blackhole";
}

class Writer {
 public:
  void key(int indent, const std::string& name, const std::string& value) { line(indent, name + ": " + value); }
  void open(int indent, const std::string& name) { line(indent, name + ":"); }
  // The first key of a list entry: "- name: value" at `indent`.
  void entry(int indent, const std::string& name, const std::string& value) {
    line(indent, "- " + name + ": " + value);
  }
  void line(int indent, const std::string& text) {
    out_ += std::string(static_cast<std::size_t>(indent), ' ') + text + "\n";
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void write_api_server(Writer& w, int in, const models::ApiServerConfig& a) {
  w.open(in, "apiServer");
  w.open(in + 2, "requestLatency");
  w.key(in + 4, "median", duration(a.latency_median));
  w.key(in + 4, "p99", duration(a.latency_p99));
  w.key(in + 2, "mutatingThroughput", number(a.mutating_throughput));
  w.key(in + 2, "maxMutatingRequestsInflight", std::to_string(a.max_mutating_requests_inflight));
  w.key(in + 2, "watchDelay", duration(a.watch_delay));
  w.key(in + 2, "noopUpdateElision", boolean(a.noop_update_elision));
}

void write_controller_manager(Writer& w, int in, const ClusterSpec& c) {
  const auto& cm = c.controller_manager;
  w.open(in, "controllerManager");
  w.key(in + 2, "concurrentEndpointSyncs", std::to_string(cm.endpoints.concurrent_endpoint_syncs));
  w.key(in + 2, "kubeAPIQPS", number(cm.endpoints.kube_api_qps));
  w.key(in + 2, "kubeAPIBurst", std::to_string(cm.endpoints.kube_api_burst));
  w.key(in + 2, "minResyncPeriod", duration(cm.min_resync_period));
  // Absent: sampled from minResyncPeriod, as kube-controller-manager does.
  if (cm.resync_period) w.key(in + 2, "resyncPeriod", duration(*cm.resync_period));
  w.key(in + 2, "endpointUpdatesBatchPeriod", duration(cm.endpoints.endpoint_updates_batch_period));
  w.key(in + 2, "startedBefore", duration(c.informer_start));
  std::string changes;
  for (const sim::Duration d : c.leader_changes) changes += (changes.empty() ? "" : ", ") + duration(d);
  w.key(in + 2, "leaderChanges", "[" + changes + "]");
  // Only the switches that differ from the version's preset: the same
  // behaviour spelled with or without a redundant override is one scenario.
  const auto preset = models::switches_for_version(c.kubernetes_version);
  const models::ControllerSwitches resolved = resolve_switches(c);
  std::string switches;
  for (const auto& info : models::controller_switch_table()) {
    if (preset && (*preset).*(info.field) == resolved.*(info.field)) continue;
    switches += fmt::format("{}{}: {}", switches.empty() ? "" : ", ", info.name, boolean(resolved.*(info.field)));
  }
  w.key(in + 2, "switches", "{" + switches + "}");
  w.key(in + 2, "mirroringConcurrentServiceEndpointSyncs", std::to_string(c.mirroring_workers));
  // Like the switches: written only where it differs from the version's preset.
  if (resolve_endpoint_slice_controller(c) != models::endpoint_slice_controller_by_default(c.kubernetes_version)) {
    w.key(in + 2, "endpointSliceController", boolean(resolve_endpoint_slice_controller(c)));
  }
  w.key(in + 2, "concurrentServiceEndpointSyncs", std::to_string(c.concurrent_service_endpoint_syncs));
}

void write_kube_proxy(Writer& w, int in, const ClusterSpec& c) {
  const models::KubeProxyConfig k = resolve_kube_proxy(c);
  const auto preset = models::kube_proxy_preset(c.kubernetes_version);
  w.open(in, "kubeProxy");
  w.key(in + 2, "nodes", std::to_string(k.nodes));
  // The version-dependent two only where they differ from the preset.
  if (preset && k.min_sync_period != preset->min_sync_period) {
    w.key(in + 2, "iptablesMinSyncPeriod", duration(k.min_sync_period));
  }
  w.key(in + 2, "iptablesSyncPeriod", duration(k.sync_period));
  w.key(in + 2, "syncDuration", duration(k.sync_duration));
  if (preset && k.read_endpoint_slices != preset->read_endpoint_slices) {
    w.key(in + 2, "endpointSliceProxying", boolean(k.read_endpoint_slices));
  }
}

void write_service_group(Writer& w, int in, const ServiceGroupSpec& g) {
  w.entry(in, "count", std::to_string(g.count));
  w.key(in + 2, "namePrefix", yaml_quoted(g.name_prefix));
  w.key(in + 2, "namespace", yaml_quoted(g.namespace_name));
  w.key(in + 2, "headless", boolean(g.headless));
  w.key(in + 2, "selector", boolean(g.selector));
  w.key(in + 2, "publishNotReadyAddresses", boolean(g.publish_not_ready_addresses));
  w.key(in + 2, "pods", std::to_string(g.workload.replicas));
  w.key(in + 2, "readinessDelay", duration(g.workload.readiness_delay));
  w.key(in + 2, "terminationGracePeriod", duration(g.workload.termination_grace_period));
  w.key(in + 2, "maxSurge", percent(g.workload.max_surge_fraction));
  w.key(in + 2, "maxUnavailable", percent(g.workload.max_unavailable_fraction));
  w.key(in + 2, "podStatusChurnPerHour", number(g.pod_status_churn_per_hour));
  w.key(in + 2, "rps", number(g.requests_per_second));
  w.key(in + 2, "inClusterRps", number(g.in_cluster_rps));
}

void write_deploy(Writer& w, int in, const DeploySpec& d) {
  switch (d.kind) {
    case DeploySpec::Kind::absolute:
      w.entry(in, "service", yaml_quoted(d.service));
      w.key(in + 2, "at", duration(d.at));
      return;
    case DeploySpec::Kind::after_resync:
      w.entry(in, "service", yaml_quoted(d.service));
      w.key(in + 2, "at", fmt::format("{{after: resync, offset: {}, nth: {}}}", duration(d.offset), d.nth_resync));
      return;
    case DeploySpec::Kind::background:
      w.entry(in, "ratePerHour", number(d.rate_per_hour));
      return;
  }
}

void write_cluster(Writer& w, const ClusterSpec& c) {
  w.entry(2, "name", yaml_quoted(c.name));
  w.key(4, "role", yaml_quoted(c.role));
  w.key(4, "kubernetesVersion", yaml_quoted(c.kubernetes_version));
  write_api_server(w, 4, c.api_server);
  write_controller_manager(w, 4, c);
  write_kube_proxy(w, 4, c);
  if (c.services.empty()) {
    w.key(4, "services", "[]");
  } else {
    w.open(4, "services");
    for (const auto& g : c.services) write_service_group(w, 6, g);
  }
  if (c.deploys.empty()) {
    w.key(4, "deploys", "[]");
  } else {
    w.open(4, "deploys");
    for (const auto& d : c.deploys) write_deploy(w, 6, d);
  }
}

void write_cost(Writer& w, const std::string& name, sim::Duration base, sim::Duration per_backend) {
  w.key(2, name, fmt::format("{{base: {}, perBackend: {}}}", duration(base), duration(per_backend)));
}

void write_sync(Writer& w, const SyncSpec& s) {
  w.open(0, "sync");
  std::string from;
  for (const auto& f : s.from) from += (from.empty() ? "" : ", ") + yaml_quoted(f);
  w.key(2, "from", "[" + from + "]");
  w.key(2, "to", yaml_quoted(s.to));
  w.key(2, "workers", std::to_string(s.config.workers));
  w.key(2, "kubeAPIQPS", number(s.config.kube_api_qps));
  w.key(2, "kubeAPIBurst", std::to_string(s.config.kube_api_burst));
  w.key(2, "compareBeforeWrite", boolean(s.config.compare_before_write));
  w.key(2, "resyncPeriod", duration(s.config.resync_period));
}

void write_ingress(Writer& w, const IngressSpec& in, const models::TrafficConfig& t) {
  const auto& c = in.config;
  w.open(0, "ingress");
  w.key(2, "cluster", yaml_quoted(in.cluster));
  w.key(2, "version", yaml_quoted(in.version));
  w.key(2, "workerProcesses", std::to_string(c.worker_processes));
  w.key(2, "syncRateLimit", number(c.sync_rate_limit));
  write_cost(w, "configBuild", c.config_build_base, c.config_build_per_backend);
  write_cost(w, "post", c.post_base, c.post_per_backend);
  write_cost(w, "reload", c.reload_base, c.reload_per_backend);
  w.key(2, "drainingShare", number(c.draining_share));
  w.open(2, "config");
  w.key(4, "proxy-connect-timeout", duration(t.proxy_connect_timeout));
  w.key(4, "proxy-next-upstream", yaml_quoted(next_upstream(t)));
  w.key(4, "proxy-next-upstream-tries", std::to_string(t.proxy_next_upstream_tries));
  w.key(4, "worker-shutdown-timeout", duration(c.worker_shutdown_timeout));
  w.key(4, "load-balance", yaml_quoted("round_robin"));  // the only balancer modelled
}

}  // namespace

std::string canonical_scenario_yaml(const Scenario& s) {
  Writer w;
  w.line(0, "# The resolved scenario (epsim run --print-scenario): includes, clusterDefaults, --set and flags");
  w.line(0, "# applied, every key written. Its sha256 is the report's scenario.sha256.");
  w.key(0, "name", yaml_quoted(s.name));
  w.key(0, "description", yaml_quoted(s.description));
  w.key(0, "seed", std::to_string(s.seed));
  w.key(0, "duration", duration(s.duration));
  w.key(0, "maxEvents", std::to_string(s.max_events));
  w.open(0, "clusters");
  for (const auto& c : s.clusters) write_cluster(w, c);
  w.open(0, "traffic");
  w.key(2, "mode", yaml_quoted(s.traffic.mode == models::TrafficMode::exact ? "exact" : "fluid"));
  w.key(2, "deadIP", yaml_quoted(dead_ip(s.traffic.dead_ip)));
  if (s.sync.present) write_sync(w, s.sync);
  if (s.ingress.present) write_ingress(w, s.ingress, s.traffic);
  return w.take();
}

std::string yaml_quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string scenario_digest(const Scenario& scenario) { return sha256_hex(canonical_scenario_yaml(scenario)); }

}  // namespace epsim::app
