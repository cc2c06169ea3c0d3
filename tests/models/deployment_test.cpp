// Deployments on their own: a rollout replaces every pod within the
// rolling-update bounds, the pods it writes carry the model's view, and the
// status churn's live-pod list is kept only once churn starts.
#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "api_test_support.h"
#include "models/api_server.h"
#include "models/deployment.h"
#include "sim/metrics.h"
#include "sim/simulator.h"

using namespace epsim::models;
using epsim::sim::Duration;
using epsim::sim::MetricsRegistry;
using epsim::sim::Simulator;
using epsim::sim::Time;
using epsim::test::fixed_latency;

namespace {

struct Bench {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServer api{sim, metrics, 1, "idc", fixed_latency(Duration::milliseconds(10))};
  Deployments deployments{sim, api, 1, "idc"};

  // `services` Services of `replicas` pods each, seeded ready.
  Bench(std::uint32_t services, int replicas) {
    WorkloadSpec w;
    w.replicas = replicas;
    Service first;
    deployments.add_services(first, services, w);
  }
  void run_to(Duration d) { sim.run_until(Time::zero() + d); }
};

}  // namespace

TEST_CASE("deployments: seeded pods are ready in the API server, one node after another") {
  Bench b(3, 2);
  CHECK(b.deployments.live_pods() == 6);
  for (PodId id = 0; id < 6; ++id) {
    const Pod* pod = b.api.pod(id);
    REQUIRE(pod != nullptr);
    CHECK(pod->id == id);
    CHECK(pod->service == id / 2);
    CHECK(pod->ready);
    CHECK_FALSE(pod->terminating);
    CHECK(pod->node == id);  // the i-th pod created goes to node i mod 500
    CHECK(pod->ip == b.deployments.pod_records()[id].ip);
  }
  const Endpoints* e = b.api.endpoints(1);
  REQUIRE(e != nullptr);
  REQUIRE(e->addresses().size() == 2);
  CHECK(e->addresses()[0].pod == 2);
  CHECK(e->addresses()[1].pod == 3);
  CHECK(e->addresses()[0].target_ref_resource_version == b.api.pod(2)->resource_version);
}

TEST_CASE("deployments: a rollout replaces every pod and the old ones are deleted") {
  Bench b(1, 4);
  b.deployments.schedule_rollout(0, Time::zero() + Duration::seconds(1));
  b.run_to(Duration::minutes(10));
  // 4 replicas: maxSurge ceil(1) = 1, maxUnavailable floor(1) = 1; every old
  // pod replaced, the new ones ready, the old ones gone from the API server.
  CHECK(b.deployments.live_pods() == 4);
  REQUIRE(b.deployments.pod_records().size() == 8);
  for (PodId id = 0; id < 4; ++id) {
    CHECK(b.api.pod(id) == nullptr);
    CHECK(b.deployments.pod_records()[id].dead_at < Time::max());
  }
  for (PodId id = 4; id < 8; ++id) {
    const Pod* pod = b.api.pod(id);
    REQUIRE(pod != nullptr);
    CHECK(pod->ready);
    CHECK(pod->node == id);
    // Its ready condition moved when the readiness delay (10 s) was over.
    CHECK(pod->ready_transition - b.deployments.pod_records()[id].created == Duration::seconds(10) +
                                                                                 Duration::milliseconds(10));
  }
  REQUIRE(b.deployments.rollouts().size() == 1);
  CHECK(b.deployments.rollouts()[0].finished < Time::max());
}

TEST_CASE("deployments: status churn starts before any pod is deleted, and updates only resourceVersions") {
  // ~1 update per pod per second for 10 minutes, and a rollout at 1 s that
  // replaces Service 0's two pods (0, 1) by two new ones (4, 5) within a
  // minute (10 s readiness each, one surge pod at a time).
  Bench churned(2, 2);
  churned.deployments.start_status_churn(3600.0, Time::zero() + Duration::minutes(10));
  std::vector<ResourceVersion> seeded;
  for (PodId id = 0; id < 4; ++id) seeded.push_back(churned.api.pod(id)->resource_version);
  churned.deployments.schedule_rollout(0, Time::zero() + Duration::seconds(1));
  churned.run_to(Duration::minutes(3));
  REQUIRE(churned.deployments.pod_records().size() == 6);
  CHECK(churned.deployments.live_pods() == 4);
  CHECK(churned.api.pod(0) == nullptr);
  CHECK(churned.api.pod(1) == nullptr);
  // The seeded pods that live on were drawn...
  CHECK(churned.api.pod(2)->resource_version > seeded[2]);
  CHECK(churned.api.pod(3)->resource_version > seeded[3]);
  CHECK(churned.api.pod(2)->ready);
  // ...and so are the pods created after churn started, from then on.
  const ResourceVersion new4 = churned.api.pod(4)->resource_version;
  const ResourceVersion new5 = churned.api.pod(5)->resource_version;
  churned.run_to(Duration::minutes(11));
  CHECK(churned.api.pod(4)->resource_version > new4);
  CHECK(churned.api.pod(5)->resource_version > new5);
  CHECK(churned.api.pod(4)->ready);

  Bench late(1, 2);
  late.deployments.schedule_rollout(0, Time::zero() + Duration::seconds(1));
  late.run_to(Duration::minutes(10));
  CHECK_THROWS_AS(late.deployments.start_status_churn(1.0, Time::zero() + Duration::hours(1)), std::logic_error);
}

namespace {

// The pods the API server deleted, as their watch's DELETED events carry them.
struct DeletedPods : WatchSink<Pod> {
  std::vector<Pod> pods;
  void on_watch_event(WatchEventType type, const ObjectStore<Pod>& store, VersionHandle version) override {
    if (type == WatchEventType::deleted) pods.push_back(store.at(version));
  }
};

}  // namespace

TEST_CASE("deployments: a status or delete write refused with 429 is sent again with the time it was first sent") {
  // Two mutating requests in flight at most, a write processor at 2 per
  // second: rollouts of 8 Services at once keep it refusing writes with
  // Retry-After 1s. The Ready condition's lastTransitionTime is when the
  // readiness probe passed and deletionTimestamp when the pod was deleted,
  // not when the write finally landed.
  Simulator sim;
  MetricsRegistry metrics;
  ApiServerConfig config = fixed_latency(Duration::milliseconds(10));
  config.max_mutating_requests_inflight = 2;
  config.mutating_throughput = 2;
  ApiServer api{sim, metrics, 1, "idc", config};
  Deployments deployments{sim, api, 1, "idc"};
  DeletedPods deleted;
  api.watch_pods(&deleted);
  WorkloadSpec w;
  w.replicas = 2;
  deployments.add_services(Service{}, 8, w);
  for (ServiceId s = 0; s < 8; ++s) deployments.schedule_rollout(s, Time::zero() + Duration::seconds(1));
  sim.run_until(Time::zero() + Duration::minutes(30));

  const auto& records = deployments.pod_records();
  REQUIRE(records.size() == 32);  // 16 seeded, 16 new
  int ready_retried = 0;
  for (PodId id = 16; id < 32; ++id) {
    const Pod* pod = api.pod(id);
    REQUIRE(pod != nullptr);
    REQUIRE(pod->ready);
    // The probe passes readinessDelay (10 s) after the create landed, at or
    // after the pod was created; the status write lands at ready_at.
    CHECK(pod->ready_transition >= records[id].created + w.readiness_delay);
    CHECK(pod->ready_transition <= records[id].ready_at);
    if (records[id].ready_at - pod->ready_transition >= Duration::seconds(1)) ++ready_retried;
  }
  CHECK(ready_retried > 0);  // some status writes waited out a Retry-After

  REQUIRE(deleted.pods.size() == 16);  // every seeded pod
  int delete_retried = 0;
  for (const Pod& pod : deleted.pods) {
    REQUIRE(pod.id < 16);
    CHECK(pod.terminating);
    CHECK(pod.deletion_timestamp > Time::zero() + Duration::seconds(1));  // after the rollout began
    CHECK(pod.deletion_timestamp <= records[pod.id].terminating_at);
    if (records[pod.id].terminating_at - pod.deletion_timestamp >= Duration::seconds(1)) ++delete_retried;
  }
  CHECK(delete_retried > 0);  // some graceful deletes waited out a Retry-After
}

TEST_CASE("deployments: a seeded pod's record follows from its seeding, its IP from the cluster's first IP") {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServer api{sim, metrics, 1, "idc", fixed_latency(Duration::milliseconds(10))};
  const PodIp first_ip = (PodIp{2} << 24) + 1;  // a second business cluster's range
  Deployments deployments{sim, api, 1, "idc", first_ip};
  WorkloadSpec three;
  three.replicas = 3;
  WorkloadSpec none;
  none.replicas = 0;
  WorkloadSpec two;
  two.replicas = 2;
  Service first;
  deployments.add_services(first, 2, three);  // Services 0, 1: pods 0-2, 3-5
  first.id = 2;
  deployments.add_services(first, 1, none);   // Service 2: no pods
  first.id = 3;
  deployments.add_services(first, 2, two);    // Services 3, 4: pods 6-7, 8-9
  const ServiceId expected_service[] = {0, 0, 0, 1, 1, 1, 3, 3, 4, 4};

  const PodRecords records = deployments.pod_records();
  REQUIRE(records.size() == 10);
  PodId id = 0;
  for (const PodRecord& r : records) {  // iteration and indexing agree
    CHECK(r.service == records[id].service);
    CHECK(r.ip == records[id].ip);
    CHECK(r.service == expected_service[id]);
    CHECK(r.ip == first_ip + id);
    CHECK(r.created == Time::zero());
    CHECK(r.ready_at == Time::zero());
    CHECK(r.terminating_at == Time::max());
    CHECK(r.dead_at == Time::max());
    const Pod* pod = api.pod(id);
    REQUIRE(pod != nullptr);
    CHECK(pod->ip == r.ip);
    CHECK(pod->service == r.service);
    ++id;
  }
  CHECK(id == 10);
  CHECK(deployments.touched_services() == 0);
  CHECK_THROWS_AS(records[10], std::out_of_range);
}

TEST_CASE("deployments: a rollout holds the pods of the Service it touches, and the others stay as seeded") {
  // Three Services of two pods; Service 1 (pods 2, 3) rolls out at 1 s:
  // maxSurge ceil(0.5) = 1, maxUnavailable floor(0.5) = 0, so pods 6 and 7
  // replace pods 2 and 3 one at a time.
  Bench b(3, 2);
  b.deployments.schedule_rollout(1, Time::zero() + Duration::seconds(1));
  b.run_to(Duration::minutes(10));
  CHECK(b.deployments.touched_services() == 1);
  const PodRecords records = b.deployments.pod_records();
  REQUIRE(records.size() == 8);
  for (const PodId untouched : {0u, 1u, 4u, 5u}) {
    CHECK(records[untouched].service == untouched / 2);
    CHECK(records[untouched].terminating_at == Time::max());
    CHECK(records[untouched].dead_at == Time::max());
    CHECK(b.api.pod(untouched) != nullptr);
  }
  for (const PodId replaced : {2u, 3u}) {
    CHECK(records[replaced].service == 1);
    CHECK(records[replaced].terminating_at > Time::zero() + Duration::seconds(1));
    // Dead a grace period (30 s) after its deletionTimestamp was stored.
    CHECK(records[replaced].dead_at - records[replaced].terminating_at == Duration::seconds(30));
    CHECK(b.api.pod(replaced) == nullptr);
  }
  for (const PodId created : {6u, 7u}) {
    CHECK(records[created].service == 1);
    CHECK(records[created].ip == created + 1);  // the default first IP is 1
    CHECK(records[created].ready_at < Time::max());
    CHECK(b.api.pod(created)->ready);
  }
  CHECK(b.deployments.live_pods() == 6);
}

TEST_CASE("deployments: a Service seeded twice, or seeded once a rollout created pods, is refused") {
  Bench b(3, 1);
  WorkloadSpec w;
  Service again;
  again.id = 2;
  CHECK_THROWS_AS(b.deployments.add_services(again, 1, w), std::logic_error);
  Service overlapping;  // Services 0 and 1 overlap the seeded 0-2 from below
  CHECK_THROWS_AS(b.deployments.add_services(overlapping, 2, w), std::logic_error);
  Service next;
  next.id = 3;
  b.deployments.add_services(next, 1, w);  // adjacent: fine
  b.deployments.schedule_rollout(0, Time::zero() + Duration::seconds(1));
  b.run_to(Duration::minutes(1));
  next.id = 4;
  CHECK_THROWS_AS(b.deployments.add_services(next, 1, w), std::logic_error);
}
