#include "app/kubectl_import.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "app/canonical_scenario.h"
#include "app/embedded_scenarios.h"
#include "app/input_error.h"
#include "app/input_file.h"
#include "app/kubernetes_names.h"
#include "app/scenario.h"
#include "app/sha256.h"
#include "app/version.h"
#include "models/controller_manager.h"
#include "models/controller_switches.h"
#include "models/deployment.h"

namespace epsim::app {

namespace {

using json = nlohmann::json;

// A value and where it came from, for the comment beside it.
template <class T>
struct Sourced {
  T value{};
  std::string source;
};

struct ServiceRecord {
  std::string ns, name;
  bool headless = false;
  bool selector = false;
  bool publish_not_ready = false;
};

struct EndpointsRecord {
  int addresses = 0;              // ready and not ready
  std::vector<std::string> pods;  // namespace/name of the targetRefs
};

// A pod spec without terminationGracePeriodSeconds gets the API default, 30 s
// (pkg/apis/core/v1/defaults.go SetDefaults_PodSpec), epsim's default too.
const models::WorkloadSpec kDefaultWorkload{};
int seconds_of(sim::Duration d) { return static_cast<int>(d.ns() / 1'000'000'000); }

struct PodRecord {
  int grace_s = seconds_of(kDefaultWorkload.termination_grace_period);  // spec.terminationGracePeriodSeconds
  std::optional<int> readiness_s;                                       // Ready transition - start, when Ready
};

// What the dumps hold, reduced to what a scenario needs.
struct Dump {
  std::vector<ServiceRecord> services;
  std::map<std::string, EndpointsRecord> endpoints;  // by namespace/name
  std::map<std::string, PodRecord> pods;
  std::optional<Sourced<std::string>> kubernetes_version;
  std::map<std::string, Sourced<std::string>> kcm_flags;  // "kube-api-qps" -> value
  std::optional<Sourced<std::string>> ingress_version;
  std::map<std::string, Sourced<std::string>> ingress_flags;
  std::string ingress_configmap;  // namespace/name the controller's --configmap names
  std::map<std::string, std::map<std::string, Sourced<std::string>>> configmaps;  // by namespace/name
  std::map<std::string, std::size_t> ignored_kinds;
  std::vector<std::string> files;
};

// Text from a dump inside a YAML comment: one line, printable, bounded (a
// value holding a newline must not end the comment and start a key).
std::string comment(const std::string& s) {
  std::size_t n = std::min<std::size_t>(s.size(), 200);
  while (n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // whole UTF-8 characters
  std::string out = s.substr(0, n);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

[[noreturn]] void fail(const std::string& file, const std::string& path, const std::string& what) {
  throw InputError(fmt::format("{}: {}{}", file, path.empty() ? "" : path + ": ", what));
}

const json& member(const json& object, const char* key) {
  static const json null_value;
  if (!object.is_object()) return null_value;
  const auto it = object.find(key);
  return it == object.end() ? null_value : *it;
}

std::string text(const json& value) { return value.is_string() ? value.get<std::string>() : std::string(); }

std::string required_text(const json& object, const char* key, const std::string& file, const std::string& path) {
  const json& v = member(object, key);
  if (!v.is_string() || v.get<std::string>().empty()) fail(file, path + "." + key, "missing (a string is needed)");
  return v.get<std::string>();
}

// RFC 3339 as the API server writes it ("2026-11-30T18:33:54Z"): seconds
// since the epoch, or nullopt.
std::optional<std::int64_t> timestamp_s(const std::string& t) {
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &month, &day, &hour, &minute, &second) != 6) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&tm));
}

// "--name=value" or "--name value" among a container's command and args.
std::map<std::string, std::string> flags_of(const json& container) {
  std::vector<std::string> words;
  for (const char* key : {"command", "args"}) {
    const json& list = member(container, key);
    if (!list.is_array()) continue;
    for (const json& w : list) words.push_back(text(w));
  }
  std::map<std::string, std::string> flags;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w.rfind("--", 0) != 0) continue;
    const std::size_t eq = w.find('=');
    if (eq != std::string::npos) {
      flags[w.substr(2, eq - 2)] = w.substr(eq + 1);
    } else if (i + 1 < words.size() && words[i + 1].rfind("--", 0) != 0) {
      flags[w.substr(2)] = words[i + 1];
    }
  }
  return flags;
}

bool mentions(const json& container, const std::string& what) {
  if (text(member(container, "name")).find(what) != std::string::npos) return true;
  if (text(member(container, "image")).find(what) != std::string::npos) return true;
  for (const char* key : {"command", "args"}) {
    const json& list = member(container, key);
    if (!list.is_array()) continue;
    for (const json& w : list) {
      if (text(w).find(what) != std::string::npos) return true;
    }
  }
  return false;
}

const json& containers_of(const json& pod_spec) { return member(pod_spec, "containers"); }

void read_kcm_container(Dump& d, const json& container, const std::string& where) {
  for (const auto& [flag, value] : flags_of(container)) {
    for (const char* wanted : {"concurrent-endpoint-syncs", "kube-api-qps", "kube-api-burst", "min-resync-period"}) {
      if (flag != wanted) continue;
      // Several control-plane nodes run one each; they must agree.
      const auto [it, fresh] = d.kcm_flags.emplace(
          flag, Sourced<std::string>{value, fmt::format("{}: --{}={}", where, flag, value)});
      if (!fresh && it->second.value != value) {
        throw InputError(fmt::format("{}: --{}={} disagrees with {}: import one cluster's kube-controller-manager",
                                     comment(where), flag, comment(value), comment(it->second.source)));
      }
    }
  }
}

void read_ingress_container(Dump& d, const json& container, const std::string& ns, const std::string& where) {
  const std::string image = text(member(container, "image"));
  // registry.k8s.io/ingress-nginx/controller:v1.3.1@sha256:...
  std::string tag = image.substr(image.rfind(':') == std::string::npos ? image.size() : image.rfind(':') + 1);
  if (const std::size_t at = image.find('@'); at != std::string::npos) {
    const std::string before = image.substr(0, at);
    tag = before.substr(before.rfind(':') == std::string::npos ? before.size() : before.rfind(':') + 1);
  }
  const auto release = release_of(tag);
  if (release && d.ingress_version && d.ingress_version->value != *release) {
    throw InputError(fmt::format("{}: ingress-nginx controller {} disagrees with {}: import one controller",
                                 comment(where), *release, comment(d.ingress_version->source)));
  }
  if (release) d.ingress_version = Sourced<std::string>{*release, where + ": image tag " + tag};
  for (const auto& [flag, value] : flags_of(container)) {
    if (flag == "sync-rate-limit") d.ingress_flags[flag] = {value, fmt::format("{}: --{}={}", where, flag, value)};
    if (flag == "configmap") {
      std::string cm = value;
      const std::string var = "$(POD_NAMESPACE)";
      if (const auto p = cm.find(var); p != std::string::npos) cm.replace(p, var.size(), ns);
      d.ingress_configmap = cm;
    }
  }
}

void read_object(Dump& d, const json& o, const std::string& file, const std::string& shown, const std::string& path) {
  const std::string kind = text(member(o, "kind"));
  if (kind.empty()) fail(file, path, "no \"kind\": not a Kubernetes object as kubectl prints it");
  const json& meta = member(o, "metadata");
  const std::string meta_path = path.empty() ? "metadata" : path + ".metadata";
  if (kind == "Service") {
    ServiceRecord s;
    s.ns = required_text(meta, "namespace", file, meta_path);
    s.name = required_text(meta, "name", file, meta_path);
    const json& spec = member(o, "spec");
    s.headless = text(member(spec, "clusterIP")) == "None";
    const json& selector = member(spec, "selector");
    s.selector = selector.is_object() && !selector.empty();
    const json& pnra = member(spec, "publishNotReadyAddresses");
    s.publish_not_ready = pnra.is_boolean() && pnra.get<bool>();
    d.services.push_back(std::move(s));  // duplicates (the same dump twice) go after sorting
  } else if (kind == "Endpoints") {
    const std::string key = required_text(meta, "namespace", file, meta_path) + "/" +
                            required_text(meta, "name", file, meta_path);
    EndpointsRecord e;
    const json& subsets = member(o, "subsets");
    if (subsets.is_array()) {
      for (const json& subset : subsets) {
        for (const char* list : {"addresses", "notReadyAddresses"}) {
          const json& addresses = member(subset, list);
          if (!addresses.is_array()) continue;
          for (const json& a : addresses) {
            ++e.addresses;
            const json& ref = member(a, "targetRef");
            if (text(member(ref, "kind")) == "Pod") {
              e.pods.push_back(text(member(ref, "namespace")) + "/" + text(member(ref, "name")));
            }
          }
        }
      }
    }
    d.endpoints[key] = std::move(e);
  } else if (kind == "Pod") {
    const std::string ns = required_text(meta, "namespace", file, meta_path);
    const std::string key = ns + "/" + required_text(meta, "name", file, meta_path);
    const json& spec = member(o, "spec");
    const json& containers = containers_of(spec);
    if (containers.is_array()) {
      for (const json& c : containers) {
        if (mentions(c, "kube-controller-manager")) read_kcm_container(d, c, shown + " (kube-controller-manager Pod)");
      }
    }
    PodRecord p;
    const json& grace = member(spec, "terminationGracePeriodSeconds");
    if (grace.is_number_integer())
      p.grace_s = static_cast<int>(std::clamp<std::int64_t>(grace.get<std::int64_t>(), 0, 1'000'000));
    const json& status = member(o, "status");
    const auto started = timestamp_s(text(member(status, "startTime")));
    const json& conditions = member(status, "conditions");
    if (started && conditions.is_array()) {
      for (const json& c : conditions) {
        if (text(member(c, "type")) != "Ready" || text(member(c, "status")) != "True") continue;
        if (const auto ready = timestamp_s(text(member(c, "lastTransitionTime"))); ready && *ready >= *started) {
          p.readiness_s = static_cast<int>(std::min<std::int64_t>(*ready - *started, 86'400));
        }
      }
    }
    d.pods[key] = p;
  } else if (kind == "Deployment") {
    const std::string ns = text(member(meta, "namespace"));
    const json& containers = containers_of(member(member(member(o, "spec"), "template"), "spec"));
    if (containers.is_array()) {
      for (const json& c : containers) {
        // The controller itself (its image .../ingress-nginx/controller, or the
        // /nginx-ingress-controller binary), not the chart's default backend.
        const std::string image = text(member(c, "image"));
        const bool controller_image = image.find("ingress-nginx/controller:") != std::string::npos ||
                                      image.find("ingress-nginx/controller@") != std::string::npos;
        if (controller_image || mentions(c, "/nginx-ingress-controller")) {
          read_ingress_container(d, c, ns, shown + " (ingress-nginx Deployment)");
        }
      }
    }
  } else if (kind == "ConfigMap") {
    const std::string key = text(member(meta, "namespace")) + "/" + text(member(meta, "name"));
    const json& data = member(o, "data");
    if (data.is_object()) {
      for (const auto& [k, v] : data.items()) {
        d.configmaps[key][k] = {text(v), fmt::format("{} (ingress-nginx ConfigMap): {}: \"{}\"", shown, k, text(v))};
      }
    }
  } else {
    ++d.ignored_kinds[kind];
  }
}

// One dump: a List (its items one at a time), `kubectl version -o json`, or
// a single object.
void read_file(Dump& d, const std::string& file) {
  // Comments name the file without its directory; messages name the path given.
  const std::string shown = std::filesystem::path(file).filename().string();
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(file, ec);
  if (ec || !std::filesystem::exists(st)) fail(file, "", "no such file");
  if (!std::filesystem::is_regular_file(st)) fail(file, "", "not a regular file");
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, "", "cannot be read");
  std::string root_key;
  std::size_t item = 0;
  const auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) root_key = parsed.get<std::string>();
    if (depth == 2 && event == json::parse_event_t::value && root_key == "items") {
      fail(file, fmt::format("items[{}]", item), "not an object");
    }
    if (depth == 2 && event == json::parse_event_t::array_end && root_key == "items") {
      fail(file, fmt::format("items[{}]", item), "not an object");
    }
    if (depth == 2 && event == json::parse_event_t::object_end && root_key == "items") {
      read_object(d, parsed, file, shown, fmt::format("items[{}]", item++));
      return false;  // processed: not kept
    }
    return true;
  };
  json root;
  try {
    root = json::parse(in, on_event);
  } catch (const json::exception& e) {  // syntax, or a number beyond a double
    fail(file, "", fmt::format("not kubectl JSON ({})", e.what()));
  }
  if (!root.is_object()) fail(file, "", "not kubectl JSON: the top level must be an object");
  if (root.contains("serverVersion")) {
    const std::string git = text(member(member(root, "serverVersion"), "gitVersion"));
    const auto release = release_of(git);
    if (!release)
      fail(file, "serverVersion.gitVersion", fmt::format("\"{}\" is not a Kubernetes version", comment(git)));
    if (d.kubernetes_version && d.kubernetes_version->value != *release) {
      fail(file, "serverVersion.gitVersion",
           fmt::format("{} disagrees with {}", comment(git), comment(d.kubernetes_version->source)));
    }
    d.kubernetes_version = Sourced<std::string>{*release, fmt::format("{}: serverVersion.gitVersion {}", shown, git)};
    return;
  }
  if (text(member(root, "kind")) == "List") {
    if (!member(root, "items").is_array()) fail(file, "items", "missing (a kubectl List holds an items array)");
    return;
  }
  read_object(d, root, file, shown, "");
}

std::string anonymous(const std::string& kind, const std::string& name) {
  return kind + sha256_hex(name).substr(0, 10);
}

struct GroupKey {
  bool headless, selector, publish_not_ready;
  int pods, readiness_s, grace_s;
  auto tie() const { return std::tie(headless, selector, publish_not_ready, pods, readiness_s, grace_s); }
  bool operator<(const GroupKey& o) const { return tie() < o.tie(); }
};

// Where a group's pods, readiness delay and grace came from.
struct GroupNotes {
  std::size_t timed_pods = 0;         // Ready pods whose readiness delay was measured
  std::size_t default_readiness = 0;  // Services with none: 10s
  std::size_t without_endpoints = 0;  // Services with no address: one pod
  std::size_t capped = 0;             // Services above kMaxPodsPerService pods
  void add(const GroupNotes& o) {
    timed_pods += o.timed_pods;
    default_readiness += o.default_readiness;
    without_endpoints += o.without_endpoints;
    capped += o.capped;
  }
  std::string text(std::size_t services) const {
    std::string t = fmt::format("{} Services; pods from their Endpoints", services);
    t += timed_pods > 0 ? fmt::format(", readiness the median of {} Ready pods", timed_pods) : "";
    t += default_readiness > 0 ? fmt::format(", {} with the default readiness", default_readiness) : "";
    t += without_endpoints > 0 ? fmt::format(", {} without endpoints (one pod)", without_endpoints) : "";
    t += capped > 0 ? fmt::format(", {} capped at {} pods", capped, kMaxPodsPerService) : "";
    return t;
  }
};

struct Group {
  GroupKey key{};
  std::size_t count = 0;
  std::string ns = "default";
  std::string prefix;
  GroupNotes notes;
};

int median(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The API server parameters the dumps cannot show, from an include file
// holding clusterDefaults.apiServer (epsim calibrate --write, or the shipped
// calibration).
models::ApiServerConfig api_server_of(const std::string& text, const std::string& origin) {
  const Scenario s = load_scenario_text(text + "\nclusters: [{name: probe, services: [{count: 1}]}]\n", origin);
  return s.clusters.at(0).api_server;
}

// A flag or ConfigMap value that must be a number, written as the number read
// (never the dump's text itself).
std::string number_value(const Sourced<std::string>& v, bool integer) {
  const char* begin = v.value.c_str();
  char* end = nullptr;
  errno = 0;
  if (integer) {
    const long long n = std::strtoll(begin, &end, 10);
    if (!v.value.empty() && end == begin + v.value.size() && errno == 0) return std::to_string(n);
  } else {
    const double x = std::strtod(begin, &end);
    if (!v.value.empty() && end == begin + v.value.size() && errno == 0 && std::isfinite(x)) {
      return fmt::format("{}", x);
    }
  }
  throw InputError(fmt::format("{}: \"{}\" is not {}", comment(v.source), comment(v.value),
                               integer ? "a whole number" : "a number"));
}

}  // namespace

std::optional<std::string> release_of(const std::string& version_text) {
  std::string_view v = version_text;
  if (v.rfind("controller-", 0) == 0) v.remove_prefix(11);
  if (!v.empty() && (v.front() == 'v' || v.front() == 'V')) v.remove_prefix(1);
  std::size_t i = 0;
  int dots = 0;
  while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) || (v[i] == '.' && dots < 2))) {
    if (v[i] == '.') ++dots;
    ++i;
  }
  std::string release(v.substr(0, i));
  while (!release.empty() && release.back() == '.') release.pop_back();
  if (release.find('.') == std::string::npos || !std::isdigit(static_cast<unsigned char>(release.front()))) {
    return std::nullopt;
  }
  return release;
}

std::string import_scenario(const ImportOptions& o) {
  if (o.files.empty()) throw InputError("epsim import needs at least one kubectl JSON file");
  Dump d;
  for (const std::string& f : o.files) {
    read_file(d, f);
    d.files.push_back(comment(std::filesystem::path(f).filename().string()));
  }
  if (d.services.empty()) {
    throw InputError(
        fmt::format("no Service in {}: give the output of `kubectl get services,endpoints,pods -A -o json`",
                    fmt::join(o.files, ", ")));
  }
  // Services in name order: the output does not depend on the dump's order.
  std::stable_sort(d.services.begin(), d.services.end(), [](const ServiceRecord& a, const ServiceRecord& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  });
  // A Service in two dumps (or listed twice) counts once.
  d.services.erase(
      std::unique(d.services.begin(), d.services.end(),
                  [](const ServiceRecord& a, const ServiceRecord& b) { return a.ns == b.ns && a.name == b.name; }),
      d.services.end());

  std::size_t without_endpoints = 0, without_readiness = 0;
  std::vector<Group> groups;
  std::map<GroupKey, std::size_t> group_of;  // grouped mode: key -> index
  for (const ServiceRecord& s : d.services) {
    GroupKey key{s.headless,
                 s.selector,
                 s.publish_not_ready,
                 1,
                 seconds_of(kDefaultWorkload.readiness_delay),
                 seconds_of(kDefaultWorkload.termination_grace_period)};
    GroupNotes notes;
    const auto ep = d.endpoints.find(s.ns + "/" + s.name);
    if (ep == d.endpoints.end() || ep->second.addresses == 0) {
      ++without_endpoints;  // a Service needs one pod in a scenario
      ++notes.without_endpoints;
    } else {
      key.pods = std::min(ep->second.addresses, kMaxPodsPerService);
      notes.capped += ep->second.addresses > kMaxPodsPerService ? 1 : 0;
      std::vector<int> readiness, grace;
      for (const std::string& pod : ep->second.pods) {
        const auto p = d.pods.find(pod);
        if (p == d.pods.end()) continue;
        grace.push_back(p->second.grace_s);
        if (p->second.readiness_s) readiness.push_back(*p->second.readiness_s);
      }
      notes.timed_pods += readiness.size();
      if (!grace.empty()) key.grace_s = median(grace);
      if (!readiness.empty()) {
        key.readiness_s = median(readiness);
      } else {
        ++without_readiness;
        ++notes.default_readiness;
      }
    }
    if (o.exact) {
      if (!is_dns1123_label(s.ns) || !is_dns1123_label(s.name)) {
        throw InputError(fmt::format("Service {}/{}: not a Kubernetes namespace and name (DNS-1123 labels)",
                                     comment(s.ns), comment(s.name)));
      }
      // PREFIX + 5 digits stays a 63-character DNS label; a cut name gets a
      // hash so that two long names stay two.
      Group g{key, 1, s.ns, s.name.size() <= 52 ? s.name + "-" : s.name.substr(0, 40) + anonymous("-", s.name) + "-",
              notes};
      if (o.anonymize) {
        g.ns = anonymous("ns-", s.ns);
        g.prefix = anonymous("s", s.ns + "/" + s.name) + "-";
      }
      groups.push_back(g);
      continue;
    }
    const auto [it, fresh] = group_of.emplace(key, groups.size());
    if (fresh) groups.push_back(Group{key, 0, "default", "", {}});
    Group& g = groups[it->second];
    ++g.count;
    g.notes.add(notes);
  }
  if (!o.exact) {
    std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) { return a.count > b.count; });
    for (std::size_t i = 0; i < groups.size(); ++i) groups[i].prefix = fmt::format("g{}-", i + 1);
  }

  // The version and its controller-manager flags.
  const std::string version = d.kubernetes_version ? d.kubernetes_version->value : "1.17.3";
  if (!models::switches_for_version(version)) {
    throw InputError(fmt::format("{}: Kubernetes {} is not a release epsim models (1.16 to 1.40)",
                                 comment(d.kubernetes_version->source), version));
  }
  const auto kcm = [&](const char* flag, const std::string& fallback) -> Sourced<std::string> {
    const auto it = d.kcm_flags.find(flag);
    if (it != d.kcm_flags.end()) return it->second;
    return {fallback, fmt::format("kube-controller-manager's default (no --{} found)", flag)};
  };
  // The defaults are the models' (each cites the kube-controller-manager
  // flag default it copies: models/endpoints_controller.h, controller_manager.h).
  const models::ControllerManagerConfig defaults{};
  const auto syncs = kcm("concurrent-endpoint-syncs", std::to_string(defaults.endpoints.concurrent_endpoint_syncs));
  const auto qps = kcm("kube-api-qps", fmt::format("{}", defaults.endpoints.kube_api_qps));
  const auto burst = kcm("kube-api-burst", std::to_string(defaults.endpoints.kube_api_burst));
  const auto min_resync = kcm("min-resync-period", sim::format_duration(defaults.min_resync_period));
  sim::Duration min_resync_period;
  try {
    min_resync_period = sim::parse_duration(min_resync.value);
    // The run lasts two periods and an hour, within the 366 days a run may.
    if (min_resync_period < sim::Duration::seconds(1) ||
        min_resync_period > sim::Duration::hours((kMaxDurationHours - 1) / 2)) {
      throw InputError(fmt::format("{}: --min-resync-period must be from 1s to {}h", comment(min_resync.source),
                                   (kMaxDurationHours - 1) / 2));
    }
  } catch (const sim::DurationParseError& e) {
    throw InputError(fmt::format("{}: {}", comment(min_resync.source), e.what()));
  }

  // What the dumps cannot show.
  const std::string calibration_name = "common/apiserver-calibrated.yaml";
  std::string api_origin;
  models::ApiServerConfig api;
  if (o.apiserver) {
    std::string reason;
    const auto content = read_input_file(*o.apiserver, reason);
    if (!content) throw InputError(fmt::format("--apiserver {}: {}", *o.apiserver, reason));
    try {
      api = api_server_of(*content, *o.apiserver);
    } catch (const InputError& e) {
      throw InputError(
          fmt::format("--apiserver {}: {} (give an include holding clusterDefaults.apiServer, as "
                      "epsim calibrate --write writes it)",
                      *o.apiserver, e.what()));
    }
    api_origin = "--apiserver " + *o.apiserver;
  } else {
    api = api_server_of(embedded_scenario_files().at(calibration_name), calibration_name);
    api_origin = "scenarios/" + calibration_name + ", calibrated on the incident's cluster";
  }
  const auto dur = [](sim::Duration v) { return sim::format_duration(v); };

  std::string out;
  out += fmt::format("# Imported by `epsim import` (epsim {}) from {}.\n", kVersion, fmt::join(d.files, ", "));
  out += fmt::format("# Read from the dumps: {} Services ({} groups{}){}{}.\n", d.services.size(), groups.size(),
                     o.exact ? ", one per Service" : "", d.kubernetes_version ? ", the Kubernetes version" : "",
                     d.kcm_flags.empty() ? "" : ", kube-controller-manager flags");
  out += "# Assumed, not in the dumps:";
  out += fmt::format(" the API server's capacity and latency ({});", comment(api_origin));
  out += fmt::format(" {} requests/s per Service (--rps); {} deploys per hour (--deploys-per-hour)", o.rps,
                     o.deploys_per_hour);
  if (!d.kubernetes_version) out += "; Kubernetes 1.17.3 (no `kubectl version -o json` given)";
  out += ".\n";
  if (without_endpoints > 0) {
    out += fmt::format("# {} Services had no endpoint address: each is modelled with one pod.\n", without_endpoints);
  }
  if (without_readiness > 0) {
    out += fmt::format("# {} Services had no Ready pod to time: their readinessDelay is the default.\n",
                       without_readiness);
  }
  for (const auto& [kind, n] : d.ignored_kinds) out += fmt::format("# Ignored: {} {} object(s).\n", n, comment(kind));
  out += "name: imported\n";
  out += fmt::format("description: {}\n",
                     yaml_quoted(fmt::format("{} Services imported from kubectl output", d.services.size())));
  out += "seed: 1\n";
  // The first resync comes at min x U[1,2): two periods and an hour hold it and its storm.
  out += fmt::format("duration: {}   # two --min-resync-periods and an hour: the first resync and its storm fit\n",
                     dur(min_resync_period * 2 + sim::Duration::hours(1)));
  out += fmt::format("clusterDefaults:\n  apiServer:   # assumed: {}\n", comment(api_origin));
  out += fmt::format("    requestLatency: {{median: {}, p99: {}}}\n", dur(api.latency_median), dur(api.latency_p99));
  out += fmt::format("    mutatingThroughput: {}\n", api.mutating_throughput);
  out += fmt::format("    maxMutatingRequestsInflight: {}\n", api.max_mutating_requests_inflight);
  out += fmt::format("    watchDelay: {}\n", dur(api.watch_delay));
  out += fmt::format("    noopUpdateElision: {}\n", api.noop_update_elision ? "true" : "false");
  out += "clusters:\n  - name: imported\n    role: business\n";
  out += fmt::format("    kubernetesVersion: {}   # {}\n", yaml_quoted(version),
                     d.kubernetes_version ? comment(d.kubernetes_version->source) : "assumed: no version.json");
  out += "    controllerManager:\n";
  out += fmt::format("      concurrentEndpointSyncs: {}   # {}\n", number_value(syncs, true), comment(syncs.source));
  out += fmt::format("      kubeAPIQPS: {}   # {}\n", number_value(qps, false), comment(qps.source));
  out += fmt::format("      kubeAPIBurst: {}   # {}\n", number_value(burst, true), comment(burst.source));
  out += fmt::format("      minResyncPeriod: {}   # {}\n", dur(min_resync_period), comment(min_resync.source));
  out += "    services:\n";
  for (const Group& g : groups) {
    const GroupKey& k = g.key;
    out += fmt::format(
        "      - {{count: {}, namespace: {}, namePrefix: {}, headless: {}, selector: {}, publishNotReadyAddresses: {}, "
        "pods: {}, readinessDelay: {}s, terminationGracePeriod: {}s, rps: {}}}   # {}\n",
        g.count, yaml_quoted(g.ns), yaml_quoted(g.prefix), k.headless, k.selector, k.publish_not_ready, k.pods,
        k.readiness_s, k.grace_s, o.rps, g.notes.text(g.count));
  }
  out += o.deploys_per_hour > 0
             ? fmt::format("    deploys:\n      - {{ratePerHour: {}}}   # --deploys-per-hour\n", o.deploys_per_hour)
             : std::string("    deploys: []\n");
  if (d.ingress_version) {
    // epsim's ingress-nginx reads an access cluster that the multi-cluster
    // sync component fills (docs/model.md §9, §11).
    out += "  - name: access   # epsim routes ingress-nginx through the sync component's access cluster\n";
    out += "    role: access\n";
    out += "    kubernetesVersion: \"1.22\"   # the incident's access cluster (EndpointSlice mirroring since 1.19)\n";
    out += "traffic: {mode: fluid, deadIP: blackhole}\n";
    out += "sync: {from: [imported], to: access}   # the incident's sync component, at its defaults\n";
    out += "ingress:\n  cluster: access\n";
    out += fmt::format("  version: {}   # {}\n", yaml_quoted(d.ingress_version->value),
                       comment(d.ingress_version->source));
    if (const auto it = d.ingress_flags.find("sync-rate-limit"); it != d.ingress_flags.end()) {
      out += fmt::format("  syncRateLimit: {}   # {}\n", number_value(it->second, false), comment(it->second.source));
    }
    // The controller's ConfigMap: the one --configmap names, else the only one
    // holding keys epsim models.
    const std::set<std::string> modelled = {"proxy-connect-timeout", "proxy-next-upstream", "proxy-next-upstream-tries",
                                            "worker-shutdown-timeout", "load-balance"};
    const std::map<std::string, Sourced<std::string>>* cm = nullptr;
    if (const auto it = d.configmaps.find(d.ingress_configmap); it != d.configmaps.end()) {
      cm = &it->second;
    } else {
      for (const auto& [name, data] : d.configmaps) {
        if (std::any_of(data.begin(), data.end(), [&](const auto& kv) { return modelled.count(kv.first) > 0; })) {
          cm = &data;
        }
      }
    }
    if (cm != nullptr) {
      // "auto" (ingress-nginx's default: one per CPU) keeps epsim's default.
      if (const auto it = cm->find("worker-processes"); it != cm->end() && it->second.value != "auto") {
        out += fmt::format("  workerProcesses: {}   # {}\n", number_value(it->second, true),
                           comment(it->second.source));
      }
      std::string config;
      for (const auto& [key, value] : *cm) {
        if (modelled.count(key) == 0) continue;
        if (key == "load-balance" && value.value != "round_robin") {
          // epsim models nginx's round robin only (docs/model.md §12): say so, keep the default.
          config += fmt::format("    # load-balance: {} is not modelled: round_robin instead   # {}\n",
                                yaml_quoted(value.value), comment(value.source));
          continue;
        }
        config += fmt::format("    {}: {}   # {}\n", key, yaml_quoted(value.value), comment(value.source));
      }
      if (!config.empty()) out += "  config:\n" + config;
    }
  }
  // The result must be a scenario epsim runs: check it before anyone sees it.
  try {
    load_scenario_text(out, "the imported scenario");
  } catch (const InputError& e) {
    throw InputError(fmt::format("a value read from the dumps is not one epsim can run: {}", e.what()));
  }
  return out;
}

}  // namespace epsim::app
