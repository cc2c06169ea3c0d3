// The Kubernetes objects the pipeline moves, reduced to the fields that decide
// behaviour. Objects are identified by dense ids (a Service's index, a Pod's
// index) so that stores and caches are vectors, not maps: 13k Services and
// their pods must cost a few MB. Names are the app's business.
#pragma once

#include <cstdint>
#include <span>

#include "models/endpoint_addresses.h"
#include "sim/time.h"

namespace epsim::models {

using ServiceId = std::uint32_t;
// PodId, PodIp and ResourceVersion: models/endpoint_addresses.h.

struct Service {
  ServiceId id = 0;
  bool headless = false;            // spec.clusterIP None: Endpoints get service.kubernetes.io/headless
  bool has_selector = true;         // no selector: the controller leaves its Endpoints alone
  bool publish_not_ready = false;   // spec.publishNotReadyAddresses
  sim::Time creation_time;
  ResourceVersion resource_version = 0;
};

// Fields are ordered for size (no padding between them): the API server
// stores one Pod per pod version (issue 12).
struct Pod {
  PodId id = 0;
  ServiceId service = 0;            // the Service whose selector matches the pod's labels
  PodIp ip = 0;
  // spec.nodeName as an index; 16 bits hold every node of a cluster within
  // Kubernetes' supported 5,000 (the Deployments model uses 500).
  std::uint16_t node = 0;
  bool ready = false;
  bool terminating = false;         // deletionTimestamp set
  ResourceVersion resource_version = 0;
  sim::Time ready_transition;       // Ready condition lastTransitionTime
  sim::Time deletion_timestamp;
};
static_assert(sizeof(Pod) <= 40, "a Pod grew: every pod version in the API server pays for it");

// Fields are ordered for size, as Pod's.
struct Endpoints {
  ServiceId service = 0;
  // Labels: the Service's own labels are copied; the only label that can
  // differ is the one the controller adds to headless Services' Endpoints.
  bool headless_label = false;
  // endpoints.kubernetes.io/last-change-trigger-time; absent when !has_trigger_time.
  bool has_trigger_time = false;
  // Not content: an API server's object store keeps the reference count of
  // the version in this slot here, in what was padding, so a write that
  // replaces a version it reads touches one cache line, not two
  // (models/object_store.h). A copy's value means nothing.
  mutable std::uint16_t store_references = 0;
  ResourceVersion resource_version = 0;
  sim::Time trigger_time;
  EndpointAddresses subsets;  // addresses and notReadyAddresses, each sorted by IP (RepackSubsets); shared by copies

  std::span<const EndpointAddress> addresses() const { return subsets.ready(); }
  std::span<const EndpointAddress> not_ready_addresses() const { return subsets.not_ready(); }
  void set_addresses(std::span<const EndpointAddress> ready, std::span<const EndpointAddress> not_ready = {}) {
    subsets.assign(ready, not_ready);
  }

  // Equality of everything the API server stores (its no-op test compares
  // encoded bytes: all fields but the resourceVersion).
  bool same_content(const Endpoints& o) const {
    return subsets == o.subsets && headless_label == o.headless_label && has_trigger_time == o.has_trigger_time &&
           (!has_trigger_time || trigger_time == o.trigger_time);
  }
};
static_assert(sizeof(Endpoints) <= 32, "Endpoints grew: every version in the API server pays for it");

}  // namespace epsim::models
