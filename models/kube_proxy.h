// kube-proxy in iptables mode on a sample of a business cluster's nodes, as
// the consumer of endpoints that in-cluster clients of a ClusterIP Service
// go through (docs/model.md §14; upstream pkg/proxy/iptables/proxier.go and
// pkg/util/async/bounded_frequency_runner.go, release-1.17 to 1.19).
//
// Every node runs one proxier. Each Endpoints (or, with EndpointSliceProxying,
// EndpointSlice) event of its informer calls syncRunner.Run(); the
// BoundedFrequencyRunner runs syncProxyRules at once when its token bucket
// (1/--iptables-min-sync-period per second, burst 2) has a token, else when
// the next token is due, and at least every --iptables-sync-period. A run
// reads the informer cache when it starts and its rules take effect when
// iptables-restore returns, `syncDuration` later; runs never overlap.
//
// Clients of a Service are spread evenly over the nodes; a connection goes
// to one of the endpoints the node's rules list, each equally likely
// (the iptables statistic-mode-random chain). A connection to a pod IP that
// no longer answers fails, so a node fails the share of its listed endpoints
// that are dead. Failures are counted as expected values (the rate times the
// failing share, integrated over time): the windows depend only on when rules
// and pods change.
//
// Each node's change tracker also keeps the Endpoints' (or EndpointSlices')
// last-change-trigger-time of every pending change, for every Service, and
// the run that checks them out observes the time from each to when its rules
// take effect in kubeproxy_network_programming_duration_seconds (docs/model.md
// §14; upstream pkg/proxy/endpoints.go and pkg/proxy/metrics/metrics.go).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "models/api_server.h"
#include "models/informer.h"
#include "models/token_bucket.h"
#include "sim/metrics.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace epsim::models {

struct KubeProxyConfig {
  int nodes = 3;  // the nodes sampled (every node runs the same proxier)
  // --iptables-min-sync-period: 1s since kubernetes PR #92836 (1.19), 0 before.
  sim::Duration min_sync_period = sim::Duration::seconds(1);
  // --iptables-sync-period (KubeProxyConfiguration default 30s).
  sim::Duration sync_period = sim::Duration::seconds(30);
  int burst_syncs = 2;  // proxier.go: burstSyncs := 2
  // How long one syncProxyRules (iptables-restore) takes: epsim's own
  // parameter, since it depends on the node and the number of rules.
  sim::Duration sync_duration = sim::Duration::milliseconds(100);
  // EndpointSliceProxying: read EndpointSlices instead of Endpoints.
  bool read_endpoint_slices = false;
};

// What kube-proxy does by default in a Kubernetes release ("1.17.3",
// "v1.19"); nullopt if the version cannot be parsed or is older than 1.16.
struct KubeProxyPreset {
  sim::Duration min_sync_period;  // 0 before 1.19, 1s from 1.19 (kubernetes PR #92836)
  // EndpointSliceProxying: alpha in 1.18 (kubernetes PR #86137), beta and on
  // by default on Linux from 1.19.
  bool read_endpoint_slices = false;
};
std::optional<KubeProxyPreset> kube_proxy_preset(const std::string& version);

// One syncProxyRules run on one node: it read the cache at `started` and
// its rules took effect at `applied`.
struct KubeProxySync {
  sim::Time started;
  sim::Time applied;
};

// A maximal interval during which some node sends a share of a Service's
// connections to dead pod IPs; windows less than 1 s apart merge.
struct KubeProxyWindow {
  ServiceId service = 0;
  sim::Time start;
  sim::Time end;
  double requests = 0;  // expected connections inside the window
  double failed = 0;    // of which to a dead pod IP
  double peak_fail_fraction = 0;
};

// kubeproxy_network_programming_duration_seconds' bucket bounds (kubernetes
// v1.17.3 pkg/proxy/metrics/metrics.go): 0, then 0.25 and 0.5, 1 s to 59 s by
// 1 s, 60 s to 115 s by 5 s, 120 s to 300 s by 30 s. The leading 0 is
// upstream's: its merge() starts from a one-element slice.
const std::vector<double>& network_programming_buckets();

class KubeProxy {
 public:
  // Registers kubeproxy_network_programming_duration_seconds{cluster} in `metrics`.
  KubeProxy(sim::Simulator& simulator, ApiServer& api, sim::MetricsRegistry& metrics, std::uint64_t seed,
            const std::string& cluster, KubeProxyConfig config, std::size_t service_space);
  ~KubeProxy();
  KubeProxy(const KubeProxy&) = delete;
  KubeProxy& operator=(const KubeProxy&) = delete;

  // A ClusterIP Service whose in-cluster clients open `connections_per_second`.
  void add_client_service(ServiceId service, double connections_per_second);
  // Steady state at now: the caches hold the API server's objects and every
  // node's rules list them; each node's last run lies at a random instant of
  // the last sync period. Runs until `until`.
  void start_steady(sim::Time until);
  // The pod IP stops answering now.
  void set_ip_dead(PodIp ip);
  // At the end time: closes open windows and books what is left.
  void finish();

  const KubeProxyConfig& config() const { return config_; }
  const std::vector<KubeProxyWindow>& windows() const { return windows_; }  // (start, service) order after finish()
  // Every run of `node`, in order.
  const std::vector<KubeProxySync>& syncs(int node) const;
  // The first run of `node` that started at or after `t` and applied, or nullptr.
  const KubeProxySync* first_sync_from(int node, sim::Time t) const;
  // The endpoints `node`'s rules list for `service` now (sorted).
  const std::vector<PodIp>& programmed(int node, ServiceId service) const;
  double expected_connections() const;  // since start, up to now
  double expected_failures() const;
  // Every node's observations (upstream each node exposes its own; the model
  // sums them, as a sum over the nodes' series would).
  const sim::Histogram& network_programming_duration() const { return network_programming_; }

 private:
  class Handler;
  struct Node;
  struct Client;
  struct PendingChange;

  // The change trackers' Update / EndpointSliceUpdate: `previous` null for
  // an add, `current` null for a delete.
  void track(const Endpoints* previous, const Endpoints* current);
  PendingChange& pending_change(Node& node, ServiceId service, const std::vector<PodIp>& previous);
  void drop_pending_change(Node& node, ServiceId service);
  void on_change();
  void try_run(int node);
  void run(int node);
  void apply(int node, std::vector<std::vector<PodIp>> lists);
  void schedule_periodic(int node);
  void update_client(std::uint32_t client);
  double fail_fraction(const Client& c) const;
  void integrate_to_now();

  sim::Simulator& sim_;
  ApiServer& api_;
  KubeProxyConfig config_;
  std::size_t service_space_;
  sim::RandomStream phases_;  // "kube-proxy/<cluster>/phases": each node's last run before the start
  Informer<Endpoints> cache_;
  std::unique_ptr<Handler> handler_;
  std::vector<Node> nodes_;
  std::vector<Client> clients_;
  std::vector<std::int32_t> client_of_;  // by ServiceId, -1: no in-cluster clients
  std::vector<std::uint32_t> pending_nodes_;  // by ServiceId: nodes with a pending change of it
  sim::Histogram& network_programming_;
  // Only looked up, never iterated.
  std::unordered_set<PodIp> dead_;
  std::vector<KubeProxyWindow> windows_;
  sim::Time integrated_at_;
  double expected_connections_ = 0, expected_failures_ = 0;
  double connection_rate_ = 0, failure_rate_ = 0;
  std::size_t failing_clients_ = 0;  // clients with a failing share > 0
  sim::Time until_ = sim::Time::max();
  bool started_ = false, finished_ = false;
};

}  // namespace epsim::models
