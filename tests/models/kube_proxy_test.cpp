// kube-proxy on its own (docs/model.md §14): a business API server with fixed
// latencies, Endpoints (or EndpointSlices) written by hand, and the times the
// proxier's rules must change by the BoundedFrequencyRunner's rules: the
// watch delay, a token bucket of 1/--iptables-min-sync-period per second with
// burst 2, minInterval after the last run returned, and the iptables-restore
// time; a dead IP still listed fails its share of the connections.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "api_test_support.h"
#include "models/kube_proxy.h"

using namespace epsim::models;
using epsim::sim::Duration;
using epsim::sim::MetricsRegistry;
using epsim::sim::Simulator;
using epsim::sim::Time;

namespace {

Endpoints endpoints(ServiceId service, std::vector<PodIp> ready, std::vector<PodIp> not_ready = {}) {
  Endpoints e;
  e.service = service;
  for (const PodIp ip : ready) e.addresses.push_back(EndpointAddress{ip, ip, 0, 1});
  for (const PodIp ip : not_ready) e.not_ready_addresses.push_back(EndpointAddress{ip, ip, 0, 1});
  return e;
}

Time at(double seconds) { return Time::zero() + Duration::from_seconds(seconds); }

// Service 0 has pods 1 and 2, service 1 pod 3. A write is stored 10 ms after
// it is sent and watchers see it 100 ms later; a sync takes 100 ms. The sync
// period is so long that no periodic run falls in the tests' seconds.
struct Bench {
  Simulator sim;
  MetricsRegistry metrics;
  std::unique_ptr<ApiServer> api;
  std::unique_ptr<KubeProxy> proxy;
  epsim::test::IgnoreResponses client;
  std::vector<Endpoints> planned;

  explicit Bench(KubeProxyConfig config) {
    api = std::make_unique<ApiServer>(sim, metrics, 1, "idc", epsim::test::fixed_latency(Duration::milliseconds(10)));
    for (const Endpoints& e : {endpoints(0, {1, 2}), endpoints(1, {3})}) {
      api->seed_endpoints(e);
      api->seed_endpoint_slice(e);
    }
    config.sync_period = Duration::hours(1000);
    config.sync_duration = Duration::milliseconds(100);
    proxy = std::make_unique<KubeProxy>(sim, *api, 1, "idc", config, 2);
    proxy->add_client_service(0, 10);
    proxy->start_steady(at(3600));
  }
  void write_at(double seconds, const Endpoints& e, bool slice = false) {
    planned.push_back(e);
    const std::size_t i = planned.size() - 1;
    if (slice) {
      sim.schedule_at(at(seconds), [this, i] { api->write_endpoint_slice(Verb::update, planned[i], 0, &client, 0, "t"); });
    } else {
      sim.schedule_at(at(seconds), [this, i] { api->write_endpoints(Verb::update, planned[i], 0, &client, 0, "t"); });
    }
  }
  void kill_at(double seconds, PodIp ip) {
    sim.schedule_at(at(seconds), [this, ip] { proxy->set_ip_dead(ip); });
  }
  std::vector<Time> sync_starts(int node, double from_s) const {
    std::vector<Time> out;
    for (const auto& s : proxy->syncs(node)) {
      if (s.started >= at(from_s)) out.push_back(s.started);
    }
    return out;
  }
};

KubeProxyConfig two_nodes() {
  KubeProxyConfig c;
  c.nodes = 2;
  return c;
}

}  // namespace

TEST_CASE("kube-proxy starts with every node's rules listing the stored endpoints") {
  Bench b(two_nodes());
  for (int n = 0; n < 2; ++n) CHECK(b.proxy->programmed(n, 0) == std::vector<PodIp>{1, 2});
  b.sim.run_until(at(10));
  b.proxy->finish();
  CHECK(b.proxy->windows().empty());
  CHECK(b.proxy->expected_connections() == doctest::Approx(100));  // 10/s for 10 s
  CHECK(b.proxy->expected_failures() == 0);
}

TEST_CASE("a removal that reaches every node before the pod dies opens no window") {
  Bench b(two_nodes());
  b.write_at(5, endpoints(0, {2}, {1}));  // pod 1 terminating: not ready
  b.kill_at(6, 1);
  b.sim.run_until(at(10));
  b.proxy->finish();
  // Stored at 5.01, seen at 5.11, both nodes have a token: rules at 5.21.
  for (int n = 0; n < 2; ++n) {
    REQUIRE(b.sync_starts(n, 5).size() == 1);
    CHECK(b.sync_starts(n, 5)[0] == at(5.11));
    CHECK(b.proxy->programmed(n, 0) == std::vector<PodIp>{2});
  }
  CHECK(b.proxy->windows().empty());
}

TEST_CASE("a dead pod still in the rules fails its share of the connections until every node drops it") {
  Bench b(two_nodes());
  b.kill_at(5, 1);
  b.write_at(8, endpoints(0, {2}));
  b.sim.run_until(at(20));
  b.proxy->finish();
  REQUIRE(b.proxy->windows().size() == 1);
  const KubeProxyWindow& w = b.proxy->windows()[0];
  CHECK(w.service == 0);
  CHECK(w.start == at(5));
  // Stored 8.01, seen 8.11, rules on both nodes at 8.21.
  CHECK(w.end == at(8.21));
  CHECK(w.peak_fail_fraction == doctest::Approx(0.5));  // one of two endpoints
  CHECK(w.requests == doctest::Approx(10 * 3.21));
  CHECK(w.failed == doctest::Approx(10 * 0.5 * 3.21));
  CHECK(b.proxy->expected_failures() == doctest::Approx(w.failed));
}

TEST_CASE("--iptables-min-sync-period bounds the runs: burst 2, then minInterval after the last returned") {
  KubeProxyConfig c;
  c.nodes = 1;
  c.min_sync_period = Duration::seconds(1);
  Bench b(c);
  // Changes seen at 10.11, 10.31 and 10.51. Tokens: 2 at 10.11 (run, 1
  // left), 1.2 at 10.31 (run, 0.2 left); at 10.51 0.4: the next token at
  // 11.11, but minInterval after the run that returned at 10.41 is 11.41.
  b.write_at(10.0, endpoints(1, {3, 4}));
  b.write_at(10.2, endpoints(1, {3, 4, 5}));
  b.write_at(10.4, endpoints(1, {3, 4, 5, 6}));
  b.sim.run_until(at(20));
  CHECK(b.sync_starts(0, 10) == std::vector<Time>{at(10.11), at(10.31), at(11.41)});
  // With 0 (the default before 1.19) every change runs at once.
  KubeProxyConfig zero;
  zero.nodes = 1;
  zero.min_sync_period = Duration::zero();
  Bench z(zero);
  z.write_at(10.0, endpoints(1, {3, 4}));
  z.write_at(10.2, endpoints(1, {3, 4, 5}));
  z.write_at(10.4, endpoints(1, {3, 4, 5, 6}));
  z.sim.run_until(at(20));
  CHECK(z.sync_starts(0, 10) == std::vector<Time>{at(10.11), at(10.31), at(10.51)});
}

TEST_CASE("a change that arrives while iptables-restore runs waits for it, then runs") {
  KubeProxyConfig c;
  c.nodes = 1;
  c.min_sync_period = Duration::zero();
  Bench b(c);
  b.write_at(10.0, endpoints(1, {3, 4}));   // seen 10.11, runs to 10.21
  b.write_at(10.05, endpoints(1, {3, 5}));  // seen 10.16, while it runs
  b.sim.run_until(at(20));
  CHECK(b.sync_starts(0, 10) == std::vector<Time>{at(10.11), at(10.21)});
}

TEST_CASE("kube-proxy reads EndpointSlices with EndpointSliceProxying, Endpoints without") {
  KubeProxyConfig c = two_nodes();
  c.read_endpoint_slices = true;
  Bench b(c);
  b.kill_at(5, 1);
  b.write_at(6, endpoints(0, {2}));        // the Endpoints: not what it reads
  b.write_at(9, endpoints(0, {2}), true);  // the slice: rules at 9.21
  b.sim.run_until(at(20));
  b.proxy->finish();
  REQUIRE(b.proxy->windows().size() == 1);
  CHECK(b.proxy->windows()[0].end == at(9.21));
  // A change that leaves the ready addresses as they were runs nothing.
  KubeProxyConfig e = two_nodes();
  Bench same(e);
  same.write_at(5, endpoints(0, {1, 2}, {7}));  // a not-ready address only
  same.sim.run_until(at(20));
  CHECK(same.sync_starts(0, 1).empty());
}
