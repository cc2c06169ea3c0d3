#include "models/pod_endpoints.h"

#include <algorithm>

#include "sim/invariant.h"
#include "sim/vector_growth.h"

namespace epsim::models {

bool pod_update_changes_endpoints(const Pod& old_pod, const Pod& pod) {
  // "Periodic resync will send update events for all known pods": same RV → nothing.
  if (old_pod.resource_version == pod.resource_version) return false;
  // What no update can do: a deletionTimestamp is never removed
  // (apiserver registry/rest/update.go BeforeUpdate), a pod's IP is never
  // replaced and its labels (so its Service) never change in this model.
  EPSIM_INVARIANT(!old_pod.terminating || pod.terminating, "a pod's deletionTimestamp was cleared");
  EPSIM_INVARIANT(old_pod.ip == 0 || old_pod.ip == pod.ip, "a pod's IP changed");
  EPSIM_INVARIANT(old_pod.service == pod.service, "a pod moved to another Service");
  // podChanged (endpoints_controller.go, v1.17) and podEndpointsChanged
  // (util/endpoint/controller_utils.go, v1.19): `newPod.DeletionTimestamp
  // != oldPod.DeletionTimestamp` compares the *metav1.Time pointers, and two
  // decoded objects never share one: once a pod is terminating every update
  // of it counts as a change. Then readiness, or the address (IP, node;
  // TargetRef without its resourceVersion, #50934). Labels never change here.
  return old_pod.terminating || pod.terminating || old_pod.ready != pod.ready || old_pod.ip != pod.ip ||
         old_pod.node != pod.node;
}

void ServicePodIndex::append(const Pod& pod) {
  sim::grow_to(next_, std::size_t{pod.id} + 1, kNone);
  next_[pod.id] = kNone;
  Record& record = records_[pod.service];
  (record.last == kNone ? record.first : next_[record.last]) = pod.id;
  record.last = pod.id;
}

void ServicePodIndex::on_add(const Pod& pod) {
  append(pod);
  enqueue_(pod.service);
}

void ServicePodIndex::on_update(const Pod& old_pod, const Pod& pod) {
  if (pod_update_changes_endpoints(old_pod, pod)) enqueue_(pod.service);
}

void ServicePodIndex::on_delete(const Pod& pod) {
  Record& record = records_[pod.service];
  PodId previous = kNone;
  for (PodId p = record.first; p != kNone; previous = p, p = next_[p]) {
    if (p != pod.id) continue;
    (previous == kNone ? record.first : next_[previous]) = next_[p];
    if (record.last == p) record.last = previous;
    break;
  }
  enqueue_(pod.service);
}

void ServicePodIndex::clear() {
  for (Record& r : records_) r.first = r.last = kNone;
}

void ServicePodIndex::reset_tracked(sim::Time value) {
  for (Record& r : records_) r.tracked = value;
}

void ServicePodIndex::rebuild(const Informer<Pod>& pods) {
  clear();
  next_.reserve(pods.id_space());
  for (std::uint32_t id = 0; id < pods.id_space(); ++id) {
    if (const Pod* p = pods.get(id)) append(*p);
  }
}

namespace {
bool less_by_ip(const EndpointAddress& a, const EndpointAddress& b) { return a.ip < b.ip; }
}  // namespace

Endpoints desired_endpoints(ServiceId id, const Service& service, const ServicePodIndex::Pods& pods,
                            const Informer<Pod>& informer, const Endpoints* current) {
  // The lists are built here and then copied into the object's one block
  // (models/endpoint_addresses.h), or not at all when they are the current
  // object's. Kept per thread (a sweep runs scenarios on several threads),
  // they stop allocating once they have grown.
  thread_local std::vector<EndpointAddress> ready;
  thread_local std::vector<EndpointAddress> not_ready;
  ready.clear();
  not_ready.clear();
  for (PodId p : pods) {
    const Pod* pod = informer.get(p);
    if (pod == nullptr || pod->ip == 0) continue;
    // Terminating pods leave both lists unless the Service tolerates unready.
    if (pod->terminating && !service.publish_not_ready) continue;
    const EndpointAddress address{pod->ip, pod->id, pod->resource_version};
    if (pod->ready || service.publish_not_ready) {
      ready.push_back(address);
    } else {
      not_ready.push_back(address);  // restartPolicy Always
    }
  }
  // RepackSubsets (Endpoints) / the slice's endpoint set: canonical order.
  std::sort(ready.begin(), ready.end(), less_by_ip);
  std::sort(not_ready.begin(), not_ready.end(), less_by_ip);
#if EPSIM_INVARIANTS_ENABLED  // O(addresses): checked builds only
  for (std::size_t i = 1; i < ready.size(); ++i) {
    EPSIM_INVARIANT(ready[i - 1].ip < ready[i].ip, "two pods of a Service share an IP");
  }
#endif
  Endpoints desired;
  desired.service = id;
  if (current != nullptr && std::ranges::equal(current->addresses(), ready) &&
      std::ranges::equal(current->not_ready_addresses(), not_ready)) {
    desired.subsets = current->subsets;
  } else {
    desired.set_addresses(ready, not_ready);
  }
  return desired;
}

bool addresses_equal(std::span<const EndpointAddress> a, std::span<const EndpointAddress> b,
                     bool compare_target_ref_rv) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    // The node is the pod's (EndpointAddress): the same pod, the same node.
    if (a[i].ip != b[i].ip || a[i].pod != b[i].pod) return false;
    if (compare_target_ref_rv && a[i].target_ref_resource_version != b[i].target_ref_resource_version) return false;
  }
  return true;
}

}  // namespace epsim::models
