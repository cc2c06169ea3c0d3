// Follows a pod change through the stages it crossed (docs/model.md §13): the
// business cluster's endpoints controller (workqueue wait, client throttle,
// API server), the sync component, EndpointSlice mirroring, ingress-nginx's
// sync and each nginx worker's pickup. The stage order is the pipeline
// topology: business Endpoints → sync → access Endpoints → (mirroring →
// EndpointSlices) → ingress-nginx → workers.
#pragma once

#include <optional>
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
  const models::PodRecord* pod = nullptr;
  PropagationChain chain;
};
class WindowCauses {
 public:
  explicit WindowCauses(const Pipeline& pipeline);
  std::optional<WindowCause> of(const models::TrafficWindow& window) const;

 private:
  const Pipeline& pipeline_;
  // Pod records by (cluster index, service).
  std::vector<std::vector<std::vector<const models::PodRecord*>>> pods_;
};

// The path to in-cluster clients: the business cluster's writer of what
// kube-proxy reads (the endpoints controller, or with EndpointSliceProxying
// the EndpointSlice controller), then each sampled node's proxier.
struct KubeProxyChain {
  sim::Time change;
  sim::Time controller_started, controller_sent, controller_stored;
  sim::Time all_nodes;  // the last node's rules took the change
};
// When each node's rules took the change (by node), or nullopt when the
// writer never wrote it or some node never ran after it.
std::optional<std::vector<sim::Time>> kube_proxy_applied_per_node(const ClusterRuntime& cluster,
                                                                  models::ServiceId service, models::PodIp ip,
                                                                  sim::Time change, bool removal,
                                                                  const models::StageWrite** write = nullptr);
std::optional<KubeProxyChain> follow_change_to_kube_proxy(const ClusterRuntime& cluster, models::ServiceId service,
                                                          models::PodIp ip, sim::Time change, bool removal);
// The pod removal that kept a kube-proxy window open (as WindowCauses::of).
struct KubeProxyWindowCause {
  const models::PodRecord* pod = nullptr;
  KubeProxyChain chain;
};
std::optional<KubeProxyWindowCause> kube_proxy_window_cause(const ClusterRuntime& cluster,
                                                            const models::KubeProxyWindow& window);

// Seconds of [start, end] spent in each stage of `chain`.
struct StageBreakdown {
  double workqueue_wait_s = 0, client_throttle_s = 0, apiserver_s = 0, sync_component_s = 0, mirroring_s = 0,
         ingress_s = 0, nginx_worker_s = 0, kube_proxy_s = 0;
};
StageBreakdown breakdown(const PropagationChain& chain, sim::Time start, sim::Time end);
StageBreakdown breakdown(const KubeProxyChain& chain, sim::Time start, sim::Time end);

}  // namespace epsim::app
