// ingress-nginx on its own (docs/model.md §11): an access API server with
// fixed latencies, Endpoints written by hand, and the times a sync must take
// by the controller's rules: the watch delay, the --sync-rate-limit bucket
// (0.3/s, burst 1), a config build and a POST (dynamic) or a reload (legacy)
// whose costs grow with the backends, and the workers' 1 s Lua timers.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "api_test_support.h"
#include "models/ingress_nginx.h"
#include "models/traffic.h"

using namespace epsim::models;
using epsim::test::endpoints;
using epsim::sim::Duration;
using epsim::sim::MetricsRegistry;
using epsim::sim::Simulator;
using epsim::sim::Time;

namespace {

constexpr std::uint32_t kBackends = 4;

// Four backends of one ready IP each; the access API server stores a write
// 10 ms after it is sent and tells watchers 100 ms later.
struct Bench {
  Simulator sim;
  MetricsRegistry metrics;
  std::unique_ptr<ApiServer> access;
  std::unique_ptr<Traffic> traffic;
  std::unique_ptr<IngressNginx> ingress;
  epsim::test::IgnoreResponses client;
  std::vector<Endpoints> planned;  // writes scheduled by write_at, by index

  explicit Bench(IngressNginxConfig config) {
    access = std::make_unique<ApiServer>(sim, metrics, 1, "access",
                                         epsim::test::fixed_latency(Duration::milliseconds(10)));
    for (ServiceId s = 0; s < kBackends; ++s) access->seed_endpoints(endpoints(s, {10 + s}));
    traffic = std::make_unique<Traffic>(sim, 1, TrafficConfig{}, config.worker_processes);
    for (std::uint32_t b = 0; b < kBackends; ++b) traffic->add_backend(1);
    ingress = std::make_unique<IngressNginx>(sim, metrics, *access, *traffic, 1, config, kBackends);
    ingress->start_steady();
  }
  void write_at(Duration at, const Endpoints& e) {
    planned.push_back(e);
    const std::size_t i = planned.size() - 1;
    sim.schedule_at(Time::zero() + at,
                    [this, i] { access->write_endpoints(Verb::update, planned[i], 0, &client, 0, "test"); });
  }
  void run_to(Duration d) { sim.run_until(Time::zero() + d); }
};

// build + POST of kBackends backends at the defaults: (20 ms + 4 x 10 us) + (5 ms + 4 x 5 us).
const Duration kDynamicCost = Duration::microseconds(20'040 + 5'020);

}  // namespace

TEST_CASE("ingress-nginx: a changed backend is POSTed once the sync rate limiter allows, and every worker takes it") {
  Bench b({});
  b.write_at(Duration::seconds(1), endpoints(2, {12, 99}));
  b.write_at(Duration::milliseconds(1500), endpoints(3, {13, 98}));
  b.run_to(Duration::seconds(10));
  REQUIRE(b.ingress->syncs().size() == 2);
  // Seen at 1 s + 10 ms + 100 ms; the bucket starts full: read at once.
  const IngressSync& first = b.ingress->syncs()[0];
  const Time seen = Time::zero() + Duration::milliseconds(1110);
  CHECK(first.version == 1);
  CHECK(first.event == seen);
  CHECK(first.read_at == seen);
  CHECK(first.applied_at == seen + kDynamicCost);
  CHECK(first.changed_backends == 1);
  // The second change waits for the next token: 1 / 0.3 s after the first read.
  const IngressSync& second = b.ingress->syncs()[1];
  CHECK(second.read_at.seconds_f() == doctest::Approx(seen.seconds_f() + 1 / 0.3).epsilon(1e-6));
  CHECK(second.applied_at == second.read_at + kDynamicCost);
  CHECK(b.ingress->running(2) == std::vector<PodIp>{12, 99});
  CHECK(b.ingress->running(3) == std::vector<PodIp>{13, 98});
  // Each worker takes a POST on its first 1 s Lua tick after it.
  for (int w = 0; w < b.ingress->workers(); ++w) {
    CAPTURE(w);
    for (const IngressSync& s : b.ingress->syncs()) {
      const Time pickup = b.ingress->worker_pickup(w, s.version);
      CHECK(pickup > s.applied_at);
      CHECK(pickup <= s.applied_at + Duration::seconds(1));
    }
    CHECK(b.ingress->worker_version(w) == 2);
  }
  CHECK(b.ingress->reloads() == 0);
}

TEST_CASE("ingress-nginx: an event that changes no ready address applies nothing") {
  Bench b({});
  b.write_at(Duration::seconds(1), endpoints(1, {11}, {77}));  // a not-ready address only
  b.run_to(Duration::seconds(10));
  CHECK(b.ingress->syncs().empty());
  CHECK(b.ingress->version() == 0);
  CHECK(b.ingress->running(1) == std::vector<PodIp>{11});
}

TEST_CASE(
    "ingress-nginx before 0.18 reloads, and its draining worker keeps the old upstreams until the shutdown timeout") {
  IngressNginxConfig c;
  c.dynamic_configuration = false;
  c.worker_shutdown_timeout = Duration::seconds(10);
  c.draining_share = 0.25;  // one worker of four
  Bench b(c);
  b.write_at(Duration::seconds(1), endpoints(0, {10, 50}));
  b.run_to(Duration::seconds(30));
  REQUIRE(b.ingress->syncs().size() == 1);
  const IngressSync& s = b.ingress->syncs()[0];
  // build (20 ms + 4 x 10 us) + reload (200 ms + 4 x 100 us).
  CHECK(s.applied_at == s.read_at + Duration::microseconds(20'040 + 200'400));
  CHECK(b.ingress->reloads() == 1);
  CHECK(b.metrics.value("nginx_ingress_controller_success", ingress_controller_labels("access")) == 1);
  CHECK(b.ingress->worker_pickup(0, 1) == s.applied_at + Duration::seconds(10));
  for (int w = 1; w < 4; ++w) CHECK(b.ingress->worker_pickup(w, 1) == s.applied_at);
}
