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
#include "app/scenario_readers.h"
#include "app/scenario_validation.h"
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

Scenario build(Loader& loader) {
  Scenario s;
  std::vector<std::pair<YAML::Node, std::string>> defaults;
  std::pair<YAML::Node, std::string> clusters;
  bool has_clusters = false;  // a default YAML::Node is a defined null node: `!node` cannot tell
  for (const SourceFile& f : loader.files) {
    using Node = YAML::Node;
    const std::string& file = f.path;
    read_section(
        f.root, file, "the scenario", "",
        {{"name", [&](const std::string& key, const Node& v) { s.name = read_text(v, file, key, false); }},
         {"description", [&](const std::string& key, const Node& v) { s.description = read_text(v, file, key, true); }},
         {"seed",
          [&](const std::string& key, const Node& v) {
            s.seed = static_cast<std::uint64_t>(read_integer(v, file, key, 0, static_cast<std::int64_t>(kMaxSeed)));
          }},
         {"duration",
          [&](const std::string& key, const Node& v) {
            s.duration = read_duration(v, file, key, sim::Duration::nanoseconds(1));
            if (s.duration > sim::Duration::hours(kMaxDurationHours)) {
              throw InputError(fmt::format("{}: duration = {} exceeds the limit of {}h (366 days)", where(file, v),
                                           v.Scalar(), kMaxDurationHours));
            }
          }},
         {"maxEvents",
          [&](const std::string& key, const Node& v) {
            s.max_events = static_cast<std::uint64_t>(read_integer(v, file, key, 1, 50'000'000'000LL));
          }},
         {"include", [](const std::string&, const Node&) {}},  // the Loader read it
         {"clusterDefaults", [&](const std::string&, const Node& v) { defaults.emplace_back(v, file); }},
         {"clusters",
          [&](const std::string&, const Node& v) {
            clusters = {v, file};
            has_clusters = true;
          }},
         {"traffic", [&](const std::string&, const Node& v) { apply_traffic(v, file, s.traffic); }},
         {"sync", [&](const std::string&, const Node& v) { apply_sync(v, file, s.sync); }},
         {"ingress", [&](const std::string&, const Node& v) { apply_ingress(v, file, s.ingress, s.traffic); }}});
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

models::KubeProxyConfig resolve_kube_proxy(const ClusterSpec& cluster) {
  const auto preset = models::kube_proxy_preset(cluster.kubernetes_version);
  if (!preset) throw InputError("unknown kubernetesVersion \"" + cluster.kubernetes_version + "\"");
  models::KubeProxyConfig c = cluster.kube_proxy.config;
  c.min_sync_period = cluster.kube_proxy.min_sync_period.value_or(preset->min_sync_period);
  c.read_endpoint_slices = cluster.kube_proxy.endpoint_slice_proxying.value_or(preset->read_endpoint_slices);
  return c;
}

bool in_cluster_clients(const ClusterSpec& cluster) {
  return std::any_of(cluster.services.begin(), cluster.services.end(),
                     [](const ServiceGroupSpec& g) { return g.in_cluster_rps > 0; });
}

bool resolve_endpoint_slice_controller(const ClusterSpec& cluster) {
  return cluster.endpoint_slice_controller.value_or(
      models::endpoint_slice_controller_by_default(cluster.kubernetes_version));
}

}  // namespace epsim::app
