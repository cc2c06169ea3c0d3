#include "app/scenario.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "app/embedded_scenarios.h"
#include "app/input_error.h"
#include "app/input_file.h"
#include "app/kubernetes_names.h"
#include "app/scenario_schema.h"
#include "app/set_assignment.h"
#include "app/yaml_input.h"
#include "models/controller_switches.h"
#include "models/version.h"

namespace epsim::app {

const char* const kEmbeddedDefaultName = "incident-1.17.3.yaml";

namespace {

namespace fs = std::filesystem;

// Offset of the first byte that is not well-formed UTF-8 (RFC 3629: no
// overlong forms, surrogates or code points above U+10FFFF), or npos. Names
// reach the JSON report, which only holds UTF-8.
std::size_t invalid_utf8_at(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;  // continuation bytes
    unsigned char lo = 0x80, hi = 0xBF;  // range of the first continuation byte
    if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c == 0xE0) n = 2, lo = 0xA0;
    else if (c == 0xED) n = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) n = 2;
    else if (c == 0xF0) n = 3, lo = 0x90;
    else if (c == 0xF4) n = 3, hi = 0x8F;
    else if (c >= 0xF1 && c <= 0xF3) n = 3;
    else return i;
    if (s.size() - i <= n) return i;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return i;
    }
    i += n + 1;
  }
  return std::string::npos;
}

struct SourceFile {
  std::string path;     // as shown in messages
  std::string dir;      // includes resolve against it
  bool embedded = false;
  std::string text;
  YAML::Node root;
};

// Whether `path` is `root` or inside it (both canonical).
bool inside(const fs::path& path, const fs::path& root) {
  auto r = root.begin();
  auto p = path.begin();
  for (; r != root.end(); ++r) {
    if (r->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *r) return false;
    ++p;
  }
  return true;
}

struct Loader {
  std::vector<SourceFile> files;       // includes first, depth-first, then the including file
  std::vector<std::string> stack;      // for cycle detection
  std::size_t loaded_bytes = 0;
  // Where includes may resolve: the top-level scenario's directory tree and
  // every --include-dir, canonical (as a compiler's -I; a file named by
  // include: must not reach /etc/shadow).
  std::vector<fs::path> include_roots;
  std::size_t loaded_files = 0;
  static constexpr std::size_t kMaxLoadedFiles = 1000;

  void set_include_roots(const std::string& top_path, const std::vector<std::string>& include_dirs) {
    std::error_code ec;
    const fs::path top_dir = top_path == "-" ? fs::current_path(ec) : fs::absolute(top_path, ec).parent_path();
    fs::path root = ec ? fs::path() : fs::weakly_canonical(top_dir, ec);
    // No root would let every include through: refuse instead.
    if (ec || root.empty()) {
      throw InputError(fmt::format("{}: cannot resolve the scenario's directory: {}", top_path,
                                   ec ? ec.message() : std::string("empty path")));
    }
    include_roots.push_back(root);
    for (const std::string& d : include_dirs) {
      if (!fs::is_directory(d, ec)) throw InputError(fmt::format("--include-dir {}: not a directory", d));
      include_roots.push_back(fs::canonical(d, ec));
      if (ec) throw InputError(fmt::format("--include-dir {}: {}", d, ec.message()));
    }
  }

  // `text`, when given, is the file's content (load_scenario_text): nothing is
  // read and its includes resolve among the embedded scenarios.
  void load(const std::string& path, const std::string& shown, bool embedded, const YAML::Mark* from,
            const std::string& from_file, const std::string* text = nullptr) {
    std::error_code ec;  // e.g. a name too long: the open below reports it as bad input
    std::string canonical = text       ? "text:" + path
                            : embedded ? "embedded:" + path
                            : path == "-" ? std::string("stdin:")
                                          : fs::weakly_canonical(path, ec).string();
    if (ec) canonical = path;
    for (const auto& s : stack) {
      if (s == canonical) {
        throw InputError(fmt::format("{}: include cycle: {} includes itself through {}", where(from_file, *from),
                                     shown, stack.back().substr(stack.back().find(':') + 1)));
      }
    }
    if (stack.size() > 16) throw InputError(fmt::format("{}: includes nested deeper than 16", where(from_file, *from)));
    if (from && !embedded && !text && !include_roots.empty()) {
      const fs::path target(canonical);
      bool allowed = false;
      for (const fs::path& root : include_roots) allowed = allowed || inside(target, root);
      if (!allowed) {
        throw InputError(fmt::format("{}: included file {} is outside the scenario's directory {}: includes resolve "
                                     "inside it, or inside a directory given with --include-dir",
                                     where(from_file, *from), shown, include_roots.front().string()));
      }
    }
    SourceFile f;
    f.path = shown;
    f.embedded = embedded;
    if (text) {
      f.text = *text;
    } else if (embedded) {
      const auto& files_map = embedded_scenario_files();
      const auto it = files_map.find(path);
      if (it == files_map.end()) {
        throw InputError(fmt::format("{}: cannot read included file {}: not among the embedded scenarios",
                                     from ? where(from_file, *from) : shown, path));
      }
      f.text = it->second;
      f.dir = fs::path(path).parent_path().string();
    } else {
      std::string reason;
      std::optional<std::string> content = read_input_file(path, reason);
      if (!content) {
        if (from) throw InputError(fmt::format("{}: cannot read included file {}: {}", where(from_file, *from), shown, reason));
        throw InputError(fmt::format("{}: cannot read scenario file: {}", shown, reason));
      }
      f.text = std::move(*content);
      // A scenario on the standard input includes relative to the working directory.
      f.dir = path == "-" ? std::string() : fs::path(path).parent_path().string();
    }
    parse(f);
    // A file may be included more than once (it applies each time), so a few
    // small files could include each other's lists into billions of loads:
    // the whole load is bounded in files and bytes, not only each file.
    if (++loaded_files > kMaxLoadedFiles || loaded_bytes + f.text.size() > kMaxInputFileBytes) {
      throw InputError(fmt::format("{}: the scenario and its includes load more than {} files or {} MiB in all "
                                   "(a file listed many times counts each time)",
                                   from ? where(from_file, *from) : f.path, kMaxLoadedFiles, kMaxInputFileBytes >> 20));
    }
    loaded_bytes += f.text.size();
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
    if (const std::size_t bad = invalid_utf8_at(f.text); bad != std::string::npos) {
      const std::size_t newline = f.text.rfind('\n', bad);
      const std::size_t column = newline == std::string::npos ? bad + 1 : bad - newline;
      const auto line = 1 + std::count(f.text.begin(), f.text.begin() + static_cast<std::ptrdiff_t>(bad), '\n');
      throw InputError(fmt::format("{}:{}:{}: not valid UTF-8 (byte 0x{:02x}); scenario files must be UTF-8 text",
                                   f.path, line, column, static_cast<unsigned char>(f.text[bad])));
    }
    try {
      // YAML::Load reads the first document and ignores the rest: refuse a
      // second one instead, and a document too large to build, before
      // building anything.
      check_yaml_text(f.text, f.path, "a scenario file");
      f.root = YAML::Load(f.text);
    } catch (const YAML::ParserException& e) {
      throw InputError(fmt::format("{}: YAML syntax error: {}", where(f.path, e.mark), e.msg));
    } catch (const YAML::Exception& e) {
      throw InputError(fmt::format("{}: YAML error: {}", f.path, e.what()));
    }
    check_yaml_size(f.root, f.path);
    if (f.root.IsNull()) f.root = YAML::Node(YAML::NodeType::Map);
    if (!f.root.IsMap()) {
      throw InputError(fmt::format("{}: a scenario must be a mapping of keys (name, duration, clusters, …)",
                                   where(f.path, f.root)));
    }
  }
};

// Key lists: app/scenario_schema.cpp.
const std::vector<std::string>& keys_of(const std::string& level) { return *schema_keys(level); }

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
  read_map(node, file, "apiServer", keys_of("clusters[].apiServer"), [&](const std::string& key, const YAML::Node& v) {
    if (key == "requestLatency") {
      read_map(v, file, "apiServer.requestLatency", keys_of("clusters[].apiServer.requestLatency"), [&](const std::string& k, const YAML::Node& lv) {
        const sim::Duration d = read_duration(lv, file, "requestLatency." + k, sim::Duration::nanoseconds(1));
        (k == "median" ? c.latency_median : c.latency_p99) = d;
      });
      if (c.latency_p99 < c.latency_median) {
        throw InputError(fmt::format("{}: requestLatency.p99 must not be below its median", where(file, v)));
      }
    } else if (key == "mutatingThroughput") {
      c.mutating_throughput = read_number(v, file, key, 0, 1e7);
      // Below one write per 100 s the server's queue would reach past what
      // int64 nanoseconds hold; 0 means no bound.
      if (c.mutating_throughput != 0 && c.mutating_throughput < kMinMutatingThroughput) {
        throw InputError(fmt::format("{}: mutatingThroughput must be 0 (no bound) or from {} to 10000000 requests/s, "
                                     "got {}",
                                     where(file, v), kMinMutatingThroughput, v.Scalar()));
      }
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
  read_map(node, file, "controllerManager", keys_of("clusters[].controllerManager"), [&](const std::string& key, const YAML::Node& v) {
    if (key == "concurrentEndpointSyncs") {
      cm.endpoints.concurrent_endpoint_syncs = static_cast<int>(read_integer(v, file, key, 1, kMaxWorkers));
    } else if (key == "kubeAPIQPS") {
      cm.endpoints.kube_api_qps = read_number(v, file, key, kMinRatePerSecond, kMaxRatePerSecond);
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
    } else if (key == "mirroringConcurrentServiceEndpointSyncs") {
      cluster.mirroring_workers = static_cast<int>(read_integer(v, file, key, 1, kMaxWorkers));
    } else if (key == "switches") {
      read_map(v, file, "switches", keys_of("clusters[].controllerManager.switches"), [&](const std::string& k, const YAML::Node& sv) {
        cluster.switch_overrides[k] = read_bool(sv, file, k);
      });
    }
  });
}

ServiceGroupSpec read_service_group(const YAML::Node& node, const std::string& file) {
  ServiceGroupSpec g;
  g.origin = where(file, node);
  bool has_count = false;
  YAML::Node prefix_node;
  read_map(node, file, "services entry", keys_of("clusters[].services[]"), [&](const std::string& key, const YAML::Node& v) {
    if (key == "count") {
      g.count = static_cast<std::uint32_t>(read_integer(v, file, key, 1, static_cast<std::int64_t>(kMaxServicesPerScenario)));
      has_count = true;
    } else if (key == "namePrefix") {
      g.name_prefix = read_string(v, file, key);
      prefix_node = v;
    } else if (key == "namespace") {
      g.namespace_name = read_dns1123_label(v, file, key);
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
    } else if (key == "rps") {
      g.requests_per_second = read_number(v, file, key, 0, 1e6);
    }
  });
  if (!has_count) throw InputError(fmt::format("{}: services entry needs a count", g.origin));
  // Names are PREFIX + the number, zero-padded to 5 digits (pipeline.cpp).
  const std::size_t digits = std::max<std::size_t>(5, std::to_string(g.count).size());
  check_service_name_prefix(prefix_node ? prefix_node : node, file, g.name_prefix, digits);
  if (g.workload.max_surge_fraction == 0 && g.workload.max_unavailable_fraction == 0) {
    throw InputError(fmt::format("{}: maxSurge and maxUnavailable cannot both be 0%", g.origin));
  }
  return g;
}

DeploySpec read_deploy(const YAML::Node& node, const std::string& file) {
  DeploySpec d;
  d.origin = where(file, node);
  bool has_at = false, has_rate = false;
  read_map(node, file, "deploys entry", keys_of("clusters[].deploys[]"), [&](const std::string& key, const YAML::Node& v) {
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
      read_map(v, file, "deploys.at", keys_of("clusters[].deploys[].at"), [&](const std::string& k, const YAML::Node& av) {
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
  read_map(node, file, defaults ? "clusterDefaults" : "cluster", keys_of("clusters[]"),
           [&](const std::string& key, const YAML::Node& v) {
             if (key == "name") {
               c.name = read_dns1123_label(v, file, "cluster name");
             } else if (key == "role") {
               c.role = read_string(v, file, key);
               if (c.role != "business" && c.role != "access") {
                 throw InputError(fmt::format("{}: role must be \"business\" or \"access\", got \"{}\"",
                                              where(file, v), c.role));
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

sim::Duration read_seconds_or_duration(const YAML::Node& v, const std::string& file, const std::string& key) {
  // ingress-nginx ConfigMap values are plain seconds ("5"); a Go duration is accepted too.
  if (v.IsScalar() && !v.Scalar().empty() && v.Scalar().find_first_not_of("0123456789") == std::string::npos) {
    return sim::Duration::seconds(read_integer(v, file, key, 0, 1'000'000));
  }
  return read_duration(v, file, key);
}

void read_cost(const YAML::Node& node, const std::string& file, const std::string& key, sim::Duration& base,
               sim::Duration& per_backend) {
  read_map(node, file, "ingress." + key, keys_of("ingress.post"), [&](const std::string& k, const YAML::Node& v) {
    (k == "base" ? base : per_backend) = read_duration(v, file, key + "." + k);
  });
}

void apply_traffic(const YAML::Node& node, const std::string& file, models::TrafficConfig& t) {
  read_map(node, file, "traffic", keys_of("traffic"), [&](const std::string& key, const YAML::Node& v) {
    const std::string value = read_string(v, file, key);
    if (key == "mode") {
      if (value == "fluid") t.mode = models::TrafficMode::fluid;
      else if (value == "exact") t.mode = models::TrafficMode::exact;
      else throw InputError(fmt::format("{}: traffic.mode must be fluid or exact, got \"{}\"", where(file, v), value));
    } else {
      if (value == "blackhole") t.dead_ip = models::DeadIpBehavior::blackhole;
      else if (value == "refused") t.dead_ip = models::DeadIpBehavior::refused;
      else if (value == "unreachable") t.dead_ip = models::DeadIpBehavior::unreachable;
      else throw InputError(fmt::format("{}: traffic.deadIP must be blackhole, refused or unreachable, got \"{}\"",
                                        where(file, v), value));
    }
  });
}

void apply_sync(const YAML::Node& node, const std::string& file, SyncSpec& s) {
  s.present = true;
  s.origin = where(file, node);
  read_map(node, file, "sync", keys_of("sync"), [&](const std::string& key, const YAML::Node& v) {
    if (key == "from") {
      s.from.clear();
      for (const YAML::Node& c : read_list(v, file, key)) s.from.push_back(read_string(c, file, key));
    } else if (key == "to") {
      s.to = read_string(v, file, key);
    } else if (key == "workers") {
      s.config.workers = static_cast<int>(read_integer(v, file, key, 1, kMaxWorkers));
    } else if (key == "kubeAPIQPS") {
      s.config.kube_api_qps = read_number(v, file, key, kMinRatePerSecond, kMaxRatePerSecond);
    } else if (key == "kubeAPIBurst") {
      s.config.kube_api_burst = static_cast<int>(read_integer(v, file, key, 1, 1'000'000));
    } else if (key == "compareBeforeWrite") {
      s.config.compare_before_write = read_bool(v, file, key);
    } else if (key == "resyncPeriod") {
      s.config.resync_period = read_duration(v, file, key);
      if (!s.config.resync_period.is_zero() && s.config.resync_period < sim::Duration::seconds(1)) {
        throw InputError(fmt::format("{}: sync.resyncPeriod must be 0 (none) or at least 1s", where(file, v)));
      }
    }
  });
}

void apply_ingress(const YAML::Node& node, const std::string& file, IngressSpec& in, models::TrafficConfig& t) {
  in.present = true;
  in.origin = where(file, node);
  auto& c = in.config;
  read_map(node, file, "ingress", keys_of("ingress"), [&](const std::string& key, const YAML::Node& v) {
    if (key == "cluster") {
      in.cluster = read_string(v, file, key);
    } else if (key == "version") {
      in.version = read_string(v, file, key);
      if (!ingress_version_traits(in.version)) {
        throw InputError(fmt::format("{}: unknown ingress-nginx version \"{}\": write e.g. \"1.3.1\", \"1.9.4\" or "
                                     "\"0.17.1\"", where(file, v), in.version));
      }
    } else if (key == "workerProcesses") {
      c.worker_processes = static_cast<int>(read_integer(v, file, key, 1, 1024));
    } else if (key == "syncRateLimit") {
      c.sync_rate_limit = read_number(v, file, key, kMinRatePerSecond, kMaxRatePerSecond);
    } else if (key == "configBuild") {
      read_cost(v, file, key, c.config_build_base, c.config_build_per_backend);
    } else if (key == "post") {
      read_cost(v, file, key, c.post_base, c.post_per_backend);
    } else if (key == "reload") {
      read_cost(v, file, key, c.reload_base, c.reload_per_backend);
    } else if (key == "drainingShare") {
      c.draining_share = read_number(v, file, key, 0, 1);
    } else if (key == "config") {
      read_map(v, file, "ingress.config", keys_of("ingress.config"), [&](const std::string& k, const YAML::Node& cv) {
        if (k == "proxy-connect-timeout") {
          t.proxy_connect_timeout = read_seconds_or_duration(cv, file, k);
        } else if (k == "worker-shutdown-timeout") {
          c.worker_shutdown_timeout = read_seconds_or_duration(cv, file, k);
        } else if (k == "proxy-next-upstream-tries") {
          t.proxy_next_upstream_tries = static_cast<int>(read_integer(cv, file, k, 1, 100));
        } else if (k == "proxy-next-upstream") {
          t.next_upstream_on_error = false;
          t.next_upstream_on_timeout = false;
          std::istringstream words(read_string(cv, file, k));
          std::string w;
          while (words >> w) {
            if (w == "error") t.next_upstream_on_error = true;
            else if (w == "timeout") t.next_upstream_on_timeout = true;
            else if (w == "off") {}
            else if (w == "invalid_header" || w == "non_idempotent" || w.rfind("http_", 0) == 0) {}  // no effect on dead IPs
            else throw InputError(fmt::format("{}: proxy-next-upstream: unknown condition \"{}\" (nginx accepts error, "
                                              "timeout, invalid_header, http_5xx codes, non_idempotent, off)",
                                              where(file, cv), w));
          }
        } else if (k == "load-balance") {
          const std::string lb = read_string(cv, file, k);
          if (lb != "round_robin") {
            throw InputError(fmt::format("{}: load-balance \"{}\" is not modelled; epsim models round_robin, the "
                                         "ingress-nginx default", where(file, cv), lb));
          }
        }
      });
    }
  });
}

const ClusterSpec* find_cluster(const Scenario& s, const std::string& name) {
  for (const auto& c : s.clusters) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// Every ingress backend must resolve to a business cluster through the sync
// component; the sync writes into an access cluster.
void validate_topology(const Scenario& s) {
  if (s.ingress.present && !s.sync.present) {
    throw InputError(fmt::format("{}: ingress needs a sync section: ingress-nginx routes to the access cluster's "
                                 "Endpoints, which the sync component writes", s.ingress.origin));
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
      throw InputError(fmt::format("{}: ingress-nginx {} reads EndpointSlices, but access cluster {} runs Kubernetes "
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

Scenario build(Loader& loader) {
  Scenario s;
  std::vector<std::pair<YAML::Node, std::string>> defaults;
  std::pair<YAML::Node, std::string> clusters;
  bool has_clusters = false;  // a default YAML::Node is a defined null node: `!node` cannot tell
  for (const SourceFile& f : loader.files) {
    read_map(f.root, f.path, "the scenario", keys_of(""), [&](const std::string& key, const YAML::Node& v) {
      if (key == "name") {
        s.name = read_text(v, f.path, key, false);
      } else if (key == "description") {
        s.description = read_text(v, f.path, key, true);
      } else if (key == "seed") {
        s.seed = static_cast<std::uint64_t>(read_integer(v, f.path, key, 0, static_cast<std::int64_t>(kMaxSeed)));
      } else if (key == "duration") {
        s.duration = read_duration(v, f.path, key, sim::Duration::nanoseconds(1));
        if (s.duration > sim::Duration::hours(kMaxDurationHours)) {
          throw InputError(fmt::format("{}: duration = {} exceeds the limit of {}h (366 days)", where(f.path, v),
                                       v.Scalar(), kMaxDurationHours));
        }
      } else if (key == "maxEvents") {
        s.max_events = static_cast<std::uint64_t>(read_integer(v, f.path, key, 1, 50'000'000'000LL));
      } else if (key == "clusterDefaults") {
        defaults.emplace_back(v, f.path);
      } else if (key == "traffic") {
        apply_traffic(v, f.path, s.traffic);
      } else if (key == "sync") {
        apply_sync(v, f.path, s.sync);
      } else if (key == "ingress") {
        apply_ingress(v, f.path, s.ingress, s.traffic);
      } else if (key == "clusters") {
        clusters = {v, f.path};
        has_clusters = true;
      }
    });
  }
  if (!has_clusters) throw InputError(loader.files.back().path + ": the scenario needs a clusters list");
  std::uint64_t total_services = 0, total_pods = 0;
  std::set<std::string> names;
  for (const YAML::Node& node : read_list(clusters.first, clusters.second, "clusters")) {
    ClusterSpec c;
    for (const auto& [d, file] : defaults) apply_cluster(d, file, c, true);
    c.origin = where(clusters.second, node);
    apply_cluster(node, clusters.second, c, false);
    if (c.name.empty()) throw InputError(fmt::format("{}: every cluster needs a name", c.origin));
    if (!names.insert(c.name).second) throw InputError(fmt::format("{}: duplicate cluster name \"{}\"", c.origin, c.name));
    if (c.role == "business" && c.services.empty()) {
      throw InputError(fmt::format("{}: business cluster {} has no services", c.origin, c.name));
    }
    if (c.role == "access" && !c.deploys.empty()) {
      throw InputError(fmt::format("{}: access cluster {} has no Deployments of its own (its Endpoints come from the "
                                   "sync component); put the deploys on a business cluster", c.origin, c.name));
    }
    if (c.role == "access" && !c.services.empty()) {
      throw InputError(fmt::format("{}: access cluster {} gets its Services from the sync component; remove its "
                                   "services list", c.origin, c.name));
    }
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
  validate_topology(s);
  return s;
}

}  // namespace

Scenario load_scenario_text(const std::string& text, const std::string& origin) {
  Loader loader;
  loader.load(origin, origin, true, nullptr, "", &text);
  Scenario s = build(loader);
  s.path = origin;
  return s;
}

struct ScenarioFiles::Loaded {
  Loader loader;
};

ScenarioFiles::ScenarioFiles(const std::string& path, const std::vector<std::string>& include_dirs)
    : path_(path), loaded_(std::make_unique<Loaded>()) {
  const bool embedded = path.empty();
  if (!embedded) loaded_->loader.set_include_roots(path, include_dirs);
  const std::string shown = embedded ? std::string("<embedded ") + kEmbeddedDefaultName + ">"
                           : path == "-" ? std::string("<stdin>")
                                         : path;
  loaded_->loader.load(embedded ? kEmbeddedDefaultName : path, shown, embedded, nullptr, "");
}

ScenarioFiles::~ScenarioFiles() = default;

Scenario ScenarioFiles::load(const std::vector<std::string>& sets) const {
  std::vector<SetAssignment> assignments;
  for (const std::string& text : sets) assignments.push_back(parse_set_assignment(text));
  Loader loader = loaded_->loader;
  CommandLineOrigins origins;
  if (!assignments.empty()) {
    // The assignments change the parsed trees in place: parse the texts again
    // (YAML::Clone would drop the marks that messages cite).
    std::vector<YAML::Node> roots;
    for (SourceFile& f : loader.files) {
      Loader::parse(f);
      roots.push_back(f.root);
    }
    for (const SetAssignment& a : assignments) apply_set_assignment(a, roots, origins);
  }
  Scenario s = build(loader);
  s.path = path_;
  return s;
}

Scenario load_scenario(const std::string& path, const std::vector<std::string>& sets,
                       const std::vector<std::string>& include_dirs) {
  // Assignments are checked before any file is read (a bad --set is named first).
  for (const std::string& text : sets) parse_set_assignment(text);
  return ScenarioFiles(path, include_dirs).load(sets);
}

void apply_overrides(Scenario& s, const Overrides& o) {
  if (o.seed) s.seed = *o.seed;
  if (o.duration) {
    if (*o.duration > sim::Duration::hours(kMaxDurationHours)) {
      throw InputError(fmt::format("--duration {} exceeds the limit of {}h (366 days)", sim::format_duration(*o.duration),
                                   kMaxDurationHours));
    }
    s.duration = *o.duration;
  }
  if (o.sync_rate_limit) {
    if (!s.ingress.present) {
      throw InputError("--sync-rate-limit: the scenario has no ingress section (ingress-nginx is modelled only with "
                       "sync and ingress sections, see scenarios/multi-cluster.yaml)");
    }
    s.ingress.config.sync_rate_limit = *o.sync_rate_limit;
  }
  for (ClusterSpec& c : s.clusters) {
    if (c.role != "business") continue;
    auto& e = c.controller_manager.endpoints;
    if (o.concurrent_endpoint_syncs) e.concurrent_endpoint_syncs = *o.concurrent_endpoint_syncs;
    if (o.kube_api_qps) e.kube_api_qps = *o.kube_api_qps;
    if (o.kube_api_burst) e.kube_api_burst = *o.kube_api_burst;
    // The real flag acts as in kube-controller-manager: every informer's
    // period is sampled from it (min x U[1,2), per leader term), so a period
    // the scenario pins is dropped, unless --resync-period pins one too.
    if (o.min_resync_period) {
      c.controller_manager.min_resync_period = *o.min_resync_period;
      c.controller_manager.resync_period.reset();
    }
    if (o.resync_period) c.controller_manager.resync_period = *o.resync_period;
    if (o.endpoint_updates_batch_period) e.endpoint_updates_batch_period = *o.endpoint_updates_batch_period;
    if (o.kubernetes_version && c.role == "business") {
      if (!models::switches_for_version(*o.kubernetes_version)) {
        throw InputError(fmt::format("--kubernetes-version: unknown version \"{}\": use 1.16 or later, e.g. 1.17.3, "
                                     "1.17.13, 1.20, 1.22, 1.24", *o.kubernetes_version));
      }
      c.kubernetes_version = *o.kubernetes_version;
    }
  }
}

std::optional<IngressVersionTraits> ingress_version_traits(const std::string& version) {
  std::string_view v = version;
  if (v.rfind("controller-", 0) == 0) v.remove_prefix(11);  // the release tag's spelling
  const auto r = models::parse_release_version(v);
  if (!r || r->major > 1) return std::nullopt;
  IngressVersionTraits t;
  t.read_endpoint_slices = r->major == 1 && r->minor >= 4;    // PR #8890
  t.dynamic_configuration = r->major == 1 || r->minor >= 18;  // PR #2794 (0.18.0)
  return t;
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
