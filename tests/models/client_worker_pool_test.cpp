// The client worker pool every endpoints writer shares (docs/model.md §6,
// §9), on its own: a sync function that creates each key's Endpoints once,
// an API server with a fixed latency, and expectations computed by hand from
// the token bucket, client-go's Retry-After rule and handleErr.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <span>
#include <vector>

#include "api_test_support.h"
#include "models/client_worker_pool.h"

using namespace epsim::models;
using epsim::sim::Duration;
using epsim::sim::MetricsRegistry;
using epsim::sim::Simulator;
using epsim::sim::Time;

namespace {

struct Counts : ClientWorkerPoolListener {
  int settled = 0;
  int noop = 0;
  int keys_done = 0;
  void on_settled(const ClientWrite&, const ApiResponse& r) override {
    ++settled;
    noop += r.noop ? 1 : 0;
  }
  void on_key_done() override { ++keys_done; }
};

// A pool in front of an API server whose every request takes `latency`.
struct Bench {
  Simulator sim;
  MetricsRegistry metrics;
  std::unique_ptr<ApiServer> api;
  std::unique_ptr<ClientWorkerPool> pool;
  std::set<Key> skip;  // keys the sync finds right already
  Counts counts;

  explicit Bench(ClientWorkerPoolConfig config, std::size_t keys = 64, Duration latency = Duration::milliseconds(10),
                 int max_inflight = 200) {
    ApiServerConfig a = epsim::test::fixed_latency(latency);
    a.max_mutating_requests_inflight = max_inflight;
    api = std::make_unique<ApiServer>(sim, metrics, 1, "c1", a);
    // Create the key's Endpoints (one address, IP key + 1) unless it is there.
    pool = std::make_unique<ClientWorkerPool>(sim, metrics, *api, std::move(config), keys,
                                              [this](Key key) -> std::optional<ClientWrite> {
                                                if (skip.count(key) > 0 || api->endpoints(key) != nullptr) {
                                                  return std::nullopt;
                                                }
                                                ClientWrite w;
                                                w.verb = Verb::create;
                                                w.object.service = key;
                                                w.object.set_addresses(std::vector<EndpointAddress>{{key + 1, key, 0}});
                                                return w;
                                              });
    pool->set_listener(&counts);
    pool->begin_term(Time::zero());
  }
  void run_to(Duration d) { sim.run_until(Time::zero() + d); }
};

ClientWorkerPoolConfig config(int workers, double qps, int burst) {
  ClientWorkerPoolConfig c;
  c.queue_name = "test";
  c.user_agent = "test-client";
  c.workers = workers;
  c.kube_api_qps = qps;
  c.kube_api_burst = burst;
  return c;
}

}  // namespace

TEST_CASE("client worker pool: writes leave at the client bucket's pace, one per key") {
  // 20 keys, 4 workers, qps 10, burst 3: three tokens at once, then one
  // every 100 ms, so the i-th request leaves at max(0, i - 2) / 10 s (10 ms
  // requests never make a worker the bottleneck).
  Bench b(config(4, 10, 3));
  for (Key k = 0; k < 20; ++k) b.pool->queue().add(k);
  b.run_to(Duration::seconds(10));
  CHECK(b.pool->syncs_total() == 20);
  CHECK(b.pool->writes_total() == 20);
  CHECK(b.pool->responses_total() == 20);
  CHECK(b.counts.settled == 20);
  CHECK(b.counts.keys_done == 20);
  std::vector<double> sent_s;
  for (Key k = 0; k < 20; ++k) {
    REQUIRE(b.pool->writes().writes_of(k).size() == 1);
    const StageWrite& w = b.pool->writes().writes_of(k)[0];
    CHECK(std::vector<PodIp>(w.ready_ips.begin(), w.ready_ips.end()) == std::vector<PodIp>{k + 1});
    CHECK(w.stored - w.sent == Duration::milliseconds(10));
    sent_s.push_back(w.sent.seconds_f());
  }
  std::sort(sent_s.begin(), sent_s.end());
  for (std::size_t i = 0; i < sent_s.size(); ++i) {
    CAPTURE(i);
    CHECK(sent_s[i] == doctest::Approx(std::max(0.0, (static_cast<double>(i) - 2) / 10)).epsilon(1e-6));
  }
  // Some worker waited for a token from the 4th request to the last: [0, 1.7 s).
  CHECK(b.pool->bucket_waits().covered(Time::zero(), Time::zero() + Duration::seconds(10)) ==
        Duration::milliseconds(1700));
  CHECK(b.pool->queue().idle());
}

TEST_CASE("client worker pool: a key the sync finds right costs a sync and no request") {
  Bench b(config(2, 10, 3));
  b.skip = {1, 3};
  for (Key k = 0; k < 5; ++k) b.pool->queue().add(k);
  b.run_to(Duration::seconds(5));
  CHECK(b.pool->syncs_total() == 5);
  CHECK(b.pool->writes_total() == 3);
  CHECK(b.api->requests_total() == 3);
  CHECK(b.counts.keys_done == 5);
  CHECK(b.pool->writes().writes_of(1).empty());
}

TEST_CASE("client worker pool: a 429 is sent 10 times in all, then the queue retries the key") {
  // An API server that refuses every mutating request answers 429 with
  // Retry-After 1 s: attempts at 0 s .. 9 s (client-go rest/request.go
  // maxRetries 10), then handleErr's AddRateLimited brings the key back
  // after the rate limiter's 5 ms base delay and a second sync starts over.
  Bench b(config(1, 100, 100), 4, Duration::milliseconds(10), 0);
  b.pool->queue().add(0);
  b.run_to(Duration::milliseconds(8500));
  CHECK(b.api->requests_total() == 9);
  CHECK(b.pool->syncs_total() == 1);
  b.run_to(Duration::milliseconds(9500));
  CHECK(b.api->requests_total() == 11);
  CHECK(b.pool->syncs_total() == 2);
  // A 429 settles nothing: no write counted, nothing for the listener.
  CHECK(b.pool->writes_total() == 0);
  CHECK(b.counts.settled == 0);
  CHECK(b.counts.keys_done == 1);
}

TEST_CASE("client worker pool: an error is retried maxRetries times, then the key is dropped") {
  // The Endpoints already exists: every create is a 409 Conflict. handleErr
  // requeues while NumRequeues < maxRetries (3 here): 4 syncs in all.
  ClientWorkerPoolConfig c = config(1, 100, 100);
  c.max_retries = 3;
  Bench b(c, 4);
  Endpoints existing;
  existing.service = 0;
  b.api->seed_endpoints(existing);
  b.pool = std::make_unique<ClientWorkerPool>(b.sim, b.metrics, *b.api, c, 4, [](Key key) {
    ClientWrite w;
    w.verb = Verb::create;
    w.object.service = key;
    return std::optional<ClientWrite>(w);
  });
  b.pool->set_listener(&b.counts);
  b.pool->begin_term(Time::zero());
  b.pool->queue().add(0);
  b.run_to(Duration::minutes(1));
  CHECK(b.pool->syncs_total() == 4);
  CHECK(b.pool->responses_total() == 4);
  CHECK(b.pool->writes_total() == 4);  // settled, if not successful
  CHECK(b.counts.settled == 4);
  CHECK(b.pool->writes().writes_of(0).empty());
  CHECK(b.pool->queue().idle());
  CHECK(b.pool->queue().num_requeues(0) == 0);  // forgotten
}

TEST_CASE("client worker pool: a new term orphans a request in flight, whose write still counts as stored") {
  // A 1 s request sent at 0 s; the term ends at 0.5 s. The answer at 1 s is
  // nobody's (no settled write, no listener call), but the Endpoints is in
  // storage, so the write log has it.
  Bench b(config(2, 10, 3), 4, Duration::seconds(1));
  b.pool->queue().add(0);
  b.run_to(Duration::milliseconds(500));
  CHECK(b.api->requests_total() == 1);
  b.pool->begin_term(b.sim.now());
  CHECK(b.pool->queue().len() == 0);
  b.run_to(Duration::seconds(2));
  CHECK(b.pool->responses_total() == 1);
  CHECK(b.pool->stale_responses() == 1);
  CHECK(b.pool->writes_total() == 0);
  CHECK(b.counts.settled == 0);
  REQUIRE(b.pool->writes().writes_of(0).size() == 1);
  CHECK(b.pool->writes().writes_of(0)[0].stored == Time::zero() + Duration::seconds(1));
  // The new term syncs the key again and finds it right.
  b.pool->queue().add(0);
  b.run_to(Duration::seconds(3));
  CHECK(b.pool->syncs_total() == 2);
  CHECK(b.api->requests_total() == 1);
}

TEST_CASE("client worker pool: rest_client metrics only when asked, labelled as client-go labels them") {
  ClientWorkerPoolConfig with = config(2, 100, 100);
  with.rest_client_metrics_cluster = "c1";
  Bench b(with);
  for (Key k = 0; k < 7; ++k) b.pool->queue().add(k);
  b.run_to(Duration::seconds(5));
  CHECK(b.metrics.value("rest_client_requests_total",
                        {{"cluster", "c1"}, {"code", "201"}, {"method", "POST"}, {"host", "c1-apiserver"}}) == 7);
  const auto& family = b.metrics.families().at("rest_client_request_duration_seconds");
  REQUIRE(family.histograms.size() == 1);

  Bench quiet(config(2, 100, 100));
  for (Key k = 0; k < 7; ++k) quiet.pool->queue().add(k);
  quiet.run_to(Duration::seconds(5));
  CHECK(quiet.pool->writes_total() == 7);
  CHECK(quiet.metrics.families().count("rest_client_requests_total") == 0);
}

TEST_CASE("client worker pool: the look-ahead gets each key kLookAhead[stage] takes before the key is synced") {
  // One worker takes the keys in FIFO order. At every kLookAheadBatch-th
  // take (the first included: n = 0, B, 2B...), stage s sees the keys that
  // will be synced kLookAhead[s] to kLookAhead[s] + B - 1 takes later.
  // The keys are queued in a shuffled order, as a resync's.
  constexpr std::size_t kKeys = 40;
  constexpr std::size_t kBatch = ClientWorkerPool::kLookAheadBatch;
  struct Seen {
    std::size_t take;  // keys synced before it
    Key key;
    int stage;
  };
  Bench b(config(1, 1000, 1000), kKeys);
  std::vector<Key> synced;
  std::vector<Seen> seen;
  b.pool = std::make_unique<ClientWorkerPool>(b.sim, b.metrics, *b.api, config(1, 1000, 1000), kKeys,
                                              [&](Key key) -> std::optional<ClientWrite> {
                                                synced.push_back(key);
                                                return std::nullopt;
                                              });
  // Called after a key is taken and before it is synced.
  b.pool->set_prefetch([&](std::span<const Key> keys, int stage) {
    CHECK(!keys.empty());
    CHECK(keys.size() <= kBatch);
    for (const Key key : keys) seen.push_back({synced.size(), key, stage});
  });
  b.pool->begin_term(Time::zero());
  std::vector<Key> order(kKeys);
  for (Key k = 0; k < kKeys; ++k) order[k] = (k * 17) % kKeys;  // 17 is prime to 40: a permutation
  for (const Key k : order) b.pool->queue().add(k);
  b.run_to(Duration::seconds(10));
  REQUIRE(synced == order);
  std::vector<std::vector<Key>> per_stage(ClientWorkerPool::kLookAhead.size());
  for (const Seen& s : seen) {
    const std::size_t ahead = ClientWorkerPool::kLookAhead[static_cast<std::size_t>(s.stage)];
    CHECK(s.take % kBatch == 0);
    const std::size_t synced_at =
        static_cast<std::size_t>(std::find(synced.begin(), synced.end(), s.key) - synced.begin());
    CHECK(synced_at >= s.take + ahead);
    CHECK(synced_at < s.take + ahead + kBatch);
    per_stage[static_cast<std::size_t>(s.stage)].push_back(s.key);
  }
  // Every stage saw every key at least that far behind the first, once, in
  // the order they are synced.
  for (std::size_t stage = 0; stage < per_stage.size(); ++stage) {
    const std::size_t ahead = ClientWorkerPool::kLookAhead[stage];
    CHECK(per_stage[stage] == std::vector<Key>(synced.begin() + static_cast<std::ptrdiff_t>(ahead), synced.end()));
  }
}
