// The typed scenario: what a YAML file (plus its includes and the CLI
// overrides) asks epsim to simulate. Every field starts at the real upstream
// default; docs/scenario.md documents each key.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/api_server.h"
#include "models/controller_manager.h"
#include "models/deployment.h"
#include "models/endpoint_slice_mirroring.h"
#include "models/endpoint_sync.h"
#include "models/ingress_nginx.h"
#include "models/kube_proxy.h"
#include "models/traffic.h"
#include "sim/time.h"

namespace epsim::app {

// Documented input limits (README "Input limits").
inline constexpr std::uint64_t kMaxServicesPerScenario = 2'000'000;
inline constexpr int kMaxPodsPerService = 10'000;
inline constexpr std::uint64_t kMaxPodsPerScenario = 20'000'000;
inline constexpr int kMaxWorkers = 10'000;
// kube-proxy's sampled nodes per business cluster: each syncs on every change.
inline constexpr int kMaxKubeProxyNodes = 1'000;
// ... and nodes x Services of that cluster (each node tracks every Service).
inline constexpr std::uint64_t kMaxKubeProxyNodeServices = 50'000'000;
// Client rates (kubeAPIQPS, syncRateLimit and their flags), per second: one
// request per 10,000 s at least (an ingress that syncs once in hours is a
// test case; 1e-300 overflows the token bucket's interval); 10^6 at most.
inline constexpr double kMinRatePerSecond = 1e-4;
inline constexpr double kMaxRatePerSecond = 1e6;
// The API server's mutatingThroughput when bounded, requests/s (0: none).
inline constexpr double kMinMutatingThroughput = 0.01;
// The root seed: `seed` and --seed alike, 0 to 2^63 - 1 (a YAML integer).
inline constexpr std::uint64_t kMaxSeed = 9'223'372'036'854'775'807ULL;
// Virtual time per run: 366 days. Logs of every write and pod grow with it
// (a simulated year of the incident takes ~2 GB); a longer question is
// better asked as several runs.
inline constexpr std::int64_t kMaxDurationHours = 366 * 24;

struct ServiceGroupSpec {
  std::string name_prefix = "svc-";
  std::string namespace_name = "default";
  std::uint32_t count = 1;
  bool headless = false;
  bool selector = true;
  bool publish_not_ready_addresses = false;
  models::WorkloadSpec workload;
  double pod_status_churn_per_hour = 0;  // RV-only pod updates per pod per hour
  double requests_per_second = 0;        // traffic through ingress-nginx to each service
  double in_cluster_rps = 0;             // in-cluster connections to each service through kube-proxy
  std::string origin;                    // file:line:column of the entry
};

struct DeploySpec {
  enum class Kind { absolute, after_resync, background };
  Kind kind = Kind::absolute;
  std::string service;                   // namespace/name (absolute, after_resync)
  sim::Duration at;                      // absolute
  sim::Duration offset;                  // after_resync
  int nth_resync = 1;                    // after_resync: 1 = the first periodic resync
  double rate_per_hour = 0;              // background
  std::string origin;
};

// kube-proxy on the nodes of a business cluster (models/kube_proxy.h); it
// runs when a service group has in-cluster clients (inClusterRps).
struct KubeProxySpec {
  models::KubeProxyConfig config;  // nodes, sync period and duration (the rest resolved below)
  std::optional<sim::Duration> min_sync_period;  // unset: the version's preset
  std::optional<bool> endpoint_slice_proxying;   // unset: the version's preset
};

struct ClusterSpec {
  std::string name;
  std::string role = "business";        // business | access
  std::string kubernetes_version = "1.17.3";
  models::ApiServerConfig api_server;
  models::ControllerManagerConfig controller_manager;
  sim::Duration informer_start;          // resync phase: the factory started this long before t=0
  std::vector<sim::Duration> leader_changes;
  std::map<std::string, bool> switch_overrides;
  int mirroring_workers = 5;             // --mirroring-concurrent-service-endpoint-syncs (access clusters)
  std::optional<bool> endpoint_slice_controller;  // unset: the version's preset (on from 1.18)
  int concurrent_service_endpoint_syncs = 5;      // --concurrent-service-endpoint-syncs
  KubeProxySpec kube_proxy;
  std::vector<ServiceGroupSpec> services;
  std::vector<DeploySpec> deploys;
  std::string origin;
};

struct SyncSpec {
  bool present = false;
  std::vector<std::string> from;
  std::string to;
  models::EndpointSyncConfig config;
  std::string origin;
};

struct IngressSpec {
  bool present = false;
  std::string cluster;
  std::string version = "1.3.1";
  models::IngressNginxConfig config;
  std::string origin;
};

struct Scenario {
  std::string name = "unnamed";
  std::string description;
  std::string path;                      // "" for the embedded default
  std::uint64_t seed = 1;
  sim::Duration duration = sim::Duration::hours(24);
  std::uint64_t max_events = 200'000'000;
  std::vector<ClusterSpec> clusters;
  models::TrafficConfig traffic;
  SyncSpec sync;
  IngressSpec ingress;
};

// CLI overrides with the real flag spellings; applied to every business cluster.
struct Overrides {
  std::optional<std::uint64_t> seed;
  std::optional<sim::Duration> duration;
  std::optional<int> concurrent_endpoint_syncs;
  std::optional<double> kube_api_qps;
  std::optional<int> kube_api_burst;
  std::optional<sim::Duration> min_resync_period;  // drops a pinned resyncPeriod: periods are sampled
  std::optional<sim::Duration> resync_period;      // epsim's --resync-period: pins it
  std::optional<sim::Duration> endpoint_updates_batch_period;
  std::optional<std::string> kubernetes_version;
  std::optional<double> sync_rate_limit;
};

// Loads a scenario file (or, with an empty path, the embedded default; "-":
// the standard input), with the `--set PATH=VALUE` assignments of `sets`
// applied to it (see app/set_assignment.h). Its includes must resolve inside
// its own directory tree or one of `include_dirs` (--include-dir). Throws
// InputError with file:line:column (or the assignment) on any problem.
Scenario load_scenario(const std::string& path, const std::vector<std::string>& sets = {},
                       const std::vector<std::string>& include_dirs = {});
// A scenario file and its includes, read and parsed once: each load() applies
// its own --set assignments to a deep copy and gives what load_scenario gives
// for the same path and assignments (a sweep loads one scenario per point).
// Not thread-safe: load from one thread.
class ScenarioFiles {
 public:
  // "" for the embedded default; includes as load_scenario() says.
  explicit ScenarioFiles(const std::string& path, const std::vector<std::string>& include_dirs = {});
  ~ScenarioFiles();
  Scenario load(const std::vector<std::string>& sets) const;

 private:
  struct Loaded;
  std::string path_;
  std::unique_ptr<Loaded> loaded_;
};
// Loads a scenario from its text without touching the filesystem; `origin`
// names it in messages and its includes resolve among the embedded scenarios
// (e.g. common/apiserver-calibrated.yaml). Throws InputError like load_scenario.
Scenario load_scenario_text(const std::string& text, const std::string& origin);
void apply_overrides(Scenario& scenario, const Overrides& overrides);
// Resolves each cluster's switches: the version preset, then the overrides.
models::ControllerSwitches resolve_switches(const ClusterSpec& cluster);
// kube-proxy's configuration in a business cluster: the version's preset,
// then the scenario's keys. Whether it runs at all: in_cluster_clients().
models::KubeProxyConfig resolve_kube_proxy(const ClusterSpec& cluster);
bool in_cluster_clients(const ClusterSpec& cluster);
// Whether kube-controller-manager runs the EndpointSlice controller.
bool resolve_endpoint_slice_controller(const ClusterSpec& cluster);

// ingress-nginx behaviour of a controller version ("1.3.1", "v1.9.4",
// "controller-v1.4.0", "0.17.1"); nullopt when it cannot be parsed.
struct IngressVersionTraits {
  bool read_endpoint_slices;
  bool dynamic_configuration;
};
std::optional<IngressVersionTraits> ingress_version_traits(const std::string& version);

extern const char* const kEmbeddedDefaultScenario;
extern const char* const kEmbeddedDefaultName;

}  // namespace epsim::app
