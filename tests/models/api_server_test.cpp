#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "api_test_support.h"
#include "models/api_server.h"

using namespace epsim::models;
using epsim::sim::Duration;
using epsim::sim::MetricsRegistry;
using epsim::sim::Simulator;
using epsim::sim::Time;
using epsim::test::fixed_latency;

namespace {

struct Recorder : ApiClient {
  struct Entry {
    std::uint64_t tag;
    ApiResponse response;
    Time at;
  };
  Simulator* sim = nullptr;
  std::vector<Entry> responses;
  void on_response(std::uint64_t tag, const ApiResponse& r) override { responses.push_back({tag, r, sim->now()}); }
};

struct EndpointsWatch : WatchSink<Endpoints> {
  Simulator* sim = nullptr;
  std::vector<std::pair<WatchEventType, Time>> events;
  void on_watch_event(WatchEventType t, const ObjectStore<Endpoints>&, VersionHandle) override {
    events.emplace_back(t, sim->now());
  }
};

Endpoints endpoints_with(PodIp ip) {
  Endpoints e;
  e.service = 0;
  e.set_addresses(std::vector<EndpointAddress>{{ip, 1, 7}});
  return e;
}

}  // namespace

TEST_CASE("an update that changes nothing is a no-op: no new resourceVersion and no watch event") {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServer api(sim, metrics, 1, "idc", fixed_latency(Duration::milliseconds(10)));
  Recorder client;
  client.sim = &sim;
  EndpointsWatch watch;
  watch.sim = &sim;
  api.watch_endpoints(&watch);
  api.seed_endpoints(endpoints_with(10));
  const ResourceVersion rv = api.endpoints(0)->resource_version;

  api.write_endpoints(Verb::update, endpoints_with(10), rv, &client, 1, "endpoint-controller");
  sim.run_until(Time::zero() + Duration::seconds(1));
  REQUIRE(client.responses.size() == 1);
  CHECK(client.responses[0].response.code == 200);
  CHECK(client.responses[0].response.noop);
  CHECK(client.responses[0].at == Time::zero() + Duration::milliseconds(10));
  CHECK(api.endpoints(0)->resource_version == rv);
  CHECK(watch.events.empty());
  CHECK(api.noop_updates() == 1);

  // A real change: new RV, and the watch sees it after the watch delay.
  api.write_endpoints(Verb::update, endpoints_with(11), rv, &client, 2, "endpoint-controller");
  sim.run_until(Time::zero() + Duration::seconds(2));
  REQUIRE(client.responses.size() == 2);
  CHECK_FALSE(client.responses[1].response.noop);
  CHECK(api.endpoints(0)->resource_version > rv);
  REQUIRE(watch.events.size() == 1);
  CHECK(watch.events[0].first == WatchEventType::modified);
  CHECK(watch.events[0].second == client.responses[1].at + Duration::milliseconds(100));
  CHECK(metrics.value("apiserver_request_total", {{"client", "endpoint-controller"},
                                                  {"cluster", "idc"},
                                                  {"code", "200"},
                                                  {"resource", "endpoints"},
                                                  {"verb", "PUT"}}) == 2);
}

TEST_CASE("with no-op elision switched off an identical update still bumps the resourceVersion") {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServerConfig config = fixed_latency(Duration::milliseconds(10));
  config.noop_update_elision = false;
  ApiServer api(sim, metrics, 1, "idc", config);
  Recorder client;
  client.sim = &sim;
  api.seed_endpoints(endpoints_with(10));
  const ResourceVersion rv = api.endpoints(0)->resource_version;
  api.write_endpoints(Verb::update, endpoints_with(10), rv, &client, 1, "endpoint-controller");
  sim.run_until(Time::zero() + Duration::seconds(1));
  CHECK_FALSE(client.responses.at(0).response.noop);
  CHECK(api.endpoints(0)->resource_version > rv);
}

TEST_CASE("a stale resourceVersion precondition gets 409 Conflict") {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServer api(sim, metrics, 1, "idc", fixed_latency(Duration::milliseconds(10)));
  Recorder client;
  client.sim = &sim;
  api.seed_endpoints(endpoints_with(10));
  const ResourceVersion rv = api.endpoints(0)->resource_version;
  api.write_endpoints(Verb::update, endpoints_with(11), rv, &client, 1, "endpoint-controller");
  api.write_endpoints(Verb::update, endpoints_with(12), rv, &client, 2, "endpoint-controller");
  sim.run_until(Time::zero() + Duration::seconds(1));
  REQUIRE(client.responses.size() == 2);
  CHECK(client.responses[0].response.code == 200);
  CHECK(client.responses[1].response.code == 409);
  CHECK(api.endpoints(0)->addresses()[0].ip == 11);
}

TEST_CASE("the write processor serialises requests at mutatingThroughput") {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServerConfig config = fixed_latency(Duration::milliseconds(10));
  config.mutating_throughput = 10;  // 100 ms per request
  ApiServer api(sim, metrics, 1, "idc", config);
  Recorder client;
  client.sim = &sim;
  api.seed_endpoints(endpoints_with(10));
  for (int i = 0; i < 5; ++i) api.write_endpoints(Verb::update, endpoints_with(10), 0, &client, i, "c");
  CHECK(api.mutating_inflight() == 5);
  sim.run_until(Time::zero() + Duration::seconds(10));
  REQUIRE(client.responses.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(client.responses[i].at == Time::zero() + Duration::milliseconds(100 * (i + 1) + 10));
  }
  CHECK(api.mutating_inflight() == 0);
}

TEST_CASE("beyond max-mutating-requests-inflight requests get 429 with Retry-After 1s at once") {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServerConfig config = fixed_latency(Duration::seconds(1));
  config.max_mutating_requests_inflight = 3;
  ApiServer api(sim, metrics, 1, "idc", config);
  Recorder client;
  client.sim = &sim;
  api.seed_endpoints(endpoints_with(10));
  for (int i = 0; i < 5; ++i) api.write_endpoints(Verb::update, endpoints_with(10), 0, &client, i, "c");
  // The two refused ones answer synchronously, before anything ran.
  REQUIRE(client.responses.size() == 2);
  CHECK(client.responses[0].response.code == 429);
  CHECK(client.responses[0].response.retry_after == Duration::seconds(1));
  CHECK(client.responses[1].tag == 4);
  sim.run_until(Time::zero() + Duration::seconds(5));
  CHECK(client.responses.size() == 5);
}

TEST_CASE("request latency follows the configured median and p99") {
  Simulator sim;
  MetricsRegistry metrics;
  ApiServerConfig config;
  config.latency_median = Duration::milliseconds(20);
  config.latency_p99 = Duration::milliseconds(200);
  ApiServer api(sim, metrics, 1, "idc", config);
  Recorder client;
  client.sim = &sim;
  api.seed_endpoints(endpoints_with(10));
  const int n = 4000;
  for (int i = 0; i < n; ++i) api.write_endpoints(Verb::update, endpoints_with(10), 0, &client, i, "c");
  sim.run_until(Time::zero() + Duration::seconds(100));
  REQUIRE(client.responses.size() == static_cast<std::size_t>(n));
  std::vector<double> latencies;
  for (const auto& r : client.responses) latencies.push_back(r.at.seconds_f());
  std::sort(latencies.begin(), latencies.end());
  CHECK(latencies[n / 2] == doctest::Approx(0.020).epsilon(0.1));
  CHECK(latencies[n * 99 / 100] == doctest::Approx(0.200).epsilon(0.25));
}
