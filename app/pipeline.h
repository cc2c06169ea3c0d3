// Composition: builds the model instances of a scenario on one simulator,
// runs it, and gathers what the reports need. The models never format.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/metric_scrapes.h"
#include "app/scenario.h"
#include "models/api_server.h"
#include "models/controller_manager.h"
#include "models/deployment.h"
#include "models/kube_proxy.h"
#include "sim/interval_set.h"
#include "sim/metrics.h"
#include "sim/simulator.h"
#include "sim/span_recorder.h"
#include "sim/time_series.h"

namespace epsim::app {

// A Service of a business cluster as the data plane sees it: one backend of
// ingress-nginx, one selector-less Service in the access cluster.
struct Backend {
  std::size_t cluster = 0;        // index into Pipeline::clusters()
  models::ServiceId service = 0;  // in its business cluster
};

struct ClusterRuntime {
  const ClusterSpec* spec = nullptr;
  models::ControllerSwitches switches;
  std::vector<std::string> service_names;           // by ServiceId
  std::map<std::string, models::ServiceId> service_ids;
  std::unique_ptr<models::ApiServer> api;
  std::unique_ptr<models::ControllerManager> controller_manager;
  std::unique_ptr<models::Deployments> deployments;
  // kube-proxy on its nodes, when a service group has in-cluster clients.
  std::unique_ptr<models::KubeProxy> kube_proxy;
  std::uint32_t backend_offset = 0;  // its services' first backend id
  models::Traffic* ingress_traffic = nullptr;  // the data plane's traffic, when the sync reads this cluster
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

// The time series has one sample per second up to kMaxSamples samples (7
// days); longer runs sample every ceil(duration / kMaxSamples) seconds, so
// memory and timeseries.csv stay bounded (README "Input limits").
inline constexpr std::int64_t kMaxSamples = 604'800;
sim::Duration sample_interval(sim::Duration run);

class Pipeline {
 public:
  // Keeps a reference to `scenario`, which must outlive the pipeline.
  explicit Pipeline(const Scenario& scenario);
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

 private:
  void build();
  void build_cluster(const ClusterSpec& spec);
  void schedule_deploys(ClusterRuntime& cluster);
  void add_series(ClusterRuntime& cluster);
  void build_data_plane();
  void build_kube_proxy(ClusterRuntime& cluster);
  void wire_dead_ips();
  void add_data_plane_series();
  void add_latency_series(const std::string& prefix, const models::ApiServer& api);
  void record_spans();

  const Scenario& scenario_;
  sim::Simulator simulator_;
  sim::MetricsRegistry metrics_;
  std::vector<std::unique_ptr<ClusterRuntime>> clusters_;
  std::unique_ptr<DataPlane> data_plane_;
  std::unique_ptr<sim::TimeSeriesSampler> sampler_;
  std::unique_ptr<MetricScrapes> scrapes_;
  sim::SpanRecorder spans_;
};

}  // namespace epsim::app
