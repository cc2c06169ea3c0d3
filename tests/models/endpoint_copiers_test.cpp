// The two components that copy endpoint lists downstream, on their own
// (docs/model.md §9, §10): the multi-cluster sync component, from business
// clusters' Endpoints into the access cluster's, and EndpointSlice mirroring,
// from the access cluster's Endpoints into its slices. API servers with fixed
// latencies, writes made by hand, expectations from the components' rules.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "api_test_support.h"
#include "models/endpoint_slice_mirroring.h"
#include "models/endpoint_sync.h"

using namespace epsim::models;
using epsim::sim::Duration;
using epsim::sim::MetricsRegistry;
using epsim::sim::Simulator;
using epsim::sim::Time;

namespace {

using epsim::test::fixed_latency;
using Ignore = epsim::test::IgnoreResponses;

Endpoints endpoints(ServiceId service, std::vector<PodIp> ips) {
  Endpoints e;
  e.service = service;
  std::vector<EndpointAddress> addresses;
  for (const PodIp ip : ips) addresses.push_back(EndpointAddress{ip, ip, 1});
  e.set_addresses(addresses);
  return e;
}

std::vector<PodIp> ips_of(const Endpoints* e) {
  std::vector<PodIp> out;
  if (e != nullptr) {
    for (const auto& a : e->addresses()) out.push_back(a.ip);
  }
  return out;
}

// Two business clusters (3 and 2 Services, backends 0-2 and 3-4) feeding one
// access cluster whose copies are already up to date.
struct SyncBench {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServer a{sim, metrics, 1, "a", fixed_latency(Duration::milliseconds(10))};
  ApiServer b{sim, metrics, 1, "b", fixed_latency(Duration::milliseconds(10))};
  ApiServer access{sim, metrics, 1, "access", fixed_latency(Duration::milliseconds(10))};
  std::unique_ptr<EndpointSync> sync;
  Ignore client;

  explicit SyncBench(EndpointSyncConfig config) {
    for (ServiceId s = 0; s < 3; ++s) a.seed_endpoints(endpoints(s, {100 + s}));
    for (ServiceId s = 0; s < 2; ++s) b.seed_endpoints(endpoints(s, {200 + s}));
    for (ServiceId s = 0; s < 3; ++s) access.seed_endpoints(endpoints(s, {100 + s}));
    for (ServiceId s = 0; s < 2; ++s) access.seed_endpoints(endpoints(3 + s, {200 + s}));
    sync = std::make_unique<EndpointSync>(sim, metrics, access, config, 5, 1);
    sync->add_source(a, 0, 3, "a");
    sync->add_source(b, 3, 2, "b");
    sync->start_steady(Time::zero() + Duration::hours(10));
  }
  void run_to(Duration d) { sim.run_until(Time::zero() + d); }
};

}  // namespace

TEST_CASE("the sync component copies a business cluster's Endpoints change into its access backend") {
  SyncBench s({});
  s.run_to(Duration::seconds(1));
  // Cluster b's Service 1 is backend 3 + 1 = 4.
  s.b.write_endpoints(Verb::update, endpoints(1, {201, 202}), 0, &s.client, 0, "test");
  s.run_to(Duration::seconds(2));
  CHECK(ips_of(s.access.endpoints(4)) == std::vector<PodIp>{201, 202});
  CHECK(ips_of(s.access.endpoints(1)) == std::vector<PodIp>{101});  // cluster a's Service 1: untouched
  CHECK(s.sync->pool().writes_total() == 1);
  REQUIRE(s.sync->pool().writes().writes_of(4).size() == 1);
  // Stored 10 ms write + 100 ms watch after the business write at 1 s + 10 ms.
  const StageWrite& w = s.sync->pool().writes().writes_of(4)[0];
  CHECK(w.queued == Time::zero() + Duration::milliseconds(1110));
  CHECK(w.stored == w.sent + Duration::milliseconds(10));
  // Deleted upstream, deleted downstream.
  s.a.write_endpoints(Verb::remove, *s.a.endpoints(2), 0, &s.client, 0, "test");
  s.run_to(Duration::seconds(3));
  CHECK(s.access.endpoints(2) == nullptr);
  CHECK(s.sync->pool().writes_total() == 2);
}

TEST_CASE("the sync component's resync writes nothing when it compares first, and every backend when it does not") {
  for (const bool compare : {true, false}) {
    CAPTURE(compare);
    EndpointSyncConfig config;
    config.compare_before_write = compare;
    config.resync_period = Duration::hours(1);
    SyncBench s(config);
    s.run_to(Duration::minutes(61));
    // Both informers resynced at 1 h: every backend enqueued and synced.
    CHECK(s.sync->pool().syncs_total() == 5);
    CHECK(s.sync->pool().writes_total() == (compare ? 0U : 5U));
    // The PUTs of equal copies change nothing in storage.
    CHECK(s.access.noop_updates() == (compare ? 0U : 5U));
  }
}

TEST_CASE("EndpointSlice mirroring follows the access cluster's Endpoints, and ignores resync updates") {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServer access(sim, metrics, 1, "access", fixed_latency(Duration::milliseconds(10)));
  Ignore client;
  access.seed_endpoints(endpoints(0, {10}));
  access.seed_endpoint_slice(endpoints(0, {10}));
  EndpointSliceMirroring mirroring(sim, metrics, access, {}, 4);
  mirroring.start_steady();
  const auto run_to = [&](Duration d) { sim.run_until(Time::zero() + d); };

  // A new Endpoints: its slice is created.
  access.write_endpoints(Verb::create, endpoints(1, {20, 21}), 0, &client, 0, "test");
  run_to(Duration::seconds(1));
  CHECK(ips_of(access.endpoint_slice(1)) == std::vector<PodIp>{20, 21});
  // A changed one: its slice follows.
  access.write_endpoints(Verb::update, endpoints(0, {11}), 0, &client, 0, "test");
  run_to(Duration::seconds(2));
  CHECK(ips_of(access.endpoint_slice(0)) == std::vector<PodIp>{11});
  CHECK(mirroring.pool().writes_total() == 2);
  CHECK(mirroring.pool().config().endpoint_slices);
  // Deleted: so is its slice.
  access.write_endpoints(Verb::remove, *access.endpoints(1), 0, &client, 0, "test");
  run_to(Duration::seconds(3));
  CHECK(access.endpoint_slice(1) == nullptr);
  CHECK(mirroring.pool().writes_total() == 3);
  CHECK(mirroring.pool().syncs_total() == 3);
}
