// The pod lister's index against a plain per-Service list: pods added,
// deleted from the front, middle and back, and added again keep the order
// the informer delivered them, and every change hands over its Service.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "models/informer.h"
#include "models/object_store.h"
#include "models/pod_endpoints.h"

namespace {

using epsim::models::Pod;
using epsim::models::PodId;
using epsim::models::ServiceId;
using epsim::models::ServicePodIndex;

Pod pod(PodId id, ServiceId service) {
  Pod p;
  p.id = id;
  p.service = service;
  return p;
}

std::vector<PodId> listed(const ServicePodIndex& index, ServiceId service) {
  std::vector<PodId> out;
  for (const PodId p : index.pods(service)) out.push_back(p);
  return out;
}

}  // namespace

TEST_CASE("the Service pod index keeps delivery order through adds and deletes") {
  std::vector<ServiceId> enqueued;
  ServicePodIndex index(3, [&](ServiceId s) { enqueued.push_back(s); });
  std::vector<std::vector<PodId>> expected(3);
  const auto add = [&](PodId id, ServiceId s) {
    index.on_add(pod(id, s));
    expected[s].push_back(id);
  };
  const auto remove = [&](PodId id, ServiceId s) {
    index.on_delete(pod(id, s));
    expected[s].erase(std::find(expected[s].begin(), expected[s].end(), id));
  };
  add(4, 1);
  add(0, 1);
  add(7, 2);
  add(2, 1);
  add(9, 1);
  remove(0, 1);  // middle
  remove(4, 1);  // front
  remove(9, 1);  // back: the next add goes after 2
  add(5, 1);
  remove(7, 2);  // the only one
  add(8, 2);
  for (ServiceId s = 0; s < 3; ++s) CHECK(listed(index, s) == expected[s]);
  CHECK(enqueued == std::vector<ServiceId>{1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 2});
  index.clear();
  for (ServiceId s = 0; s < 3; ++s) CHECK(listed(index, s).empty());
}

TEST_CASE("the Service pod index keeps its owner's time per Service through clears, apart from the pods") {
  ServicePodIndex index(3, [](ServiceId) {});
  const epsim::sim::Time unseen = epsim::sim::Time::from_ns(-1);
  index.reset_tracked(unseen);
  for (ServiceId s = 0; s < 3; ++s) CHECK(index.tracked(s) == unseen);
  index.on_add(pod(0, 1));
  index.tracked(1) = epsim::sim::Time::from_ns(42);
  index.on_add(pod(1, 1));
  CHECK(listed(index, 1) == std::vector<PodId>{0, 1});
  // A new term clears the pods (a fresh lister) but not the tracker.
  index.clear();
  CHECK(listed(index, 1).empty());
  CHECK(index.tracked(1) == epsim::sim::Time::from_ns(42));
  CHECK(index.tracked(0) == unseen);
  index.on_add(pod(1, 1));
  CHECK(listed(index, 1) == std::vector<PodId>{1});
  CHECK(index.tracked(1) == epsim::sim::Time::from_ns(42));
  index.reset_tracked(unseen);  // a new process
  CHECK(index.tracked(1) == unseen);
  CHECK(listed(index, 1) == std::vector<PodId>{1});
}

TEST_CASE("desired endpoints share the current object's address block only when the lists are exactly its") {
  using namespace epsim::models;
  ObjectStore<Pod> store;
  for (PodId id = 0; id < 2; ++id) {
    Pod p = pod(id, 0);
    p.ip = 10 + id;
    p.ready = true;
    const VersionHandle v = store.add_version(p, 5);
    store.set_current(id, v);
    store.release(v);
  }
  Informer<Pod> informer("pods");
  informer.list(store, false);
  ServicePodIndex index(1, [](ServiceId) {});
  index.rebuild(informer);
  const Service service;

  // Ready pods 10 and 11 at resourceVersion 5: exactly what `current` lists.
  Endpoints current;
  current.set_addresses(std::vector<EndpointAddress>{{10, 0, 5}, {11, 1, 5}});
  const Endpoints same = desired_endpoints(0, service, index.pods(0), informer, &current);
  CHECK(same.subsets == current.subsets);
  CHECK(same.addresses().data() == current.addresses().data());  // one block, two readers
  CHECK(current.subsets.sharers() == 2);

  // The same pods at another TargetRef resourceVersion: a block of its own.
  Endpoints older;
  older.set_addresses(std::vector<EndpointAddress>{{10, 0, 4}, {11, 1, 5}});
  const Endpoints fresh = desired_endpoints(0, service, index.pods(0), informer, &older);
  CHECK(fresh.subsets == current.subsets);
  CHECK(fresh.addresses().data() != older.addresses().data());
  CHECK(older.subsets.sharers() == 1);
  informer.release_all();
}
