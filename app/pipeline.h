// Composition: builds the model instances of a scenario on one simulator,
// runs it, and gathers what the reports need. The models never format.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/metric_scrapes.h"
#include "app/scenario.h"
#include "app/stage.h"
#include "app/service_names.h"
#include "models/api_server.h"
#include "models/controller_manager.h"
#include "models/deployment.h"
#include "sim/interval_set.h"
#include "sim/metrics.h"
#include "sim/simulator.h"
#include "sim/span_recorder.h"
#include "sim/time_series.h"

namespace epsim::app {

// A Service of a business cluster as the data plane sees it: one backend of
// ingress-nginx, one selector-less Service in the access cluster.
// 16 bytes: one per Service of every synced cluster.
struct Backend {
  std::uint32_t cluster = 0;      // index into Pipeline::clusters()
  models::ServiceId service = 0;  // in its business cluster
  double requests_per_second = 0; // through ingress-nginx
};

struct ClusterRuntime {
  const ClusterSpec* spec = nullptr;
  models::ControllerSwitches switches;
  ServiceNames service_names;  // by ServiceId
  std::unique_ptr<models::ApiServer> api;
  std::unique_ptr<models::ControllerManager> controller_manager;
  std::unique_ptr<models::Deployments> deployments;
  std::uint32_t backend_offset = 0;  // its services' first backend id
  models::Traffic* ingress_traffic = nullptr;  // the data plane's traffic, when the sync reads this cluster
  // Consumers that may still route to a pod IP of this cluster once it stops
  // answering (set by their stages' builds).
  std::vector<std::function<void(models::PodIp)>> on_ip_dead;
  // What limited its work when (app/limits.h), indexed once the run is over.
  std::unique_ptr<sim::ExclusiveCover> limits;
};

// The access cluster and what runs in and around it.
struct DataPlane {
  const ClusterSpec* spec = nullptr;
  std::unique_ptr<models::ApiServer> api;
  std::unique_ptr<models::EndpointSync> sync;
  std::unique_ptr<models::EndpointSliceMirroring> mirroring;  // ingress >= 1.4
  std::unique_ptr<models::Traffic> traffic;
  std::unique_ptr<models::IngressNginx> ingress;
  std::vector<Backend> backends;
};

// A stage of this run, in build (topology) order.
struct BuiltStage {
  const StageRegistration* registration = nullptr;
  StagePlacement placement;
  std::vector<std::string> upstream;  // topology vertices
  StageHooks hooks;
};

// The time series has one sample per second up to kMaxSamples samples (7
// days); longer runs sample every ceil(duration / kMaxSamples) seconds, so
// memory and timeseries.csv stay bounded (README "Input limits").
inline constexpr std::int64_t kMaxSamples = 604'800;
sim::Duration sample_interval(sim::Duration run);

class Pipeline {
 public:
  // Keeps references to `scenario` and `stages`, which must outlive the
  // pipeline; builds the stages `stages` places in the scenario.
  explicit Pipeline(const Scenario& scenario, const StageRegistry& stages = default_stage_registry());
  explicit Pipeline(Scenario&&) = delete;  // a temporary would dangle
  // Runs to the scenario's end, calling `progress` (if any) with the share of
  // virtual time done; throws InputError when the event bound is hit.
  void run(const std::function<void(double fraction_done)>& progress = {});
  // Before run(): also record what a Prometheus scraping every `interval`
  // would store (metrics.om). The interval must be a whole number of
  // time-series samples (InputError otherwise). Changes nothing in the run.
  void record_scrapes(sim::Duration interval);
  // Null unless record_scrapes() was called.
  const MetricScrapes* scrapes() const { return scrapes_.get(); }

  const Scenario& scenario() const { return scenario_; }
  const sim::Simulator& simulator() const { return simulator_; }
  const sim::MetricsRegistry& metrics() const { return metrics_; }
  const std::vector<std::unique_ptr<ClusterRuntime>>& clusters() const { return clusters_; }
  // Null when the scenario has no sync/ingress section.
  const DataPlane* data_plane() const { return data_plane_.get(); }
  // Per-second samples of the pipeline (columns named "<cluster>/<series>").
  const sim::TimeSeriesSampler& time_series() const { return *sampler_; }
  // Spans for the trace: storms, rollouts (filled by run()).
  const sim::SpanRecorder& spans() const { return spans_; }
  // Its stages in the order they were built (app/stage.h).
  const std::vector<BuiltStage>& stages() const { return stages_; }
  // The registrations it placed its stages from.
  const StageRegistry& registry() const { return registry_; }

 private:
  void build();
  ClusterRuntime& cluster_of(const ClusterSpec& spec);
  void build_cluster(const ClusterSpec& spec);
  void schedule_deploys(ClusterRuntime& cluster);
  DataPlane& access_cluster();
  void wire_dead_ips();
  void record_spans();

  const Scenario& scenario_;
  const StageRegistry& registry_;
  sim::Simulator simulator_;
  sim::MetricsRegistry metrics_;
  std::vector<std::unique_ptr<ClusterRuntime>> clusters_;
  std::unique_ptr<DataPlane> data_plane_;
  std::unique_ptr<sim::TimeSeriesSampler> sampler_;
  std::unique_ptr<MetricScrapes> scrapes_;
  sim::SpanRecorder spans_;
  std::vector<BuiltStage> stages_;
};

}  // namespace epsim::app
