// Composition: builds the model instances of a scenario on one simulator,
// runs it, and gathers what the reports need. The models never format.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/scenario.h"
#include "models/api_server.h"
#include "models/controller_manager.h"
#include "models/deployment.h"
#include "sim/metrics.h"
#include "sim/simulator.h"
#include "sim/span_recorder.h"
#include "sim/time_series.h"

namespace epsim::app {

struct ClusterRuntime {
  const ClusterSpec* spec = nullptr;
  models::ControllerSwitches switches;
  std::vector<std::string> service_names;           // by ServiceId
  std::map<std::string, models::ServiceId> service_ids;
  std::unique_ptr<models::ApiServer> api;
  std::unique_ptr<models::ControllerManager> controller_manager;
  std::unique_ptr<models::Deployments> deployments;
};

class Pipeline {
 public:
  explicit Pipeline(const Scenario& scenario);
  // Runs to the scenario's end; throws InputError when the event bound is hit.
  void run();

  const Scenario& scenario() const { return scenario_; }
  const sim::Simulator& simulator() const { return simulator_; }
  const sim::MetricsRegistry& metrics() const { return metrics_; }
  const std::vector<std::unique_ptr<ClusterRuntime>>& clusters() const { return clusters_; }
  // Per-second samples of the pipeline (columns named "<cluster>/<series>").
  const sim::TimeSeriesSampler& time_series() const { return *sampler_; }
  // Spans for the trace: storms, rollouts (filled by run()).
  const sim::SpanRecorder& spans() const { return spans_; }

 private:
  void build_cluster(const ClusterSpec& spec);
  void schedule_deploys(ClusterRuntime& cluster);
  void add_series(ClusterRuntime& cluster);
  void record_spans();

  const Scenario& scenario_;
  sim::Simulator simulator_;
  sim::MetricsRegistry metrics_;
  std::vector<std::unique_ptr<ClusterRuntime>> clusters_;
  std::unique_ptr<sim::TimeSeriesSampler> sampler_;
  sim::SpanRecorder spans_;
};

}  // namespace epsim::app
