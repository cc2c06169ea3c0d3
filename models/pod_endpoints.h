// What kube-controller-manager's endpoints controller and EndpointSlice
// controller compute alike from a Service's pods (1.19: both go through
// pkg/controller/util/endpoint/controller_utils.go): which pod updates can
// change an endpoint (GetServicesToUpdateOnPodChange, podEndpointsChanged),
// the pod lister's per-Service index, the desired address lists, and the
// comparison of two lists. docs/model.md §6 and §7.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "models/informer.h"
#include "models/objects.h"

namespace epsim::models {

// Whether an informer Update of a pod can change its Service's endpoints:
// never for the same resourceVersion (a resync); always once the pod is
// terminating (`DeletionTimestamp` pointers compared, and two decoded pods
// never share one); else readiness, IP or node (TargetRef without its
// resourceVersion, #50934).
bool pod_update_changes_endpoints(const Pod& old_pod, const Pod& pod);

// The pod handler both controllers register (addPod / updatePod / deletePod):
// it keeps the pod lister's index of the pods of each Service, in the order
// the informer delivered them, and hands the pod's Service to `enqueue` on an
// Add, a Delete, or an Update that can change its endpoints.
class ServicePodIndex : public InformerHandler<Pod> {
 public:
  ServicePodIndex(std::size_t service_space, std::function<void(ServiceId)> enqueue)
      : pods_(service_space), enqueue_(std::move(enqueue)) {}
  void on_add(const Pod& pod) override;
  void on_update(const Pod& old_pod, const Pod& pod) override;
  void on_delete(const Pod& pod) override;
  void clear();
  // From the informer cache, in id order (after a silent list).
  void rebuild(const Informer<Pod>& pods);
  const std::vector<PodId>& pods(ServiceId service) const { return pods_[service]; }

 private:
  std::vector<std::vector<PodId>> pods_;
  std::function<void(ServiceId)> enqueue_;
};

// The Service's endpoints from its cached pods: pods without an IP are
// skipped, terminating pods too unless publishNotReadyAddresses
// (ShouldPodBeInEndpoints, #89056 for EndpointSlices); Ready pods (every pod
// with publishNotReadyAddresses) in `addresses`, the rest in
// `not_ready_addresses`, each sorted by IP, TargetRef carrying the pod RV.
Endpoints desired_endpoints(ServiceId id, const Service& service, const std::vector<PodId>& pods,
                            const Informer<Pod>& informer);

// Whether two address lists are equal; the TargetRef resourceVersion counts
// only with `compare_target_ref_rv` (every release before #108078, 1.24).
bool addresses_equal(const std::vector<EndpointAddress>& a, const std::vector<EndpointAddress>& b,
                     bool compare_target_ref_rv);

}  // namespace epsim::models
