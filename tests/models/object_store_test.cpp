// The object store (models/object_store.h): one immutable version, many
// readers. A version lives while any reader (the server's current state, a
// watch event in flight, an informer cache) holds it, and its slab slot is
// reused once the last one lets go.
#include <doctest/doctest.h>

#include <stdexcept>
#include <vector>

#include "models/api_server.h"
#include "models/informer.h"
#include "models/object_store.h"
#include "sim/metrics.h"
#include "sim/simulator.h"
#include "api_test_support.h"

using namespace epsim::models;
using epsim::sim::Duration;
using epsim::sim::MetricsRegistry;
using epsim::sim::Simulator;
using epsim::sim::Time;
using epsim::test::endpoints;
using epsim::test::fixed_latency;
using epsim::test::IgnoreResponses;

namespace {

Pod pod(PodId id) {
  Pod p;
  p.id = id;
  p.ip = 100 + id;
  return p;
}

// Remembers what on_update handed over, read during the call (the old
// version must still be the old object then).
struct UpdateLog : InformerHandler<Endpoints> {
  std::vector<PodIp> old_ips, new_ips;
  void on_add(const Endpoints&) override {}
  void on_update(const Endpoints& old_object, const Endpoints& new_object) override {
    REQUIRE(old_object.addresses().size() == 1);
    REQUIRE(new_object.addresses().size() == 1);
    old_ips.push_back(old_object.addresses()[0].ip);
    new_ips.push_back(new_object.addresses()[0].ip);
  }
  void on_delete(const Endpoints&) override {}
};

// One API server whose every write takes 10 ms, and a client for it.
struct Server {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServer api{sim, metrics, 1, "idc", fixed_latency(Duration::milliseconds(10))};
  IgnoreResponses client;
  void update(const Endpoints& e) { api.write_endpoints(Verb::update, e, 0, &client, 0, "endpoint-controller"); }
};

}  // namespace

TEST_CASE("object store: a version shared by N readers is freed exactly when the last one releases it") {
  ObjectStore<Pod> store;
  const VersionHandle v = store.add_version(pod(0), 5);
  CHECK(store.references(v) == 1);
  CHECK(store.at(v).resource_version == 5);  // the version carries the RV it was written at
  constexpr int kReaders = 4;
  for (int i = 0; i < kReaders; ++i) store.retain(v);
  CHECK(store.references(v) == 1 + kReaders);
  store.release(v);  // the writer lets go
  for (int i = 0; i < kReaders; ++i) {
    CHECK(store.live(v));  // kReaders - i readers still hold it
    CHECK(store.live_versions() == 1);
    store.release(v);
  }
  CHECK_FALSE(store.live(v));
  CHECK(store.live_versions() == 0);
  // The freed slot is the next version's: the slab does not grow.
  const VersionHandle w = store.add_version(pod(1), 6);
  CHECK(w == v);
  CHECK(store.slab_slots() == 1);
  CHECK(store.at(w).id == 1);
}

TEST_CASE("object store: the current version per id, and the count of stored ids") {
  ObjectStore<Pod> store;
  const VersionHandle a = store.add_version(pod(3), 1);
  store.set_current(3, a);
  store.release(a);
  CHECK(store.size() == 1);
  CHECK(store.id_space() == 4);  // ids 0..3, three of them holes
  CHECK(store.get(0) == nullptr);
  REQUIRE(store.get(3) != nullptr);
  CHECK(store.get(3)->ip == 103);
  // A new version replaces it: the store's reference moves, the old one is freed.
  const VersionHandle b = store.add_version(pod(3), 2);
  store.set_current(3, b);
  store.release(b);
  CHECK_FALSE(store.live(a));
  CHECK(store.references(b) == 1);
  CHECK(store.get(3)->resource_version == 2);
  store.clear_current(3);
  CHECK(store.size() == 0);
  CHECK(store.get(3) == nullptr);
  CHECK(store.live_versions() == 0);
}

TEST_CASE("object store: a version keeps its address while the slab grows past a chunk") {
  ObjectStore<Pod> store;
  const VersionHandle first = store.add_version(pod(0), 1);
  const Pod* address = &store.at(first);
  // 10,000 versions span several chunks; the first one never moves.
  for (PodId id = 1; id < 10000; ++id) store.add_version(pod(id), id + 1);
  CHECK(&store.at(first) == address);
  CHECK(store.slab_slots() == 10000);
  CHECK(store.at(9999).id == 9999);
}

TEST_CASE("object store: a no-op Endpoints update creates no version") {
  Server s;
  ApiServer& api = s.api;
  api.seed_endpoints(endpoints(0, {10}));
  const ObjectStore<Endpoints>& store = api.endpoints_store();
  const VersionHandle seeded = store.current(0);
  CHECK(store.slab_slots() == 1);
  s.update(endpoints(0, {10}));
  s.sim.run_until(Time::zero() + Duration::seconds(1));
  CHECK(api.noop_updates() == 1);
  CHECK(store.current(0) == seeded);
  CHECK(store.slab_slots() == 1);
  CHECK(store.live_versions() == 1);
}

TEST_CASE("object store: without readers, updates reuse two slab slots") {
  Server s;
  ApiServer& api = s.api;
  api.seed_endpoints(endpoints(0, {10}));
  // Each update is a new version made while the previous is still current
  // (two slots), after which the previous is freed: 2 slots however many updates.
  for (PodIp ip = 11; ip < 21; ++ip) {
    s.update(endpoints(0, {ip}));
    s.sim.run_until(s.sim.now() + Duration::seconds(1));
  }
  CHECK(api.writes_applied() == 10);
  CHECK(api.endpoints(0)->addresses()[0].ip == 20);
  CHECK(api.endpoints_store().slab_slots() == 2);
  CHECK(api.endpoints_store().live_versions() == 1);
}

TEST_CASE("object store: informers of one server share its versions; the old one lives until every cache moved on") {
  Server s;
  ApiServer& api = s.api;
  api.seed_endpoints(endpoints(0, {10}));
  Informer<Endpoints> a("a");
  Informer<Endpoints> b("b");
  UpdateLog log_a, log_b;
  a.add_handler(&log_a);
  b.add_handler(&log_b);
  api.watch_endpoints(&a);
  api.watch_endpoints(&b);
  a.list(api.endpoints_store(), false, api.resource_version());
  b.list(api.endpoints_store(), false, api.resource_version());
  // No copies: both caches point at the server's one version.
  CHECK(a.get(0) == api.endpoints(0));
  CHECK(b.get(0) == api.endpoints(0));
  const VersionHandle seeded = api.endpoints_store().current(0);
  CHECK(api.endpoints_store().references(seeded) == 3);  // server + 2 caches

  s.update(endpoints(0, {11}));
  // Applied at 10 ms, delivered at 110 ms: in between the caches still hold the old version.
  s.sim.run_until(Time::zero() + Duration::milliseconds(50));
  REQUIRE(api.endpoints(0)->addresses().size() == 1);
  REQUIRE(a.get(0)->addresses().size() == 1);
  CHECK(api.endpoints(0)->addresses()[0].ip == 11);
  CHECK(a.get(0)->addresses()[0].ip == 10);
  CHECK(api.endpoints_store().references(seeded) == 2);  // the caches
  CHECK(api.endpoints_store().live_versions() == 2);     // old + new (new held by server and event)
  s.sim.run_until(Time::zero() + Duration::seconds(1));
  CHECK(log_a.old_ips == std::vector<PodIp>{10});
  CHECK(log_a.new_ips == std::vector<PodIp>{11});
  CHECK(log_b.old_ips == std::vector<PodIp>{10});
  CHECK_FALSE(api.endpoints_store().live(seeded));
  CHECK(api.endpoints_store().live_versions() == 1);
  CHECK(a.get(0) == api.endpoints(0));
  CHECK(api.endpoints_store().references(api.endpoints_store().current(0)) == 3);
}

TEST_CASE("object store: an Endpoints version keeps its count in its slot, which a copy does not carry") {
  static_assert(kReferencesInSlot<Endpoints> && !kReferencesInSlot<Pod> && !kReferencesInSlot<Service>);
  ObjectStore<Endpoints> store;
  const VersionHandle a = store.add_version(endpoints(0, {7}), 3);
  store.retain(a);
  store.retain(a);
  CHECK(store.references(a) == 3);
  // A copy of the stored object (a desired object, a request) carries the
  // slot's count; a new version made from it still starts at one.
  const Endpoints copy = store.at(a);
  const VersionHandle b = store.add_version(copy, 4);
  CHECK(b != a);
  CHECK(store.references(b) == 1);
  CHECK(store.references(a) == 3);
  for (int i = 0; i < 3; ++i) store.release(a);
  CHECK_FALSE(store.live(a));
  // The freed slot is the next version's, at one reference.
  const VersionHandle c = store.add_version(copy, 5);
  CHECK(c == a);
  CHECK(store.references(c) == 1);
  CHECK(store.at(c).resource_version == 5);
  // 16 bits hold 65,535 readers; one more is refused, not wrapped to zero.
  for (int i = 1; i < 65535; ++i) store.retain(c);
  CHECK(store.references(c) == 65535);
  CHECK_THROWS_AS(store.retain(c), std::length_error);
  CHECK(store.references(c) == 65535);
  // Counts in a table beside the slots (a Pod) are 32 bits.
  ObjectStore<Pod> pods;
  const VersionHandle p = pods.add_version(pod(1), 1);
  for (int i = 0; i < 70000; ++i) pods.retain(p);
  CHECK(pods.references(p) == 70001);
}
