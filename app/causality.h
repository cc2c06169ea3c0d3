// Follows a pod change through the stages it crossed (docs/model.md §13): the
// business cluster's endpoints controller (workqueue wait, client throttle,
// API server), the sync component, EndpointSlice mirroring, ingress-nginx's
// sync and each nginx worker's pickup. The stage order is the pipeline
// topology: business Endpoints → sync → access Endpoints → (mirroring →
// EndpointSlices) → ingress-nginx → workers.
#pragma once

#include <map>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "app/pipeline.h"

namespace epsim::app {

// A pod IP as a dotted quad: 10 + the business cluster's index, then the
// 24-bit pod number (Pipeline gives each business cluster its own range).
std::string pod_ip_text(models::PodIp ip);

struct PropagationChain {
  sim::Time change;            // deletionTimestamp stored, or Ready stored
  sim::Time controller_started, controller_sent, controller_stored;
  sim::Time sync_stored;
  std::optional<sim::Time> mirroring_stored;
  sim::Time ingress_applied;
  sim::Time all_workers;       // the last nginx worker routes by the change
};

// The chain of a pod IP leaving (`removal`) or joining the routing of its
// service; nullopt when the change never made it through every stage.
std::optional<PropagationChain> follow_change(const Pipeline& pipeline, const ClusterRuntime& cluster,
                                              models::ServiceId service, models::PodIp ip, sim::Time change,
                                              bool removal);

// A pod change (its deletionTimestamp or its Ready stored) and when it took
// effect at a programmer of the load balancing.
struct Programming {
  sim::Time change;
  sim::Time applied;
  double latency_s() const { return (applied - change).seconds_f(); }
};
// Every change of the cluster's pods before the run's end that reached
// ingress-nginx's last worker (follow_change), in pod-record order: the
// report's propagation quantiles and the network programming SLI share it.
std::vector<Programming> ingress_programmings(const Pipeline& pipeline, const ClusterRuntime& cluster);

// The pod removal that kept a 504 window open: among the service's pods that
// died before the window ended, the one whose removal reached the last nginx
// worker latest within the window.
struct WindowCause {
  models::PodRecord pod;
  PropagationChain chain;
};
class WindowCauses {
 public:
  explicit WindowCauses(const Pipeline& pipeline);
  std::optional<WindowCause> of(const models::TrafficWindow& window) const;

 private:
  const Pipeline& pipeline_;
  // Per cluster index, the records of the pods that died, by service and
  // then in pod-id order: only a pod that died can be a window's cause, and
  // few do (a table of every pod by service would cost a vector per Service).
  using DeadPod = std::pair<models::ServiceId, models::PodRecord>;
  std::vector<std::vector<DeadPod>> dead_pods_;
};

// A stage a window's removal can wait in: its key in report.json's
// windows[].cause, the text report's "mostly waiting in" words and explain's
// "N% of the window was spent <text>".
struct WindowStage {
  const char* key;
  const char* label;
  const char* text;
};
// Every one, in report.json's order (with the registrations: app/stages.cpp).
const std::vector<WindowStage>& window_stages();

// Seconds of a window spent in each stage of the chain behind it, by
// WindowStage key (0 for a stage the chain did not cross).
struct StageBreakdown {
  std::map<std::string, double> seconds;
  double of(const std::string& key) const;
};
// Of `chain` within [start, end].
StageBreakdown breakdown(const PropagationChain& chain, sim::Time start, sim::Time end);
// Seconds of [a, b] inside [start, end].
double overlap_s(sim::Time a, sim::Time b, sim::Time start, sim::Time end);

}  // namespace epsim::app
