// The model fixes that came out of the invariant work (issue 6): pod updates
// that overtake each other in the API server, DELETED events that carry the
// deletion's resourceVersion, an informer relisted while watch events are in
// flight, and the workqueue metrics of a queue that goes away. The
// EPSIM_INVARIANT checks themselves abort, so they are exercised by every
// Debug run of the suites (tests/app/invariants_test.cpp runs long random
// scenarios for them).
#include <doctest/doctest.h>

#include <vector>

#include "models/api_server.h"
#include "models/informer.h"
#include "models/work_queue.h"
#include "sim/metrics.h"
#include "sim/simulator.h"
#include "api_test_support.h"

using namespace epsim::models;
using epsim::sim::Duration;
using epsim::sim::Labels;
using epsim::sim::MetricsRegistry;
using epsim::sim::Simulator;
using epsim::sim::Time;
using epsim::test::fixed_latency;

namespace {

struct Recorder : ApiClient {
  std::vector<ApiResponse> responses;
  void on_response(std::uint64_t, const ApiResponse& r) override { responses.push_back(r); }
};

template <class Object>
struct Events : InformerHandler<Object> {
  std::vector<Object> added, updated, deleted;
  void on_add(const Object& o) override { added.push_back(o); }
  void on_update(const Object&, const Object& o) override { updated.push_back(o); }
  void on_delete(const Object& o) override { deleted.push_back(o); }
};

Pod running_pod() {
  Pod p;
  p.id = 0;
  p.ip = 42;
  return p;
}

}  // namespace

TEST_CASE("a pod update applied late writes only its own part: it cannot clear deletionTimestamp or Ready") {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServer api(sim, metrics, 1, "idc", fixed_latency(Duration::milliseconds(10)));
  Recorder client;
  const Pod stale = running_pod();  // what a write sent before the changes below carries
  api.seed_pod(stale);

  Pod ready = stale;
  ready.ready = true;
  ready.ready_transition = Time::zero() + Duration::seconds(1);
  api.write_pod(Verb::update, ready, &client, 0, "kubelet", PodUpdate::status);
  sim.run_until(Time::zero() + Duration::seconds(1));
  Pod deleting = ready;
  deleting.terminating = true;
  deleting.deletion_timestamp = Time::zero() + Duration::seconds(2);
  api.write_pod(Verb::update, deleting, &client, 0, "replicaset-controller", PodUpdate::deletion);
  sim.run_until(Time::zero() + Duration::seconds(2));
  REQUIRE(api.pod(0)->terminating);
  REQUIRE(api.pod(0)->ready);

  // Writes sent before those two, applied after them.
  const ResourceVersion before = api.pod(0)->resource_version;
  api.write_pod(Verb::update, stale, &client, 0, "kubelet", PodUpdate::metadata);
  api.write_pod(Verb::update, stale, &client, 0, "kubelet", PodUpdate::status);
  sim.run_until(Time::zero() + Duration::seconds(3));
  CHECK(client.responses.size() == 4);
  const Pod* stored = api.pod(0);
  CHECK(stored->resource_version > before);
  CHECK(stored->terminating);  // registry/rest/update.go: an update never removes a deletionTimestamp
  CHECK(stored->deletion_timestamp == Time::zero() + Duration::seconds(2));
  CHECK_FALSE(stored->ready);  // a status write does set Ready: that part is the kubelet's
  CHECK(stored->ip == 42);

  // A second deletion keeps the first deletionTimestamp.
  Pod again = *stored;
  again.deletion_timestamp = Time::zero() + Duration::seconds(9);
  api.write_pod(Verb::update, again, &client, 0, "replicaset-controller", PodUpdate::deletion);
  sim.run_until(Time::zero() + Duration::seconds(4));
  CHECK(api.pod(0)->deletion_timestamp == Time::zero() + Duration::seconds(2));
}

TEST_CASE("a metadata-only pod update leaves Ready as it is") {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServer api(sim, metrics, 1, "idc", fixed_latency(Duration::milliseconds(10)));
  Recorder client;
  Pod p = running_pod();
  p.ready = true;
  api.seed_pod(p);
  Pod not_ready = p;
  not_ready.ready = false;
  api.write_pod(Verb::update, not_ready, &client, 0, "kubelet", PodUpdate::metadata);
  sim.run_until(Time::zero() + Duration::seconds(1));
  REQUIRE(client.responses.size() == 1);
  CHECK(client.responses[0].code == 200);
  CHECK(api.pod(0)->ready);
  CHECK(api.pod(0)->resource_version == client.responses[0].resource_version);
}

TEST_CASE("a DELETED watch event carries the deletion's resourceVersion") {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServer api(sim, metrics, 1, "idc", fixed_latency(Duration::milliseconds(10)));
  Recorder client;
  Informer<Pod> informer("pods");
  Events<Pod> events;
  informer.add_handler(&events);
  api.watch_pods(&informer);
  api.seed_pod(running_pod());
  informer.list(api.pod_store(), false, api.resource_version());
  const ResourceVersion created = api.pod(0)->resource_version;
  api.write_pod(Verb::remove, running_pod(), &client, 0, "kubelet");
  sim.run_until(Time::zero() + Duration::seconds(1));
  REQUIRE(client.responses.size() == 1);
  CHECK(client.responses[0].resource_version > created);
  REQUIRE(events.deleted.size() == 1);
  CHECK(events.deleted[0].resource_version == created);  // handlers get the cached (last known) object
  CHECK(informer.last_resource_version() == client.responses[0].resource_version);
  CHECK(informer.get(0) == nullptr);
}

TEST_CASE("an informer listed while watch events are in flight does not get them again") {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServer api(sim, metrics, 1, "idc", fixed_latency(Duration::milliseconds(10)));
  Recorder client;
  Informer<Pod> old_informer("pods/term-1");
  api.watch_pods(&old_informer);
  api.seed_pod(running_pod());
  old_informer.list(api.pod_store(), false, api.resource_version());

  // Two updates applied at 10 ms and 20 ms; their events are due at 110 ms and 120 ms.
  Pod first = running_pod();
  first.ready = true;
  api.write_pod(Verb::update, first, &client, 0, "kubelet", PodUpdate::status);
  Pod second = first;
  second.terminating = true;
  api.write_pod(Verb::update, second, &client, 0, "replicaset-controller", PodUpdate::deletion);
  sim.run_until(Time::zero() + Duration::milliseconds(50));
  REQUIRE(api.pod(0)->terminating);

  // A new term lists at 50 ms, before either event arrives.
  old_informer.set_running(false);
  Informer<Pod> informer("pods/term-2");
  Events<Pod> events;
  informer.add_handler(&events);
  api.watch_pods(&informer);
  informer.list(api.pod_store(), true, api.resource_version());
  CHECK(events.added.size() == 1);
  sim.run_until(Time::zero() + Duration::seconds(1));
  // Without the list's resourceVersion the first event would have rolled
  // the cache back to a pod that is not terminating.
  CHECK(events.updated.empty());
  REQUIRE(informer.get(0) != nullptr);
  CHECK(informer.get(0)->terminating);

  // Later changes arrive as usual.
  api.write_pod(Verb::update, second, &client, 0, "kubelet", PodUpdate::metadata);
  sim.run_until(Time::zero() + Duration::seconds(2));
  CHECK(events.updated.size() == 1);
  CHECK(informer.get(0)->resource_version == api.pod(0)->resource_version);
}

TEST_CASE("a workqueue that goes away takes its keys out of workqueue_depth") {
  Simulator sim;
  MetricsRegistry metrics;
  const Labels labels{{"cluster", "idc"}, {"name", "endpoint"}};
  {
    WorkQueue first(sim, metrics, "idc", "endpoint", 10);
    first.add(1);
    first.add(2);
    CHECK(metrics.value("workqueue_depth", labels) == 2);
    WorkQueue second(sim, metrics, "idc", "endpoint", 10);  // the next leadership term's queue
    second.add(3);
    CHECK(metrics.value("workqueue_depth", labels) == 3);
  }
  CHECK(metrics.value("workqueue_depth", labels) == 0);
  CHECK(metrics.value("workqueue_adds_total", labels) == 3);
}

TEST_CASE("a workqueue knows when its current busy spell began") {
  Simulator sim;
  MetricsRegistry metrics;
  WorkQueue q(sim, metrics, "idc", "endpoint", 10);
  CHECK(q.last_idle_at() == Time::zero());
  sim.run_until(Time::zero() + Duration::seconds(5));
  CHECK(q.last_idle_at() == Time::zero() + Duration::seconds(5));  // idle: now
  q.add(1);
  q.add(2);
  sim.run_until(Time::zero() + Duration::seconds(7));
  Key k = 0;
  REQUIRE(q.try_get(k));
  q.done(k);
  CHECK(q.last_idle_at() == Time::zero() + Duration::seconds(5));  // still busy since 5 s
  REQUIRE(q.try_get(k));
  sim.run_until(Time::zero() + Duration::seconds(8));
  CHECK(q.last_idle_at() == Time::zero() + Duration::seconds(5));  // processing counts as busy
  q.done(k);
  CHECK(q.idle());
  CHECK(q.last_idle_at() == Time::zero() + Duration::seconds(8));
}
