// kube-controller-manager's endpoints controller
// (pkg/controller/endpoint/endpoints_controller.go), in the behaviour of the
// Kubernetes version selected by its switches: informer handlers that feed a
// rate-limited workqueue named "endpoint", `--concurrent-endpoint-syncs`
// workers running syncService, and writes through the controller's own client
// token bucket (`--kube-api-qps`, `--kube-api-burst`).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "models/api_server.h"
#include "models/client_worker_pool.h"
#include "models/controller_switches.h"
#include "models/informer.h"
#include "models/pod_endpoints.h"
#include "models/stage_log.h"
#include "models/work_queue.h"
#include "sim/interval_set.h"
#include "sim/metrics.h"
#include "sim/simulator.h"

namespace epsim::models {

struct EndpointsControllerConfig {
  int concurrent_endpoint_syncs = 5;              // --concurrent-endpoint-syncs
  double kube_api_qps = 20;                       // --kube-api-qps
  int kube_api_burst = 30;                        // --kube-api-burst
  sim::Duration endpoint_updates_batch_period;    // --endpoint-updates-batch-period (0)
  int max_retries = 15;                           // endpoints_controller.go maxRetries
  int client_max_retry_after = 10;                // client-go rest/request.go maxRetries: attempts in all on Retry-After
  ControllerSwitches switches;
};

// A burst of work the report follows: a periodic resync, or a controller
// start / leader change, from its instant until the workqueue is first empty
// with nothing in processing.
struct SyncEpisode {
  enum class Kind { resync, startup };
  Kind kind = Kind::resync;
  sim::Time at;
  std::uint64_t enqueued = 0;
  std::uint64_t puts = 0;        // writes of Endpoints completed (PUT, POST, DELETE)
  std::uint64_t noop_puts = 0;   // of which the API server found nothing to change
  std::uint64_t max_queue_depth = 0;
  bool finished = false;
  sim::Time ended;
};

class EndpointsController : private ClientWorkerPoolListener {
 public:
  EndpointsController(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& api,
                      const std::string& cluster, EndpointsControllerConfig config, std::size_t service_space);
  ~EndpointsController() override;

  // Wires the controller to its (shared) informers; called once per term.
  void attach(Informer<Service>& services, Informer<Pod>& pods, Informer<Endpoints>& endpoints);

  // A new leadership term: a fresh workqueue and client bucket; with
  // `fresh_tracker` the trigger-time tracker forgets every service (a new
  // process). Old in-flight responses are ignored.
  void begin_term(sim::Time now, bool fresh_tracker);
  // Rebuilds the pod lister's per-service index from the pod informer cache
  // (after a silent list).
  void rebuild_pod_index();
  // Run(): after caches sync, checkLeftoverEndpoints enqueues every
  // Endpoints key (endpoints_controller.go), in the order the lister's List
  // walks the cache map: `endpoints` is the Endpoints informer's list_keys().
  void check_leftover_endpoints(const std::vector<std::uint32_t>& endpoints);

  // Episode bookkeeping, driven by the controller manager around a resync or
  // a start.
  void begin_episode(SyncEpisode::Kind kind);
  void end_episode_dispatch();
  const std::vector<SyncEpisode>& episodes() const { return episodes_; }

  // Marks the service as already seen by the trigger-time tracker (steady
  // state: this process synced it before the scenario began).
  void mark_seen(ServiceId id, sim::Time max_ready_transition);

  // The workqueue "endpoint", the workers and the client: syncs, writes and
  // responses, what held the controller back (epsim's `limited_by`).
  const ClientWorkerPool& pool() const { return *pool_; }
  std::uint64_t endpoint_writes_total() const { return pool_->writes_total(); }
  std::uint64_t syncs_total() const { return pool_->syncs_total(); }
  const WorkQueue& queue() const { return pool_->queue(); }
  // Every Endpoints write of this controller that changed storage, per
  // service, including those of a previous leadership term answered after it
  // ended (endpoint_writes_total() counts only the current process's).
  const StageLog& writes() const { return pool_->writes(); }
  const EndpointsControllerConfig& config() const { return config_; }

 private:
  class ServiceHandler;

  void enqueue_pod_services(ServiceId service);
  std::optional<ClientWrite> sync_service(ServiceId id);
  std::optional<sim::Time> trigger_time(ServiceId id, const Service& service);
  void prefetch(std::span<const ServiceId> ids, int stage) const;
  void note_depth();
  void close_episode_if_idle();
  // ClientWorkerPoolListener: episodes count the settled writes.
  void on_settled(const ClientWrite& write, const ApiResponse& response) override;
  void on_key_done() override;

  sim::Simulator& sim_;
  const ApiServer& api_;
  std::string cluster_;
  EndpointsControllerConfig config_;
  std::size_t service_space_;

  Informer<Service>* services_ = nullptr;
  Informer<Pod>* pods_ = nullptr;
  Informer<Endpoints>* endpoints_ = nullptr;
  std::unique_ptr<ServiceHandler> service_handler_;
  ServicePodIndex pods_by_service_;  // the pod lister's index
  std::unique_ptr<ClientWorkerPool> pool_;

  // TriggerTimeTracker (pkg/controller/util/endpoint/trigger_time_tracker.go):
  // per Service, the latest pod Ready transition it saw, or kNotSeen for a
  // Service it has not seen. One time per Service, not a seen-bit beside it,
  // kept in the pod index's record of the Service (pods_by_service_.tracked):
  // a storm's syncs read it at random places, with the Service's pods, and
  // each table is one more cache miss (issue 12).
  static constexpr sim::Time kNotSeen = sim::Time::from_ns(std::numeric_limits<std::int64_t>::min());

  std::vector<SyncEpisode> episodes_;
  bool episode_open_ = false;
  std::uint64_t episode_adds_before_ = 0;
};

}  // namespace epsim::models
