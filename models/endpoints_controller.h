// kube-controller-manager's endpoints controller
// (pkg/controller/endpoint/endpoints_controller.go), in the behaviour of the
// Kubernetes version selected by its switches: informer handlers that feed a
// rate-limited workqueue named "endpoint", `--concurrent-endpoint-syncs`
// workers running syncService, and writes through the controller's own client
// token bucket (`--kube-api-qps`, `--kube-api-burst`).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/api_server.h"
#include "models/controller_switches.h"
#include "models/informer.h"
#include "models/stage_log.h"
#include "models/token_bucket.h"
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

class EndpointsController : public ApiClient {
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

  std::uint64_t endpoint_writes_total() const { return writes_total_; }
  std::uint64_t syncs_total() const { return syncs_total_; }
  // Every API response received, including 429s and the responses of a
  // previous leadership term (which are otherwise ignored).
  std::uint64_t responses_total() const { return responses_total_; }
  std::uint64_t stale_responses() const { return stale_responses_; }  // of which a previous term's
  const WorkQueue& queue() const { return *queue_; }
  // Every Endpoints write of this controller that changed storage, per
  // service, including those of a previous leadership term answered after it
  // ended (endpoint_writes_total() counts only the current process's).
  const StageLog& writes() const { return writes_; }
  const EndpointsControllerConfig& config() const { return config_; }
  // What held the controller back, as measured (epsim's `limited_by`): when
  // some worker waited for a client token, and when every worker had a
  // request in flight.
  const sim::IntervalSet& bucket_waits() const { return bucket_waits_; }
  const sim::IntervalSet& all_workers_in_flight() const { return all_workers_in_flight_; }

  // ApiClient
  void on_response(std::uint64_t tag, const ApiResponse& response) override;

 private:
  class ServiceHandler;
  class PodHandler;
  struct Worker {
    bool busy = false;
    Key key = 0;
    Verb verb = Verb::update;
    Endpoints object;
    ResourceVersion precondition = 0;
    int retry_after_attempts = 0;
    sim::Time queued;
    sim::Time started;
    sim::Time request_started;
    bool in_flight = false;  // a request was submitted and not answered yet
  };

  void enqueue_pod_services(const Pod& pod);
  void on_item_available();
  void wake_workers();
  void process(std::uint32_t worker);
  bool sync_service(std::uint32_t worker);  // true when a write was issued
  void send(std::uint32_t worker);
  void submit(std::uint32_t worker);
  void finish(std::uint32_t worker, bool ok);
  std::optional<sim::Time> trigger_time(ServiceId id, const Service& service);
  void note_depth();
  void close_episode_if_idle();
  void check_workers() const;
  void set_in_flight(Worker& w, bool in_flight);

  sim::Simulator& sim_;
  sim::MetricsRegistry& metrics_;
  ApiServer& api_;
  std::string cluster_;
  EndpointsControllerConfig config_;
  std::size_t service_space_;

  Informer<Service>* services_ = nullptr;
  Informer<Pod>* pods_ = nullptr;
  Informer<Endpoints>* endpoints_ = nullptr;
  std::unique_ptr<ServiceHandler> service_handler_;
  std::unique_ptr<PodHandler> pod_handler_;
  std::vector<std::vector<PodId>> pods_by_service_;  // the pod lister's index

  std::uint32_t term_ = 0;
  std::unique_ptr<WorkQueue> queue_;
  std::unique_ptr<TokenBucket> bucket_;
  std::vector<Worker> workers_;
  std::vector<std::uint32_t> idle_workers_;
  std::size_t in_flight_workers_ = 0;
  sim::IntervalSet bucket_waits_;
  sim::IntervalSet all_workers_in_flight_;
  // Requests of previous terms still in the API server, by tag: a process
  // that lost its lease no longer handles their answers, but a write they
  // apply did change storage, so it still goes into writes_.
  std::map<std::uint64_t, Worker> orphans_;
  bool wake_scheduled_ = false;

  // TriggerTimeTracker (pkg/controller/util/endpoint/trigger_time_tracker.go)
  std::vector<bool> tracker_seen_;
  std::vector<sim::Time> tracker_last_transition_;

  std::vector<SyncEpisode> episodes_;
  bool episode_open_ = false;
  std::uint64_t episode_adds_before_ = 0;

  StageLog writes_;
  std::uint64_t writes_total_ = 0;
  std::uint64_t syncs_total_ = 0;
  std::uint64_t responses_total_ = 0;
  std::uint64_t stale_responses_ = 0;
  // rest_client_request_duration_seconds by verb (POST, PUT, DELETE), made on first use.
  std::array<sim::Histogram*, 3> request_duration_{};
  std::vector<std::pair<std::string, sim::Counter*>> rest_counters_;
};

}  // namespace epsim::models
