#include "app/scenario_schema.h"

#include <map>

#include "models/controller_switches.h"

namespace epsim::app {

namespace {

std::vector<std::string> switch_names() {
  std::vector<std::string> names;
  for (const auto& s : models::controller_switch_table()) names.emplace_back(s.name);
  return names;
}

const std::map<std::string, std::vector<std::string>>& levels() {
  static const std::map<std::string, std::vector<std::string>> table = {
      {"",
       {"name", "description", "seed", "duration", "maxEvents", "include", "clusterDefaults", "clusters", "traffic",
        "sync", "ingress"}},
      {"clusters[]",
       {"name", "role", "kubernetesVersion", "apiServer", "controllerManager", "kubeProxy", "services", "deploys"}},
      {"clusters[].apiServer",
       {"requestLatency", "mutatingThroughput", "maxMutatingRequestsInflight", "watchDelay", "noopUpdateElision"}},
      {"clusters[].apiServer.requestLatency", {"median", "p99"}},
      {"clusters[].controllerManager",
       {"concurrentEndpointSyncs", "kubeAPIQPS", "kubeAPIBurst", "minResyncPeriod", "resyncPeriod",
        "endpointUpdatesBatchPeriod", "startedBefore", "leaderChanges", "switches",
        "mirroringConcurrentServiceEndpointSyncs", "endpointSliceController", "concurrentServiceEndpointSyncs"}},
      {"clusters[].kubeProxy",
       {"nodes", "iptablesMinSyncPeriod", "iptablesSyncPeriod", "syncDuration", "endpointSliceProxying"}},
      {"clusters[].controllerManager.switches", switch_names()},
      {"clusters[].services[]",
       {"count", "namePrefix", "namespace", "headless", "selector", "publishNotReadyAddresses", "pods",
        "readinessDelay", "terminationGracePeriod", "maxSurge", "maxUnavailable", "podStatusChurnPerHour", "rps",
        "inClusterRps"}},
      {"clusters[].deploys[]", {"service", "at", "ratePerHour"}},
      {"clusters[].deploys[].at", {"after", "offset", "nth"}},
      {"traffic", {"mode", "deadIP"}},
      {"sync", {"from", "to", "workers", "kubeAPIQPS", "kubeAPIBurst", "compareBeforeWrite", "resyncPeriod"}},
      {"ingress",
       {"cluster", "version", "workerProcesses", "syncRateLimit", "configBuild", "post", "reload", "drainingShare",
        "config"}},
      {"ingress.configBuild", {"base", "perBackend"}},
      {"ingress.post", {"base", "perBackend"}},
      {"ingress.reload", {"base", "perBackend"}},
      {"ingress.config",
       {"proxy-connect-timeout", "proxy-next-upstream", "proxy-next-upstream-tries", "worker-shutdown-timeout",
        "load-balance"}},
  };
  return table;
}

void collect(const std::string& level, std::vector<std::string>& out) {
  for (const std::string& key : *schema_keys(level)) {
    const std::string path = level.empty() ? key : level + "." + key;
    out.push_back(path);
    // clusterDefaults shares the cluster keys: documented once, under clusters[].
    if (path == "clusterDefaults") continue;
    const std::string child = schema_child_level(path);
    if (!child.empty()) collect(child, out);
  }
}

}  // namespace

const std::vector<std::string>* schema_keys(const std::string& level) {
  const auto it = levels().find(level);
  return it == levels().end() ? nullptr : &it->second;
}

bool schema_entry_list(const std::string& path) {
  return path == "clusters" || path == "clusters[].services" || path == "clusters[].deploys";
}

std::string schema_child_level(const std::string& path) {
  if (path == "clusterDefaults") return "clusters[]";
  const std::string level = schema_entry_list(path) ? path + "[]" : path;
  return schema_keys(level) ? level : "";
}

std::vector<std::string> scenario_key_paths() {
  std::vector<std::string> out;
  collect("", out);
  return out;
}

}  // namespace epsim::app
