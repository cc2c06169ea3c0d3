#include "app/scenario_readers.h"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "app/input_error.h"
#include "app/kubernetes_names.h"
#include "app/scenario_schema.h"
#include "app/yaml_input.h"
#include "models/controller_switches.h"

namespace epsim::app {

namespace {

using Node = YAML::Node;
using Key = std::string;

double read_percent(const Node& node, const std::string& file, const std::string& key) {
  const std::string s = read_string(node, file, key);
  if (s.size() < 2 || s.back() != '%') {
    throw InputError(fmt::format("{}: {} must be a percentage such as \"25%\", got \"{}\"", where(file, node), key, s));
  }
  Node number(s.substr(0, s.size() - 1));
  const double v = read_number(number, file, key, 0, 100);
  return v / 100.0;
}

// ingress-nginx ConfigMap values are plain seconds ("5"); a Go duration is accepted too.
sim::Duration read_seconds_or_duration(const Node& v, const std::string& file, const std::string& key) {
  if (v.IsScalar() && !v.Scalar().empty() && v.Scalar().find_first_not_of("0123456789") == std::string::npos) {
    return sim::Duration::seconds(read_integer(v, file, key, 0, 1'000'000));
  }
  return read_duration(v, file, key);
}

void apply_api_server(const Node& node, const std::string& file, models::ApiServerConfig& c) {
  read_section(
      node, file, "apiServer", "clusters[].apiServer",
      {{"requestLatency",
        [&](const Key&, const Node& v) {
          const auto latency = [&file](sim::Duration& field) {
            return [&file, &field](const Key& k, const Node& lv) {
              field = read_duration(lv, file, "requestLatency." + k, sim::Duration::nanoseconds(1));
            };
          };
          read_section(v, file, "apiServer.requestLatency", "clusters[].apiServer.requestLatency",
                       {{"median", latency(c.latency_median)}, {"p99", latency(c.latency_p99)}});
          if (c.latency_p99 < c.latency_median) {
            throw InputError(fmt::format("{}: requestLatency.p99 must not be below its median", where(file, v)));
          }
        }},
       {"mutatingThroughput",
        [&](const Key& key, const Node& v) {
          c.mutating_throughput = read_number(v, file, key, 0, 1e7);
          // Below one write per 100 s the server's queue would reach past what
          // int64 nanoseconds hold; 0 means no bound.
          if (c.mutating_throughput != 0 && c.mutating_throughput < kMinMutatingThroughput) {
            throw InputError(
                fmt::format("{}: mutatingThroughput must be 0 (no bound) or from {} to 10000000 requests/s, got {}",
                            where(file, v), kMinMutatingThroughput, v.Scalar()));
          }
        }},
       {"maxMutatingRequestsInflight",
        [&](const Key& key, const Node& v) {
          c.max_mutating_requests_inflight = static_cast<int>(read_integer(v, file, key, 1, 1'000'000));
        }},
       {"watchDelay", [&](const Key& key, const Node& v) { c.watch_delay = read_duration(v, file, key); }},
       {"noopUpdateElision", [&](const Key& key, const Node& v) { c.noop_update_elision = read_bool(v, file, key); }}});
}

void apply_controller_manager(const Node& node, const std::string& file, ClusterSpec& cluster) {
  auto& cm = cluster.controller_manager;
  auto& ep = cm.endpoints;
  read_section(
      node, file, "controllerManager", "clusters[].controllerManager",
      {{"concurrentEndpointSyncs",
        [&](const Key& key, const Node& v) {
          ep.concurrent_endpoint_syncs = static_cast<int>(read_integer(v, file, key, 1, kMaxWorkers));
        }},
       {"kubeAPIQPS",
        [&](const Key& key, const Node& v) {
          ep.kube_api_qps = read_number(v, file, key, kMinRatePerSecond, kMaxRatePerSecond);
        }},
       {"kubeAPIBurst",
        [&](const Key& key, const Node& v) {
          ep.kube_api_burst = static_cast<int>(read_integer(v, file, key, 1, 1'000'000));
        }},
       {"minResyncPeriod",
        [&](const Key& key, const Node& v) {
          cm.min_resync_period = read_duration(v, file, key, sim::Duration::seconds(1));
        }},
       {"resyncPeriod",
        [&](const Key& key, const Node& v) {
          cm.resync_period = read_duration(v, file, key, sim::Duration::seconds(1));
        }},
       {"endpointUpdatesBatchPeriod",
        [&](const Key& key, const Node& v) { ep.endpoint_updates_batch_period = read_duration(v, file, key); }},
       {"startedBefore", [&](const Key& key, const Node& v) { cluster.informer_start = read_duration(v, file, key); }},
       {"leaderChanges",
        [&](const Key& key, const Node& v) {
          cluster.leader_changes.clear();
          for (const Node& t : read_list(v, file, key)) cluster.leader_changes.push_back(read_duration(t, file, key));
        }},
       {"switches",
        [&](const Key&, const Node& v) {
          std::vector<FieldReader> switches;
          for (const auto& info : models::controller_switch_table()) {
            switches.push_back({info.name, [&](const Key& k, const Node& sv) {
                                  cluster.switch_overrides[k] = read_bool(sv, file, k);
                                }});
          }
          read_section(v, file, "switches", "clusters[].controllerManager.switches", switches);
        }},
       {"mirroringConcurrentServiceEndpointSyncs",
        [&](const Key& key, const Node& v) {
          cluster.mirroring_workers = static_cast<int>(read_integer(v, file, key, 1, kMaxWorkers));
        }},
       {"endpointSliceController",
        [&](const Key& key, const Node& v) { cluster.endpoint_slice_controller = read_bool(v, file, key); }},
       {"concurrentServiceEndpointSyncs", [&](const Key& key, const Node& v) {
          cluster.concurrent_service_endpoint_syncs = static_cast<int>(read_integer(v, file, key, 1, kMaxWorkers));
        }}});
}

void apply_kube_proxy(const Node& node, const std::string& file, KubeProxySpec& k) {
  read_section(
      node, file, "kubeProxy", "clusters[].kubeProxy",
      {{"nodes",
        [&](const Key& key, const Node& v) {
          k.config.nodes = static_cast<int>(read_integer(v, file, key, 1, kMaxKubeProxyNodes));
        }},
       {"iptablesMinSyncPeriod",
        [&](const Key& key, const Node& v) { k.min_sync_period = read_duration(v, file, key); }},
       {"iptablesSyncPeriod",
        [&](const Key& key, const Node& v) {
          k.config.sync_period = read_duration(v, file, key, sim::Duration::seconds(1));
        }},
       {"syncDuration", [&](const Key& key, const Node& v) { k.config.sync_duration = read_duration(v, file, key); }},
       {"endpointSliceProxying",
        [&](const Key& key, const Node& v) { k.endpoint_slice_proxying = read_bool(v, file, key); }}});
}

ServiceGroupSpec read_service_group(const Node& node, const std::string& file) {
  ServiceGroupSpec g;
  g.origin = where(file, node);
  bool has_count = false;
  Node prefix_node;
  auto& w = g.workload;
  const auto flag = [&file](bool& field) {
    return [&file, &field](const Key& key, const Node& v) { field = read_bool(v, file, key); };
  };
  const auto duration = [&file](sim::Duration& field) {
    return [&file, &field](const Key& key, const Node& v) { field = read_duration(v, file, key); };
  };
  const auto percent = [&file](double& field) {
    return [&file, &field](const Key& key, const Node& v) { field = read_percent(v, file, key); };
  };
  read_section(
      node, file, "services entry", "clusters[].services[]",
      {{"count",
        [&](const Key& key, const Node& v) {
          g.count = static_cast<std::uint32_t>(
              read_integer(v, file, key, 1, static_cast<std::int64_t>(kMaxServicesPerScenario)));
          has_count = true;
        }},
       {"namePrefix",
        [&](const Key& key, const Node& v) {
          g.name_prefix = read_string(v, file, key);
          prefix_node = v;
        }},
       {"namespace", [&](const Key& key, const Node& v) { g.namespace_name = read_dns1123_label(v, file, key); }},
       {"headless", flag(g.headless)},
       {"selector", flag(g.selector)},
       {"publishNotReadyAddresses", flag(g.publish_not_ready_addresses)},
       {"pods",
        [&](const Key& key, const Node& v) {
          w.replicas = static_cast<int>(read_integer(v, file, key, 1, kMaxPodsPerService));
        }},
       {"readinessDelay", duration(w.readiness_delay)},
       {"terminationGracePeriod", duration(w.termination_grace_period)},
       {"maxSurge", percent(w.max_surge_fraction)},
       {"maxUnavailable", percent(w.max_unavailable_fraction)},
       {"podStatusChurnPerHour",
        [&](const Key& key, const Node& v) { g.pod_status_churn_per_hour = read_number(v, file, key, 0, 3600); }},
       {"rps", [&](const Key& key, const Node& v) { g.requests_per_second = read_number(v, file, key, 0, 1e6); }},
       {"inClusterRps",
        [&](const Key& key, const Node& v) { g.in_cluster_rps = read_number(v, file, key, 0, 1e6); }}});
  if (!has_count) throw InputError(fmt::format("{}: services entry needs a count", g.origin));
  // Names are PREFIX + the number, zero-padded to 5 digits (pipeline.cpp).
  const std::size_t digits = std::max<std::size_t>(5, std::to_string(g.count).size());
  check_service_name_prefix(prefix_node ? prefix_node : node, file, g.name_prefix, digits);
  if (w.max_surge_fraction == 0 && w.max_unavailable_fraction == 0) {
    throw InputError(fmt::format("{}: maxSurge and maxUnavailable cannot both be 0%", g.origin));
  }
  return g;
}

// deploys[].at as a mapping: {after: resync, offset: D, nth: N}.
void read_after_resync(const Node& v, const std::string& file, DeploySpec& d) {
  d.kind = DeploySpec::Kind::after_resync;
  bool has_after = false;
  read_section(v, file, "deploys.at", "clusters[].deploys[].at",
               {{"after",
                 [&](const Key& k, const Node& av) {
                   const std::string event = read_string(av, file, k);
                   if (event != "resync") {
                     throw InputError(
                         fmt::format("{}: deploys.at.after must be \"resync\" (the cluster's periodic "
                                     "informer resync), got \"{}\"",
                                     where(file, av), event));
                   }
                   has_after = true;
                 }},
                {"offset", [&](const Key&, const Node& av) { d.offset = read_duration(av, file, "offset"); }},
                {"nth", [&](const Key& k, const Node& av) {
                   d.nth_resync = static_cast<int>(read_integer(av, file, k, 1, 1000));
                 }}});
  if (!has_after) throw InputError(fmt::format("{}: deploys.at needs \"after: resync\"", where(file, v)));
}

DeploySpec read_deploy(const Node& node, const std::string& file) {
  DeploySpec d;
  d.origin = where(file, node);
  bool has_at = false, has_rate = false;
  read_section(node, file, "deploys entry", "clusters[].deploys[]",
               {{"service", [&](const Key& key, const Node& v) { d.service = read_string(v, file, key); }},
                {"at",
                 [&](const Key&, const Node& v) {
                   has_at = true;
                   if (v.IsScalar()) {
                     d.kind = DeploySpec::Kind::absolute;
                     d.at = read_duration(v, file, "at");
                   } else {
                     read_after_resync(v, file, d);
                   }
                 }},
                {"ratePerHour", [&](const Key& key, const Node& v) {
                   d.rate_per_hour = read_number(v, file, key, 0, 1e6);
                   has_rate = true;
                 }}});
  if (has_rate) {
    if (has_at || !d.service.empty()) {
      throw InputError(fmt::format("{}: a deploys entry has either ratePerHour or service and at, not both", d.origin));
    }
    d.kind = DeploySpec::Kind::background;
  } else if (!has_at || d.service.empty()) {
    throw InputError(fmt::format("{}: a deploys entry needs service and at (or ratePerHour)", d.origin));
  }
  return d;
}

// ingress.configBuild, .post, .reload: {base: D, perBackend: D}.
FieldReader cost(const std::string& file, const char* name, sim::Duration& base, sim::Duration& per_backend) {
  return {name, [&file, &base, &per_backend](const Key& key, const Node& v) {
            const auto part = [&](sim::Duration& field) {
              return [&file, &key, &field](const Key& k, const Node& pv) {
                field = read_duration(pv, file, key + "." + k);
              };
            };
            read_section(v, file, "ingress." + key, "ingress." + key,
                         {{"base", part(base)}, {"perBackend", part(per_backend)}});
          }};
}

void apply_ingress_config(const Node& node, const std::string& file, models::IngressNginxConfig& c,
                          models::TrafficConfig& t) {
  read_section(
      node, file, "ingress.config", "ingress.config",
      {{"proxy-connect-timeout",
        [&](const Key& k, const Node& v) { t.proxy_connect_timeout = read_seconds_or_duration(v, file, k); }},
       {"proxy-next-upstream",
        [&](const Key& k, const Node& v) {
          t.next_upstream_on_error = false;
          t.next_upstream_on_timeout = false;
          std::istringstream words(read_string(v, file, k));
          std::string w;
          while (words >> w) {
            if (w == "error") {
              t.next_upstream_on_error = true;
            } else if (w == "timeout") {
              t.next_upstream_on_timeout = true;
            } else if (w == "off" || w == "invalid_header" || w == "non_idempotent" || w.rfind("http_", 0) == 0) {
              // no effect on dead IPs
            } else {
              throw InputError(
                  fmt::format("{}: proxy-next-upstream: unknown condition \"{}\" (nginx accepts error, "
                              "timeout, invalid_header, http_5xx codes, non_idempotent, off)",
                              where(file, v), w));
            }
          }
        }},
       {"proxy-next-upstream-tries",
        [&](const Key& k, const Node& v) {
          t.proxy_next_upstream_tries = static_cast<int>(read_integer(v, file, k, 1, 100));
        }},
       {"worker-shutdown-timeout",
        [&](const Key& k, const Node& v) { c.worker_shutdown_timeout = read_seconds_or_duration(v, file, k); }},
       {"load-balance", [&](const Key& k, const Node& v) {
          const std::string lb = read_string(v, file, k);
          if (lb != "round_robin") {
            throw InputError(
                fmt::format("{}: load-balance \"{}\" is not modelled; epsim models round_robin, the "
                            "ingress-nginx default",
                            where(file, v), lb));
          }
        }}});
}

}  // namespace

void read_section(const Node& node, const std::string& file, const std::string& context, const std::string& level,
                  const std::vector<FieldReader>& readers) {
  const std::vector<std::string>* keys = schema_keys(level);
  // The schema and the readers name the same keys.
  const bool same = keys != nullptr && keys->size() == readers.size() &&
                    std::all_of(keys->begin(), keys->end(), [&](const std::string& k) {
                      return std::any_of(readers.begin(), readers.end(),
                                         [&](const FieldReader& r) { return k == r.key; });
                    });
  if (!same) throw std::logic_error(fmt::format("the readers of scenario level \"{}\" and its schema differ", level));
  read_map(node, file, context, *keys, [&](const std::string& key, const Node& value) {
    for (const FieldReader& r : readers) {
      if (key == r.key) return r.read(key, value);
    }
  });
}

void apply_cluster(const Node& node, const std::string& file, ClusterSpec& c, bool defaults) {
  read_section(node, file, defaults ? "clusterDefaults" : "cluster", "clusters[]",
               {{"name", [&](const Key&, const Node& v) { c.name = read_dns1123_label(v, file, "cluster name"); }},
                {"role",
                 [&](const Key& key, const Node& v) {
                   c.role = read_string(v, file, key);
                   if (c.role != "business" && c.role != "access") {
                     throw InputError(fmt::format("{}: role must be \"business\" or \"access\", got \"{}\"",
                                                  where(file, v), c.role));
                   }
                 }},
                {"kubernetesVersion",
                 [&](const Key& key, const Node& v) {
                   c.kubernetes_version = read_string(v, file, key);
                   if (!models::switches_for_version(c.kubernetes_version)) {
                     throw InputError(
                         fmt::format("{}: unknown kubernetesVersion \"{}\": use 1.16 or later, e.g. "
                                     "\"1.17.3\", \"1.17.13\", \"1.20\", \"1.22\", \"1.24\"",
                                     where(file, v), c.kubernetes_version));
                   }
                 }},
                {"apiServer", [&](const Key&, const Node& v) { apply_api_server(v, file, c.api_server); }},
                {"controllerManager", [&](const Key&, const Node& v) { apply_controller_manager(v, file, c); }},
                {"kubeProxy", [&](const Key&, const Node& v) { apply_kube_proxy(v, file, c.kube_proxy); }},
                {"services",
                 [&](const Key& key, const Node& v) {
                   c.services.clear();
                   for (const Node& s : read_list(v, file, key)) c.services.push_back(read_service_group(s, file));
                 }},
                {"deploys", [&](const Key& key, const Node& v) {
                   c.deploys.clear();
                   for (const Node& d : read_list(v, file, key)) c.deploys.push_back(read_deploy(d, file));
                 }}});
}

void apply_traffic(const Node& node, const std::string& file, models::TrafficConfig& t) {
  read_section(
      node, file, "traffic", "traffic",
      {{"mode",
        [&](const Key& key, const Node& v) {
          const std::string value = read_string(v, file, key);
          if (value == "fluid") {
            t.mode = models::TrafficMode::fluid;
          } else if (value == "exact") {
            t.mode = models::TrafficMode::exact;
          } else {
            throw InputError(fmt::format("{}: traffic.mode must be fluid or exact, got \"{}\"", where(file, v), value));
          }
        }},
       {"deadIP", [&](const Key& key, const Node& v) {
          const std::string value = read_string(v, file, key);
          if (value == "blackhole") {
            t.dead_ip = models::DeadIpBehavior::blackhole;
          } else if (value == "refused") {
            t.dead_ip = models::DeadIpBehavior::refused;
          } else if (value == "unreachable") {
            t.dead_ip = models::DeadIpBehavior::unreachable;
          } else {
            throw InputError(fmt::format("{}: traffic.deadIP must be blackhole, refused or unreachable, got \"{}\"",
                                         where(file, v), value));
          }
        }}});
}

void apply_sync(const Node& node, const std::string& file, SyncSpec& s) {
  s.present = true;
  s.origin = where(file, node);
  auto& c = s.config;
  read_section(
      node, file, "sync", "sync",
      {{"from",
        [&](const Key& key, const Node& v) {
          s.from.clear();
          for (const Node& f : read_list(v, file, key)) s.from.push_back(read_string(f, file, key));
        }},
       {"to", [&](const Key& key, const Node& v) { s.to = read_string(v, file, key); }},
       {"workers", [&](const Key& key,
                       const Node& v) { c.workers = static_cast<int>(read_integer(v, file, key, 1, kMaxWorkers)); }},
       {"kubeAPIQPS",
        [&](const Key& key, const Node& v) {
          c.kube_api_qps = read_number(v, file, key, kMinRatePerSecond, kMaxRatePerSecond);
        }},
       {"kubeAPIBurst",
        [&](const Key& key, const Node& v) {
          c.kube_api_burst = static_cast<int>(read_integer(v, file, key, 1, 1'000'000));
        }},
       {"compareBeforeWrite", [&](const Key& key, const Node& v) { c.compare_before_write = read_bool(v, file, key); }},
       {"resyncPeriod", [&](const Key& key, const Node& v) {
          c.resync_period = read_duration(v, file, key);
          if (!c.resync_period.is_zero() && c.resync_period < sim::Duration::seconds(1)) {
            throw InputError(fmt::format("{}: sync.resyncPeriod must be 0 (none) or at least 1s", where(file, v)));
          }
        }}});
}

void apply_ingress(const Node& node, const std::string& file, IngressSpec& in, models::TrafficConfig& t) {
  in.present = true;
  in.origin = where(file, node);
  auto& c = in.config;
  read_section(
      node, file, "ingress", "ingress",
      {{"cluster", [&](const Key& key, const Node& v) { in.cluster = read_string(v, file, key); }},
       {"version",
        [&](const Key& key, const Node& v) {
          in.version = read_string(v, file, key);
          if (!ingress_version_traits(in.version)) {
            throw InputError(
                fmt::format("{}: unknown ingress-nginx version \"{}\": write e.g. \"1.3.1\", \"1.9.4\" "
                            "or \"0.17.1\"",
                            where(file, v), in.version));
          }
        }},
       {"workerProcesses",
        [&](const Key& key, const Node& v) {
          c.worker_processes = static_cast<int>(read_integer(v, file, key, 1, 1024));
        }},
       {"syncRateLimit",
        [&](const Key& key, const Node& v) {
          c.sync_rate_limit = read_number(v, file, key, kMinRatePerSecond, kMaxRatePerSecond);
        }},
       cost(file, "configBuild", c.config_build_base, c.config_build_per_backend),
       cost(file, "post", c.post_base, c.post_per_backend),
       cost(file, "reload", c.reload_base, c.reload_per_backend),
       {"drainingShare", [&](const Key& key, const Node& v) { c.draining_share = read_number(v, file, key, 0, 1); }},
       {"config", [&](const Key&, const Node& v) { apply_ingress_config(v, file, c, t); }}});
}

}  // namespace epsim::app
