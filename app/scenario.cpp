#include "app/scenario.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "app/embedded_scenarios.h"
#include "app/input_error.h"
#include "app/sha256.h"
#include "app/yaml_input.h"
#include "models/controller_switches.h"

namespace epsim::app {

const char* const kEmbeddedDefaultName = "incident-1.17.3.yaml";

namespace {

namespace fs = std::filesystem;

struct SourceFile {
  std::string path;     // as shown in messages
  std::string dir;      // includes resolve against it
  bool embedded = false;
  std::string text;
  YAML::Node root;
};

struct Loader {
  std::vector<SourceFile> files;       // includes first, depth-first, then the including file
  std::vector<std::string> stack;      // for cycle detection
  std::string all_text;

  void load(const std::string& path, const std::string& shown, bool embedded, const YAML::Mark* from,
            const std::string& from_file) {
    const std::string canonical = embedded ? "embedded:" + path : fs::weakly_canonical(path).string();
    for (const auto& s : stack) {
      if (s == canonical) {
        throw InputError(fmt::format("{}: include cycle: {} includes itself through {}", where(from_file, *from),
                                     shown, stack.back().substr(stack.back().find(':') + 1)));
      }
    }
    if (stack.size() > 16) throw InputError(fmt::format("{}: includes nested deeper than 16", where(from_file, *from)));
    SourceFile f;
    f.path = shown;
    f.embedded = embedded;
    if (embedded) {
      const auto& files_map = embedded_scenario_files();
      const auto it = files_map.find(path);
      if (it == files_map.end()) {
        throw InputError(fmt::format("{}: cannot read included file {}: not among the embedded scenarios",
                                     from ? where(from_file, *from) : shown, path));
      }
      f.text = it->second;
      f.dir = fs::path(path).parent_path().string();
    } else {
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        const std::string reason = std::strerror(errno);
        if (from) throw InputError(fmt::format("{}: cannot read included file {}: {}", where(from_file, *from), shown, reason));
        throw InputError(fmt::format("{}: cannot read scenario file: {}", shown, reason));
      }
      if (fs::is_directory(path)) throw InputError(fmt::format("{}: cannot read scenario file: is a directory", shown));
      std::ostringstream buf;
      buf << in.rdbuf();
      f.text = buf.str();
      f.dir = fs::path(path).parent_path().string();
    }
    parse(f);
    all_text += f.path + "\n" + f.text + "\n";
    stack.push_back(canonical);
    if (f.root.IsMap() && f.root["include"]) {
      for (const YAML::Node& inc : read_list(f.root["include"], f.path, "include")) {
        const std::string rel = read_string(inc, f.path, "include");
        const std::string target = f.dir.empty() ? rel : (fs::path(f.dir) / rel).string();
        const YAML::Mark mark = inc.Mark();
        load(target, target, embedded, &mark, f.path);
      }
    }
    stack.pop_back();
    files.push_back(std::move(f));
  }

  static void parse(SourceFile& f) {
    if (f.text.find('\0') != std::string::npos) throw InputError(f.path + ": not a YAML text file (contains NUL bytes)");
    try {
      f.root = YAML::Load(f.text);
    } catch (const YAML::ParserException& e) {
      throw InputError(fmt::format("{}: YAML syntax error: {}", where(f.path, e.mark), e.msg));
    } catch (const YAML::Exception& e) {
      throw InputError(fmt::format("{}: YAML error: {}", f.path, e.what()));
    }
    if (f.root.IsNull()) f.root = YAML::Node(YAML::NodeType::Map);
    if (!f.root.IsMap()) {
      throw InputError(fmt::format("{}: a scenario must be a mapping of keys (name, duration, clusters, …)",
                                   where(f.path, f.root)));
    }
  }
};

const std::vector<std::string> kTopKeys = {"name",           "description", "seed", "duration", "maxEvents",
                                           "include",        "clusterDefaults", "clusters"};
const std::vector<std::string> kClusterKeys = {"name",     "role",     "kubernetesVersion", "apiServer",
                                               "controllerManager", "services", "deploys"};
const std::vector<std::string> kApiServerKeys = {"requestLatency", "mutatingThroughput", "maxMutatingRequestsInflight",
                                                 "watchDelay", "noopUpdateElision"};
const std::vector<std::string> kLatencyKeys = {"median", "p99"};
const std::vector<std::string> kControllerManagerKeys = {
    "concurrentEndpointSyncs", "kubeAPIQPS",       "kubeAPIBurst",  "minResyncPeriod", "resyncPeriod",
    "endpointUpdatesBatchPeriod", "startedBefore", "leaderChanges", "switches"};
const std::vector<std::string> kServiceKeys = {"count",   "namePrefix",  "namespace", "headless", "selector",
                                               "publishNotReadyAddresses", "pods", "readinessDelay",
                                               "terminationGracePeriod", "maxSurge", "maxUnavailable",
                                               "podStatusChurnPerHour"};
const std::vector<std::string> kDeployKeys = {"service", "at", "ratePerHour"};
const std::vector<std::string> kRelativeAtKeys = {"after", "offset", "nth"};

double read_percent(const YAML::Node& node, const std::string& file, const std::string& key) {
  const std::string s = read_string(node, file, key);
  if (s.size() < 2 || s.back() != '%') {
    throw InputError(fmt::format("{}: {} must be a percentage such as \"25%\", got \"{}\"", where(file, node), key, s));
  }
  YAML::Node number(s.substr(0, s.size() - 1));
  const double v = read_number(number, file, key, 0, 100);
  return v / 100.0;
}

void apply_api_server(const YAML::Node& node, const std::string& file, models::ApiServerConfig& c) {
  read_map(node, file, "apiServer", kApiServerKeys, [&](const std::string& key, const YAML::Node& v) {
    if (key == "requestLatency") {
      read_map(v, file, "apiServer.requestLatency", kLatencyKeys, [&](const std::string& k, const YAML::Node& lv) {
        const sim::Duration d = read_duration(lv, file, "requestLatency." + k, sim::Duration::nanoseconds(1));
        (k == "median" ? c.latency_median : c.latency_p99) = d;
      });
      if (c.latency_p99 < c.latency_median) {
        throw InputError(fmt::format("{}: requestLatency.p99 must not be below its median", where(file, v)));
      }
    } else if (key == "mutatingThroughput") {
      c.mutating_throughput = read_number(v, file, key, 0, 1e7);
    } else if (key == "maxMutatingRequestsInflight") {
      c.max_mutating_requests_inflight = static_cast<int>(read_integer(v, file, key, 1, 1'000'000));
    } else if (key == "watchDelay") {
      c.watch_delay = read_duration(v, file, key);
    } else if (key == "noopUpdateElision") {
      c.noop_update_elision = read_bool(v, file, key);
    }
  });
}

void apply_controller_manager(const YAML::Node& node, const std::string& file, ClusterSpec& cluster) {
  auto& cm = cluster.controller_manager;
  read_map(node, file, "controllerManager", kControllerManagerKeys, [&](const std::string& key, const YAML::Node& v) {
    if (key == "concurrentEndpointSyncs") {
      cm.endpoints.concurrent_endpoint_syncs = static_cast<int>(read_integer(v, file, key, 1, kMaxWorkers));
    } else if (key == "kubeAPIQPS") {
      cm.endpoints.kube_api_qps = read_number(v, file, key, 0, 1e6, true);
    } else if (key == "kubeAPIBurst") {
      cm.endpoints.kube_api_burst = static_cast<int>(read_integer(v, file, key, 1, 1'000'000));
    } else if (key == "minResyncPeriod") {
      cm.min_resync_period = read_duration(v, file, key, sim::Duration::seconds(1));
    } else if (key == "resyncPeriod") {
      cm.resync_period = read_duration(v, file, key, sim::Duration::seconds(1));
    } else if (key == "endpointUpdatesBatchPeriod") {
      cm.endpoints.endpoint_updates_batch_period = read_duration(v, file, key);
    } else if (key == "startedBefore") {
      cluster.informer_start = read_duration(v, file, key);
    } else if (key == "leaderChanges") {
      cluster.leader_changes.clear();
      for (const YAML::Node& t : read_list(v, file, key)) cluster.leader_changes.push_back(read_duration(t, file, key));
    } else if (key == "switches") {
      std::vector<std::string> names;
      for (const auto& s : models::controller_switch_table()) names.emplace_back(s.name);
      read_map(v, file, "switches", names, [&](const std::string& k, const YAML::Node& sv) {
        cluster.switch_overrides[k] = read_bool(sv, file, k);
      });
    }
  });
}

ServiceGroupSpec read_service_group(const YAML::Node& node, const std::string& file) {
  ServiceGroupSpec g;
  g.origin = where(file, node);
  bool has_count = false;
  read_map(node, file, "services entry", kServiceKeys, [&](const std::string& key, const YAML::Node& v) {
    if (key == "count") {
      g.count = static_cast<std::uint32_t>(read_integer(v, file, key, 1, static_cast<std::int64_t>(kMaxServicesPerScenario)));
      has_count = true;
    } else if (key == "namePrefix") {
      g.name_prefix = read_string(v, file, key);
    } else if (key == "namespace") {
      g.namespace_name = read_string(v, file, key);
    } else if (key == "headless") {
      g.headless = read_bool(v, file, key);
    } else if (key == "selector") {
      g.selector = read_bool(v, file, key);
    } else if (key == "publishNotReadyAddresses") {
      g.publish_not_ready_addresses = read_bool(v, file, key);
    } else if (key == "pods") {
      g.workload.replicas = static_cast<int>(read_integer(v, file, key, 1, kMaxPodsPerService));
    } else if (key == "readinessDelay") {
      g.workload.readiness_delay = read_duration(v, file, key);
    } else if (key == "terminationGracePeriod") {
      g.workload.termination_grace_period = read_duration(v, file, key);
    } else if (key == "maxSurge") {
      g.workload.max_surge_fraction = read_percent(v, file, key);
    } else if (key == "maxUnavailable") {
      g.workload.max_unavailable_fraction = read_percent(v, file, key);
    } else if (key == "podStatusChurnPerHour") {
      g.pod_status_churn_per_hour = read_number(v, file, key, 0, 3600);
    }
  });
  if (!has_count) throw InputError(fmt::format("{}: services entry needs a count", g.origin));
  if (g.workload.max_surge_fraction == 0 && g.workload.max_unavailable_fraction == 0) {
    throw InputError(fmt::format("{}: maxSurge and maxUnavailable cannot both be 0%", g.origin));
  }
  return g;
}

DeploySpec read_deploy(const YAML::Node& node, const std::string& file) {
  DeploySpec d;
  d.origin = where(file, node);
  bool has_at = false, has_rate = false;
  read_map(node, file, "deploys entry", kDeployKeys, [&](const std::string& key, const YAML::Node& v) {
    if (key == "service") {
      d.service = read_string(v, file, key);
    } else if (key == "ratePerHour") {
      d.rate_per_hour = read_number(v, file, key, 0, 1e6);
      has_rate = true;
    } else if (key == "at") {
      has_at = true;
      if (v.IsScalar()) {
        d.kind = DeploySpec::Kind::absolute;
        d.at = read_duration(v, file, "at");
        return;
      }
      d.kind = DeploySpec::Kind::after_resync;
      bool has_after = false;
      read_map(v, file, "deploys.at", kRelativeAtKeys, [&](const std::string& k, const YAML::Node& av) {
        if (k == "after") {
          const std::string event = read_string(av, file, k);
          if (event != "resync") {
            throw InputError(fmt::format("{}: deploys.at.after must be \"resync\" (the cluster's periodic informer "
                                         "resync), got \"{}\"", where(file, av), event));
          }
          has_after = true;
        } else if (k == "offset") {
          d.offset = read_duration(av, file, "offset");
        } else if (k == "nth") {
          d.nth_resync = static_cast<int>(read_integer(av, file, k, 1, 1000));
        }
      });
      if (!has_after) throw InputError(fmt::format("{}: deploys.at needs \"after: resync\"", where(file, v)));
    }
  });
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

void apply_cluster(const YAML::Node& node, const std::string& file, ClusterSpec& c, bool defaults) {
  read_map(node, file, defaults ? "clusterDefaults" : "cluster", kClusterKeys,
           [&](const std::string& key, const YAML::Node& v) {
             if (key == "name") {
               c.name = read_string(v, file, key);
             } else if (key == "role") {
               c.role = read_string(v, file, key);
               if (c.role != "business") {
                 throw InputError(fmt::format("{}: role must be \"business\" (access clusters come with the data "
                                              "plane), got \"{}\"", where(file, v), c.role));
               }
             } else if (key == "kubernetesVersion") {
               c.kubernetes_version = read_string(v, file, key);
               if (!models::switches_for_version(c.kubernetes_version)) {
                 throw InputError(fmt::format("{}: unknown kubernetesVersion \"{}\": use 1.16 or later, e.g. "
                                              "\"1.17.3\", \"1.17.13\", \"1.20\", \"1.22\", \"1.24\"",
                                              where(file, v), c.kubernetes_version));
               }
             } else if (key == "apiServer") {
               apply_api_server(v, file, c.api_server);
             } else if (key == "controllerManager") {
               apply_controller_manager(v, file, c);
             } else if (key == "services") {
               c.services.clear();
               for (const YAML::Node& s : read_list(v, file, key)) c.services.push_back(read_service_group(s, file));
             } else if (key == "deploys") {
               c.deploys.clear();
               for (const YAML::Node& d : read_list(v, file, key)) c.deploys.push_back(read_deploy(d, file));
             }
           });
}

Scenario build(Loader& loader) {
  Scenario s;
  std::vector<std::pair<YAML::Node, std::string>> defaults;
  std::pair<YAML::Node, std::string> clusters;
  for (const SourceFile& f : loader.files) {
    read_map(f.root, f.path, "the scenario", kTopKeys, [&](const std::string& key, const YAML::Node& v) {
      if (key == "name") {
        s.name = read_string(v, f.path, key);
      } else if (key == "description") {
        s.description = read_string(v, f.path, key);
      } else if (key == "seed") {
        s.seed = static_cast<std::uint64_t>(read_integer(v, f.path, key, 0, INT64_MAX));
      } else if (key == "duration") {
        s.duration = read_duration(v, f.path, key, sim::Duration::nanoseconds(1));
      } else if (key == "maxEvents") {
        s.max_events = static_cast<std::uint64_t>(read_integer(v, f.path, key, 1, 50'000'000'000LL));
      } else if (key == "clusterDefaults") {
        defaults.emplace_back(v, f.path);
      } else if (key == "clusters") {
        clusters = {v, f.path};
      }
    });
  }
  if (!clusters.first) throw InputError(loader.files.back().path + ": the scenario needs a clusters list");
  std::uint64_t total_services = 0, total_pods = 0;
  std::set<std::string> names;
  for (const YAML::Node& node : read_list(clusters.first, clusters.second, "clusters")) {
    ClusterSpec c;
    for (const auto& [d, file] : defaults) apply_cluster(d, file, c, true);
    c.origin = where(clusters.second, node);
    apply_cluster(node, clusters.second, c, false);
    if (c.name.empty()) throw InputError(fmt::format("{}: every cluster needs a name", c.origin));
    if (!names.insert(c.name).second) throw InputError(fmt::format("{}: duplicate cluster name \"{}\"", c.origin, c.name));
    if (c.services.empty()) throw InputError(fmt::format("{}: cluster {} has no services", c.origin, c.name));
    for (const auto& g : c.services) {
      total_services += g.count;
      total_pods += static_cast<std::uint64_t>(g.count) * static_cast<std::uint64_t>(g.workload.replicas);
    }
    s.clusters.push_back(std::move(c));
  }
  if (s.clusters.empty()) throw InputError(clusters.second + ": the clusters list is empty");
  if (total_services > kMaxServicesPerScenario) {
    throw InputError(fmt::format("{}: {} services in all exceeds the limit of {}", where(clusters.second, clusters.first),
                                 total_services, kMaxServicesPerScenario));
  }
  if (total_pods > kMaxPodsPerScenario) {
    throw InputError(fmt::format("{}: {} pods in all exceeds the limit of {}", where(clusters.second, clusters.first),
                                 total_pods, kMaxPodsPerScenario));
  }
  s.text_digest = sha256_hex(loader.all_text);
  return s;
}

}  // namespace

Scenario load_scenario(const std::string& path) {
  Loader loader;
  const bool embedded = path.empty();
  loader.load(embedded ? kEmbeddedDefaultName : path, embedded ? std::string("<embedded ") + kEmbeddedDefaultName + ">" : path,
              embedded, nullptr, "");
  Scenario s = build(loader);
  s.path = path;
  return s;
}

void apply_overrides(Scenario& s, const Overrides& o) {
  if (o.seed) s.seed = *o.seed;
  if (o.duration) s.duration = *o.duration;
  for (ClusterSpec& c : s.clusters) {
    auto& e = c.controller_manager.endpoints;
    if (o.concurrent_endpoint_syncs) e.concurrent_endpoint_syncs = *o.concurrent_endpoint_syncs;
    if (o.kube_api_qps) e.kube_api_qps = *o.kube_api_qps;
    if (o.kube_api_burst) e.kube_api_burst = *o.kube_api_burst;
    if (o.min_resync_period) c.controller_manager.min_resync_period = *o.min_resync_period;
    if (o.endpoint_updates_batch_period) e.endpoint_updates_batch_period = *o.endpoint_updates_batch_period;
    if (o.kubernetes_version) {
      if (!models::switches_for_version(*o.kubernetes_version)) {
        throw InputError(fmt::format("--kubernetes-version: unknown version \"{}\": use 1.16 or later, e.g. 1.17.3, "
                                     "1.17.13, 1.20, 1.22, 1.24", *o.kubernetes_version));
      }
      c.kubernetes_version = *o.kubernetes_version;
    }
  }
}

models::ControllerSwitches resolve_switches(const ClusterSpec& cluster) {
  auto preset = models::switches_for_version(cluster.kubernetes_version);
  if (!preset) throw InputError("unknown kubernetesVersion \"" + cluster.kubernetes_version + "\"");
  for (const auto& [name, value] : cluster.switch_overrides) {
    for (const auto& info : models::controller_switch_table()) {
      if (name == info.name) (*preset).*(info.field) = value;
    }
  }
  return *preset;
}

}  // namespace epsim::app
