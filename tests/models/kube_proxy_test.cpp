// kube-proxy on its own (docs/model.md §14): a business API server with fixed
// latencies, Endpoints (or EndpointSlices) written by hand, and the times the
// proxier's rules must change by the BoundedFrequencyRunner's rules: the
// watch delay, a token bucket of 1/--iptables-min-sync-period per second with
// burst 2, minInterval after the last run returned, and the iptables-restore
// time; a dead IP still listed fails its share of the connections.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "api_test_support.h"
#include "models/kube_proxy.h"

using namespace epsim::models;
using epsim::test::endpoints;
using epsim::sim::Duration;
using epsim::sim::MetricsRegistry;
using epsim::sim::Simulator;
using epsim::sim::Time;

namespace {

Time at(double seconds) { return Time::zero() + Duration::from_seconds(seconds); }

// The endpoints controller's endpoints.kubernetes.io/last-change-trigger-time.
Endpoints triggered(Endpoints e, double trigger_s) {
  e.has_trigger_time = true;
  e.trigger_time = at(trigger_s);
  return e;
}

// The bucket of kubeproxy_network_programming_duration_seconds whose upper
// bound is `le`.
std::uint64_t bucket(const epsim::sim::Histogram& h, double le) {
  const auto& bounds = h.upper_bounds();
  const auto it = std::find(bounds.begin(), bounds.end(), le);
  REQUIRE(it != bounds.end());
  return h.bucket_counts()[static_cast<std::size_t>(it - bounds.begin())];
}

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
    proxy = std::make_unique<KubeProxy>(sim, *api, metrics, 1, "idc", config, 2);
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

TEST_CASE("network programming buckets are upstream's: 0, 0.25, 0.5, 1 to 59 by 1, 60 to 115 by 5, 120 to 300 by 30") {
  const std::vector<double>& b = network_programming_buckets();
  REQUIRE(b.size() == 1 + 2 + 59 + 12 + 7);
  CHECK(b[0] == 0);
  CHECK(b[1] == 0.25);
  CHECK(b[2] == 0.5);
  CHECK(b[3] == 1);
  CHECK(b[61] == 59);
  CHECK(b[62] == 60);
  CHECK(b[73] == 115);
  CHECK(b[74] == 120);
  CHECK(b.back() == 300);
  CHECK(std::is_sorted(b.begin(), b.end()));
  CHECK(std::adjacent_find(b.begin(), b.end()) == b.end());
}

TEST_CASE("each node observes the time from a change's trigger time to when its rules take effect") {
  Bench b(two_nodes());
  // Service 1 (no in-cluster clients: every Service counts) triggered at
  // 9.5, stored 10.01, seen 10.11; both nodes run at once, rules at 10.21.
  b.write_at(10.0, triggered(endpoints(1, {3, 4}), 9.5));
  b.sim.run_until(at(20));
  const auto& h = b.proxy->network_programming_duration();
  for (int n = 0; n < 2; ++n) {
    REQUIRE(b.proxy->syncs(n).size() == 1);
    CHECK(b.proxy->syncs(n)[0].applied == at(10.21));
  }
  CHECK(h.count() == 2);  // one per node
  CHECK(h.sum() == doctest::Approx(2 * 0.71));
  CHECK(bucket(h, 1) == 2);  // 0.5 < 0.71 <= 1
  // The series is in the registry with the cluster label.
  const auto& family = b.metrics.families().at("kubeproxy_network_programming_duration_seconds");
  CHECK(family.help == "In Cluster Network Programming Latency in seconds");
  CHECK(family.histograms.count(epsim::sim::Labels{{"cluster", "idc"}}) == 1);
}

TEST_CASE("a change that leaves the ready addresses as they were observes nothing") {
  Bench b(two_nodes());
  Endpoints label_only = triggered(endpoints(0, {1, 2}), 4.0);
  label_only.headless_label = true;
  b.write_at(5, label_only);
  b.write_at(6, triggered(endpoints(1, {3}, {9}), 5.5));  // a not-ready address only
  b.sim.run_until(at(20));
  CHECK(b.proxy->network_programming_duration().count() == 0);
  CHECK(b.proxy->syncs(0).empty());
}

TEST_CASE("every pending change's trigger time is observed, but not those of changes that cancel out") {
  KubeProxyConfig c;
  c.nodes = 1;
  c.min_sync_period = Duration::zero();
  Bench b(c);
  // Service 1 triggered at 9.9: seen 10.11, a run to 10.21.
  b.write_at(10.0, triggered(endpoints(1, {3, 4}), 9.9));
  // While it runs: service 1 twice (seen 10.13 and 10.15), both pending for
  // the next run, 10.21 to 10.31; service 0 loses pod 2 and gets it back
  // (seen 10.14 and 10.16): no change to program, no observation.
  b.write_at(10.02, triggered(endpoints(1, {3, 4, 5}), 10.0));
  b.write_at(10.03, triggered(endpoints(0, {1}), 10.01));
  b.write_at(10.04, triggered(endpoints(1, {3, 4, 5, 6}), 10.02));
  b.write_at(10.05, triggered(endpoints(0, {1, 2}), 10.03));
  b.sim.run_until(at(20));
  REQUIRE(b.proxy->syncs(0).size() == 2);
  CHECK(b.proxy->syncs(0)[1].applied == at(10.31));
  const auto& h = b.proxy->network_programming_duration();
  CHECK(h.count() == 3);
  CHECK(h.sum() == doctest::Approx((10.21 - 9.9) + (10.31 - 10.0) + (10.31 - 10.02)));
  CHECK(bucket(h, 0.5) == 3);  // 0.31, 0.31, 0.29
}

TEST_CASE("with EndpointSliceProxying the slices' trigger times are observed") {
  KubeProxyConfig c = two_nodes();
  c.read_endpoint_slices = true;
  Bench b(c);
  b.write_at(6, triggered(endpoints(0, {2}), 5.0));        // the Endpoints: not what it reads
  b.write_at(9, triggered(endpoints(0, {2}), 3.0), true);  // the slice: rules at 9.21
  b.sim.run_until(at(20));
  const auto& h = b.proxy->network_programming_duration();
  CHECK(h.count() == 2);
  CHECK(h.sum() == doctest::Approx(2 * 6.21));
  CHECK(bucket(h, 7) == 2);  // 6 < 6.21 <= 7
}
