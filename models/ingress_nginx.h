// ingress-nginx (kubernetes/ingress-nginx, internal/ingress/controller; docs/model.md
// §11): an informer on Endpoints (< 1.4) or EndpointSlices (>= 1.4) whose
// events feed one skippable sync task (internal/task/queue.go: an item older
// than the last successful sync is dropped), a --sync-rate-limit token bucket
// (0.3/s, burst 1) taken before the informer caches are read, a config build
// whose cost grows with the number of backends, and then:
//  - dynamic mode (>= 0.18): an endpoint-only change is one POST of all
//    backends to /configuration/backends; each nginx worker picks it up on its
//    1 s Lua timer when the POST's whole-second timestamp is newer than the
//    one it last synced (balancer.lua sync_backends);
//  - legacy mode (< 0.18): every change renders nginx.conf and reloads; the
//    old workers keep the old upstreams for the requests on their connections
//    until worker-shutdown-timeout.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/api_server.h"
#include "models/informer.h"
#include "models/token_bucket.h"
#include "models/traffic.h"
#include "models/upstream_lists.h"
#include "sim/metrics.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace epsim::models {

struct IngressNginxConfig {
  bool read_endpoint_slices = false;  // controller >= 1.4 (PR #8890)
  bool dynamic_configuration = true;  // >= 0.18.0 (PR #2794)
  double sync_rate_limit = 0.3;       // --sync-rate-limit (burst 1)
  int worker_processes = 4;           // worker-processes
  sim::Duration config_build_base = sim::Duration::milliseconds(20);
  sim::Duration config_build_per_backend = sim::Duration::microseconds(10);
  sim::Duration post_base = sim::Duration::milliseconds(5);
  sim::Duration post_per_backend = sim::Duration::microseconds(5);
  sim::Duration reload_base = sim::Duration::milliseconds(200);
  sim::Duration reload_per_backend = sim::Duration::microseconds(100);
  sim::Duration worker_shutdown_timeout = sim::Duration::seconds(240);
  // Legacy mode: the share of requests on connections still held by the old
  // workers after a reload (rounded to whole worker slots).
  double draining_share = 0.25;
  sim::Duration lua_sync_interval = sim::Duration::seconds(1);  // BACKENDS_SYNC_INTERVAL
};

// One applied configuration: a successful POST (dynamic) or reload (legacy).
struct IngressSync {
  std::uint64_t version = 0;
  sim::Time event;       // the oldest event this sync served
  sim::Time read_at;     // informer caches read (after the rate limiter)
  sim::Time applied_at;  // POST answered / reload done
  std::uint32_t changed_backends = 0;
};

// The labels every series of the controller pod carries: the constLabels
// controller_namespace, controller_class and controller_pod of ingress-nginx
// internal/ingress/metric/collectors/controller.go and socket.go (the
// chart's namespace, a fixed pod name, the --controller-class default), plus the
// `cluster` label the scraping Prometheus adds.
sim::Labels ingress_controller_labels(const std::string& cluster);

class IngressNginx {
 public:
  IngressNginx(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& access, Traffic& traffic,
               std::uint64_t seed, IngressNginxConfig config, std::size_t backend_space);
  ~IngressNginx();

  // Caches synced and every worker routing by them; no first sync.
  void start_steady();

  const std::vector<IngressSync>& syncs() const { return syncs_; }
  // When worker `w` first routed by a configuration of version >= v, or
  // Time::max() if it never did.
  sim::Time worker_pickup(int worker, std::uint64_t version) const;
  int workers() const { return config_.worker_processes; }
  // The newest configuration applied, and the one worker `w` routes by.
  std::uint64_t version() const { return version_; }
  std::uint64_t worker_version(int worker) const;
  // The upstream IPs of `backend` in the newest configuration applied.
  std::vector<PodIp> running(std::uint32_t backend) const;  // a copy
  std::uint64_t reloads() const { return reloads_; }
  const IngressNginxConfig& config() const { return config_; }

 private:
  class Handler;
  struct Worker {
    std::uint64_t version = 0;
    std::int64_t synced_second = -1;          // raw_backends_last_synced_at it last took
    sim::Duration tick_phase;                 // its Lua timer's offset within the second
    bool tick_scheduled = false;
    std::vector<std::pair<std::uint64_t, sim::Time>> pickups;
  };

  void on_event();
  void run_task();
  void sync_read();
  void apply(std::uint64_t version);
  void worker_tick(int worker);
  void give_worker(int worker);
  void finish_task();
  std::vector<PodIp> backend_ips(std::uint32_t backend) const;

  sim::Simulator& sim_;
  ApiServer& access_;
  Traffic& traffic_;
  IngressNginxConfig config_;
  std::size_t backend_space_;
  sim::RandomStream rng_;
  Informer<Endpoints> cache_;
  std::unique_ptr<Handler> handler_;
  TokenBucket sync_limiter_;

  // internal/task/queue.go: FIFO of skippable items stamped with their time.
  std::vector<sim::Time> tasks_;
  std::size_t task_head_ = 0;
  bool task_running_ = false;
  sim::Time last_sync_ = sim::Time::zero() - sim::Duration::hours(1);
  sim::Time current_task_ts_;

  std::vector<std::uint8_t> dirty_;   // backends with events since the last read
  std::vector<std::uint32_t> dirty_list_;
  // The configuration nginx runs: per backend a list in running_lists_ (one
  // pooled array, not a heap block per backend).
  UpstreamLists running_lists_;
  std::vector<UpstreamLists::Id> running_;
  std::vector<std::uint32_t> pending_changed_;     // of the sync in flight
  std::vector<std::vector<PodIp>> pending_lists_;
  sim::Time pending_event_;
  sim::Time pending_read_;
  // Backends changed by each version (index = version - 1), so a worker
  // catching up applies only what moved.
  std::vector<std::vector<std::uint32_t>> version_changes_;
  std::uint64_t version_ = 0;
  std::int64_t raw_synced_second_ = -1;
  std::vector<Worker> workers_;
  std::vector<IngressSync> syncs_;
  std::uint64_t reloads_ = 0;
  sim::Counter* reload_success_ = nullptr;
  sim::Gauge* last_reload_ok_ = nullptr;
};

}  // namespace epsim::models
