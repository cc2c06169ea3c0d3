// What kube-controller-manager's endpoints controller and EndpointSlice
// controller compute alike from a Service's pods (1.19: both go through
// pkg/controller/util/endpoint/controller_utils.go): which pod updates can
// change an endpoint (GetServicesToUpdateOnPodChange, podEndpointsChanged),
// the pod lister's per-Service index, the desired address lists, and the
// comparison of two lists. docs/model.md §6 and §7.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "models/informer.h"
#include "models/objects.h"
#include "sim/load_ahead.h"

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
  // The pods of one Service in delivery order: a view of the index, valid
  // until it next changes. Each Service's list is linked through one array
  // by PodId, so the index holds no heap block per Service (issue 12). The
  // walk stops at the Service's last pod without reading its link: a
  // Service with one pod costs a sync no read of the link table.
  class Pods {
   public:
    class iterator {
     public:
      iterator(const std::vector<PodId>* next, PodId at, PodId last) : next_(next), at_(at), last_(last) {}
      PodId operator*() const { return at_; }
      iterator& operator++() {
        at_ = at_ == last_ ? kNone : (*next_)[at_];
        return *this;
      }
      friend bool operator==(const iterator& a, const iterator& b) { return a.at_ == b.at_; }

     private:
      const std::vector<PodId>* next_;
      PodId at_;
      PodId last_;
    };
    Pods(const std::vector<PodId>* next, PodId first, PodId last) : next_(next), first_(first), last_(last) {}
    iterator begin() const { return {next_, first_, last_}; }
    iterator end() const { return {next_, kNone, last_}; }

   private:
    const std::vector<PodId>* next_;
    PodId first_;
    PodId last_;
  };

  ServicePodIndex(std::size_t service_space, std::function<void(ServiceId)> enqueue)
      : records_(service_space), enqueue_(std::move(enqueue)) {}
  void on_add(const Pod& pod) override;
  void on_update(const Pod& old_pod, const Pod& pod) override;
  void on_delete(const Pod& pod) override;
  // updatePod returns at once when the resourceVersions are equal
  // (endpoints_controller.go, "Periodic resync will send update events for
  // all known pods"), and a resync hands over the cached pod as both.
  ResyncUse resync_use() const override { return ResyncUse::ignores; }
  void clear();
  // From the informer cache, in id order (after a silent list).
  void rebuild(const Informer<Pod>& pods);
  Pods pods(ServiceId service) const { return {&next_, records_[service].first, records_[service].last}; }
  // The first pod of a Service (for a look-ahead; PodId 0xffffffff: none).
  PodId first_pod(ServiceId service) const { return records_[service].first; }
  // Loads ahead of pods(service) and tracked(service) (sim/load_ahead.h).
  void prefetch(ServiceId service) const { sim::load_ahead(&records_[service]); }

  // Beside each Service's pods the index keeps one time its owner tracks per
  // Service: the endpoints controller's trigger-time tracker
  // (trigger_time_tracker.go), which every sync reads and writes with the
  // pods. In one record the two are one cache miss a sync, where two tables
  // were two (issue 12). clear() leaves it; reset_tracked sets every
  // Service's.
  sim::Time& tracked(ServiceId service) { return records_[service].tracked; }
  void reset_tracked(sim::Time value);

 private:
  static constexpr PodId kNone = 0xffffffffU;
  void append(const Pod& pod);

  // A Service's first and last pod and its owner's time: a sync reads all three.
  struct Record {
    PodId first = kNone;  // kNone: no pods
    PodId last = kNone;
    sim::Time tracked;
  };
  static_assert(sizeof(Record) == 16, "four records a cache line");
  std::vector<Record> records_;  // by ServiceId
  std::vector<PodId> next_;   // by PodId: the next pod of its Service (kNone: the last)
  std::function<void(ServiceId)> enqueue_;
};

// The Service's endpoints from its cached pods: pods without an IP are
// skipped, terminating pods too unless publishNotReadyAddresses
// (ShouldPodBeInEndpoints, #89056 for EndpointSlices); Ready pods (every pod
// with publishNotReadyAddresses) in `addresses`, the rest in
// `not_ready_addresses`, each sorted by IP, TargetRef carrying the pod RV.
// When both lists are exactly `current`'s (a resync's sync of an unchanged
// Service), the desired object shares current's address block instead of
// a new one (models/endpoint_addresses.h).
Endpoints desired_endpoints(ServiceId id, const Service& service, const ServicePodIndex::Pods& pods,
                            const Informer<Pod>& informer, const Endpoints* current = nullptr);

// Whether two address lists are equal; the TargetRef resourceVersion counts
// only with `compare_target_ref_rv` (every release before #108078, 1.24).
bool addresses_equal(std::span<const EndpointAddress> a, std::span<const EndpointAddress> b,
                     bool compare_target_ref_rv);

}  // namespace epsim::models
