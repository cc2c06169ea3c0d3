// The stage list of the pipeline (issue 11): every component registers
// itself once (app/stages.cpp) with its name, kind, where it runs, what it
// watches and writes, and how it is built. The topology (`epsim topology`),
// the pipeline's build order, the time series and the trace's spans walk the
// list; a new component supplies its models/ file, one registration and its
// scenario keys (docs/architecture.md).
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/scenario.h"
#include "models/client_worker_pool.h"
#include "sim/metrics.h"
#include "sim/simulator.h"
#include "sim/span_recorder.h"
#include "sim/time_series.h"

namespace epsim::app {

struct ClusterRuntime;
struct DataPlane;
struct ConsumerWindow;
class Consumer;

enum class StageKind {
  source,    // writes the pods everything else follows (deployments + kubelet)
  writer,    // an informer-fed writer of Endpoints or EndpointSlices
  consumer,  // programs load balancing from them; its failures are windows
};

// Where a registration runs: once per business cluster, or once in the
// access cluster when the scenario has a sync section.
enum class StageScope { business_cluster, access_cluster };

// One stage of one scenario: its topology vertex, its cluster and the
// resources ("<cluster>/<Kind>") it watches and writes, in the order the
// topology adds its edges.
struct StagePlacement {
  std::string vertex;   // e.g. "idc/endpoints-controller", "endpoint-sync"
  std::string cluster;  // the cluster it runs in
  std::vector<std::string> watches;
  std::vector<std::string> writes;
  std::string consumer;  // a consumer's windows' name in report.json ("kube-proxy/idc"); else empty
};

// A stage upstream of the one being built (it writes what that one
// watches), already built: what it writes and its worker pool, if a writer.
struct UpstreamStage {
  std::string vertex;
  std::vector<std::string> writes;  // "<cluster>/<Kind>"
  const models::ClientWorkerPool* pool = nullptr;
};

// What the pipeline hands a registration's build: the run's engine, the
// cluster the stage runs in (the business cluster's runtime, or the access
// cluster's data plane), both already holding their API server, and the
// stages upstream of it.
struct StageContext {
  const Scenario& scenario;
  sim::Simulator& simulator;
  sim::MetricsRegistry& metrics;
  const std::vector<std::unique_ptr<ClusterRuntime>>& clusters;
  ClusterRuntime* cluster = nullptr;  // business scope
  DataPlane* data_plane = nullptr;    // access scope
  std::vector<UpstreamStage> upstream = {};
};

// What a built stage adds to the walks over the list; every hook optional.
struct StageHooks {
  // Time-series columns ("<cluster>/<series>"), in the order they appear.
  std::function<void(sim::TimeSeriesSampler&)> add_series;
  // The trace: what the stage does (storm episodes), then what it writes
  // (its StageLog, rollouts, nginx syncs). Each cluster's tracks are its
  // stages' activity, then their writes, both in stage order.
  std::function<void(sim::SpanRecorder&, sim::Time end)> record_activity;
  std::function<void(sim::SpanRecorder&, sim::Time end)> record_writes;
  // After the run: close what integrates over time (a consumer's counts).
  std::function<void()> finish;
  // A writer's worker pool: its workqueue, client counters and StageLog
  // (the invariant checker walks every one).
  const models::ClientWorkerPool* pool = nullptr;
  // When set, the trace shows the pool's writes on this track (each the
  // client's throttle wait, then the request, named `written_span`).
  std::string writes_track;
  std::string written_span;
  // A consumer's windows, chains and programmings (app/consumer.h).
  std::shared_ptr<const Consumer> consumer;
};

// How the reports speak of a consumer's windows. Static, because the text
// report reads report.json, whose windows name their consumer
// ("<registration name>/<cluster>").
struct ConsumerTexts {
  // Ties in window start: the lower rank's windows first; also the order of
  // the text report's summary lines and window tables.
  int rank = 0;
  std::string window;    // explain's "<window> window 2 of 9"
  std::string failing;   // what starts failing when a window opens ("requests")
  std::string instance;  // what a removal must reach to close it ("nginx worker")
  // explain's counts of a window ("12 requests got 504, 3 got 502").
  std::function<std::string(const ConsumerWindow&)> counts;
  // The text report's table: its title, the title when no other consumer
  // has windows (empty: the same), its count columns (header, report key).
  std::string table_title;
  std::string table_title_alone;
  std::vector<std::pair<std::string, std::string>> count_columns;
  // report.json summary keys it adds up over its instances (Consumer::totals),
  // before the summary's window counts or after them; and its lines of the
  // text report's summary.
  std::vector<std::string> totals;
  bool totals_before_windows = false;
  std::function<std::string(const nlohmann::ordered_json& summary)> summary_text;
  // Its programmings give the summary's propagation quantiles.
  bool propagation_summary = false;
};

struct StageRegistration {
  std::string name;  // e.g. "kube-proxy"
  StageKind kind = StageKind::writer;
  StageScope scope = StageScope::business_cluster;
  // Where it runs in `scenario` (for business scope, in `cluster`); nullopt
  // when the scenario does not run it.
  std::function<std::optional<StagePlacement>(const Scenario& scenario, const ClusterSpec* cluster)> place;
  // Builds it (its model instances go to the context's cluster or data
  // plane, where causality finds them) and starts its steady state.
  std::function<StageHooks(StageContext& context)> build;
  ConsumerTexts consumer_texts;  // consumers only
};

// Registrations in the order their vertices enter the topology: per business
// cluster every business-scope registration, then the access-scope ones.
using StageRegistry = std::vector<StageRegistration>;

// The components epsim models (app/stages.cpp).
const StageRegistry& default_stage_registry();

// A registration placed in a scenario, with the stages upstream of it (those
// writing a resource it watches), in registration order.
struct PlannedStage {
  const StageRegistration* registration = nullptr;
  const ClusterSpec* cluster_spec = nullptr;  // business scope
  StagePlacement placement;
  std::vector<std::string> upstream;  // topology vertices
};
std::vector<PlannedStage> plan_stages(const Scenario& scenario, const StageRegistry& registry);

}  // namespace epsim::app
