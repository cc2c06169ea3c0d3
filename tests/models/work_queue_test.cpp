// Pins client-go v0.17.3 util/workqueue behaviour (queue.go, delaying_queue.go,
// rate_limiting_queue.go) and its component-base metrics on models::WorkQueue.
// The clock is stepped by hand with run_until; only add_after timers are events.
#include <doctest/doctest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "models/work_queue.h"
#include "sim/metrics.h"
#include "sim/simulator.h"

using epsim::models::Key;
using epsim::models::WorkQueue;
using epsim::sim::Duration;
using epsim::sim::Histogram;
using epsim::sim::Labels;
using epsim::sim::MetricsRegistry;
using epsim::sim::Simulator;
using epsim::sim::Time;

namespace {

Time at_ms(std::int64_t ms) { return Time::zero() + Duration::milliseconds(ms); }
Duration ms(std::int64_t v) { return Duration::milliseconds(v); }

Key get(WorkQueue& q) {
  Key k = 0;
  REQUIRE(q.try_get(k));
  return k;
}

std::vector<Key> drain(WorkQueue& q) {
  std::vector<Key> out;
  Key k = 0;
  while (q.try_get(k)) out.push_back(k);
  return out;
}

const Histogram& histogram(const MetricsRegistry& m, const std::string& name, const std::string& queue) {
  return *m.families().at(name).histograms.at(Labels{{"cluster", "idc"}, {"name", queue}});
}

struct Fixture {
  Simulator sim;
  MetricsRegistry metrics;
  WorkQueue q{sim, metrics, "idc", "test", 16};
  double value(const std::string& name) const { return metrics.value(name, {{"cluster", "idc"}, {"name", "test"}}); }
};

}  // namespace

TEST_CASE("work queue hands keys out in FIFO order") {
  Fixture f;
  for (Key k : {7U, 3U, 9U, 0U}) f.q.add(k);
  CHECK(f.q.len() == 4);
  CHECK(drain(f.q) == std::vector<Key>{7, 3, 9, 0});
  CHECK(f.q.processing_count() == 4);
  CHECK_FALSE(f.q.idle());
  for (Key k : {7U, 3U, 9U, 0U}) f.q.done(k);
  CHECK(f.q.idle());
}

TEST_CASE("work queue add of a dirty key is a no-op that keeps its position") {
  Fixture f;
  f.q.add(1);
  f.q.add(2);
  f.q.add(3);
  f.q.add(1);
  f.q.add(2);
  CHECK(f.q.len() == 3);
  CHECK(f.q.adds_total() == 3);
  CHECK(f.q.is_dirty(1));
  CHECK(drain(f.q) == std::vector<Key>{1, 2, 3});
  CHECK_FALSE(f.q.is_dirty(1));
}

TEST_CASE("work queue add while processing is deferred and re-appended at the tail on done") {
  Fixture f;
  f.q.add(1);
  f.q.add(2);
  CHECK(get(f.q) == 1);
  f.q.add(1);  // processing: marked dirty, not queued
  CHECK(f.q.is_dirty(1));
  CHECK(f.q.is_processing(1));
  CHECK(f.q.len() == 1);
  f.q.add(1);  // dirty: dedup
  f.q.add(3);
  CHECK(f.q.adds_total() == 4);
  CHECK(get(f.q) == 2);
  CHECK(get(f.q) == 3);
  Key k = 0;
  CHECK_FALSE(f.q.try_get(k));  // 1 is dirty but must not be handed out twice
  f.q.add(4);
  f.q.done(1);  // appended behind 4
  CHECK_FALSE(f.q.is_processing(1));
  CHECK(f.q.len() == 2);
  CHECK(drain(f.q) == std::vector<Key>{4, 1});
}

TEST_CASE("work queue never hands out a key that is being processed") {
  Fixture f;
  std::vector<Key> in_hand;
  // A scripted churn: every step adds a few keys (some in hand), takes up to
  // three and finishes the oldest one in hand.
  for (int step = 0; step < 200; ++step) {
    for (int j = 0; j < 3; ++j) f.q.add(static_cast<Key>((step * 5 + j * 7) % 16));
    for (Key k : in_hand) f.q.add(k);
    for (int j = 0; j < 3; ++j) {
      Key k = 0;
      if (!f.q.try_get(k)) break;
      for (Key held : in_hand) REQUIRE(held != k);
      in_hand.push_back(k);
    }
    if (!in_hand.empty()) {
      f.q.done(in_hand.front());
      in_hand.erase(in_hand.begin());
    }
    CHECK(f.q.processing_count() == in_hand.size());
    CHECK(f.q.depth() >= 0);
  }
}

TEST_CASE("work queue add_after waits and a duplicate keeps the earlier ready time") {
  Fixture f;
  int available = 0;
  f.q.set_on_item_available([&available] { ++available; });
  f.q.add_after(5, Duration::seconds(10));
  CHECK(f.q.is_waiting(5));
  CHECK_FALSE(f.q.is_dirty(5));
  CHECK(f.q.ready_at(5) == Time::zero() + Duration::seconds(10));
  f.q.add_after(5, Duration::seconds(5));  // earlier: moves up
  CHECK(f.q.ready_at(5) == Time::zero() + Duration::seconds(5));
  f.q.add_after(5, Duration::seconds(20));  // later: ignored
  CHECK(f.q.ready_at(5) == Time::zero() + Duration::seconds(5));
  CHECK(f.q.waiting_count() == 1);
  CHECK(f.sim.pending() == 1);
  CHECK(f.value("workqueue_retries_total") == 3);

  f.sim.run_until(at_ms(4999));
  CHECK(f.q.len() == 0);
  CHECK(available == 0);
  f.sim.run_until(at_ms(5000));
  CHECK_FALSE(f.q.is_waiting(5));
  CHECK(f.q.len() == 1);
  CHECK(available == 1);
  CHECK(f.q.added_at(5) == at_ms(5000));
  f.sim.run_until(Time::zero() + Duration::seconds(30));  // no stale timer adds it again
  CHECK(f.q.adds_total() == 1);
  CHECK(available == 1);
  CHECK(f.q.idle() == false);
  CHECK(get(f.q) == 5);
}

TEST_CASE("work queue add_after of a dirty key dedups when it fires") {
  Fixture f;
  f.q.add(2);
  f.q.add_after(2, ms(100));
  f.sim.run_until(at_ms(100));
  CHECK(f.q.len() == 1);
  CHECK(f.q.adds_total() == 1);
  CHECK(f.q.added_at(2) == Time::zero());
}

TEST_CASE("work queue add_after with no delay adds now and still counts a retry") {
  Fixture f;
  f.q.add_after(3, Duration::zero());
  CHECK(f.q.len() == 1);
  CHECK_FALSE(f.q.is_waiting(3));
  f.q.add_after(4, Duration::zero() - ms(5));
  CHECK(f.q.len() == 2);
  f.q.add_after(4, Duration::zero());  // dedup, but still a retry
  CHECK(f.q.len() == 2);
  CHECK(f.q.retries_total() == 3);
  CHECK(f.value("workqueue_retries_total") == 3);
  CHECK(f.value("workqueue_adds_total") == 2);
  CHECK(f.sim.pending() == 0);
}

TEST_CASE("work queue add_rate_limited delays by the controller rate limiter") {
  Fixture f;
  f.q.add_rate_limited(6);
  CHECK(f.q.is_waiting(6));
  CHECK(f.q.ready_at(6) == at_ms(5));
  CHECK(f.q.num_requeues(6) == 1);
  f.sim.run_until(at_ms(5));
  CHECK(get(f.q) == 6);
  f.q.add_rate_limited(6);  // requeue while processing: 10 ms
  CHECK(f.q.ready_at(6) == at_ms(15));
  f.q.done(6);
  f.sim.run_until(at_ms(15));
  CHECK(get(f.q) == 6);
  f.q.done(6);
  CHECK(f.q.num_requeues(6) == 2);
  f.q.forget(6);
  CHECK(f.q.num_requeues(6) == 0);
  f.q.add_rate_limited(6);
  CHECK(f.q.ready_at(6) == at_ms(20));
  CHECK(f.value("workqueue_retries_total") == 3);
}

TEST_CASE("work queue add_rate_limited uses the configured limiter") {
  Simulator sim;
  MetricsRegistry metrics;
  epsim::models::ControllerRateLimiter::Config config;
  config.base = ms(1);
  config.max = ms(3);
  config.bucket_qps = 1;
  config.bucket_burst = 1;
  WorkQueue q(sim, metrics, "idc", "custom", 4);
  WorkQueue limited(sim, metrics, "idc", "limited", 4, config);
  limited.add_rate_limited(0);
  CHECK(limited.ready_at(0) == at_ms(1));
  limited.add_rate_limited(1);  // bucket empty: 1 s
  CHECK(limited.ready_at(1) == at_ms(1000));
  CHECK(limited.limiter().config().max == ms(3));
}

TEST_CASE("work queue metrics after a scripted sequence") {
  Fixture f;
  // t=0: two adds and a dedup.
  f.q.add(1);
  f.q.add(2);
  f.q.add(1);
  CHECK(f.value("workqueue_depth") == 2);
  CHECK(f.value("workqueue_adds_total") == 2);
  f.sim.run_until(at_ms(2));
  CHECK(get(f.q) == 1);  // queued 2 ms
  CHECK(f.value("workqueue_depth") == 1);
  f.sim.run_until(at_ms(3));
  f.q.add(1);  // while processing: counted in depth although not in the FIFO
  CHECK(f.value("workqueue_depth") == 2);
  CHECK(f.q.len() == 1);
  f.sim.run_until(at_ms(4));
  CHECK(get(f.q) == 2);  // queued 4 ms
  f.sim.run_until(at_ms(6));
  f.q.done(1);  // worked 4 ms, re-appended
  f.sim.run_until(at_ms(7));
  f.q.done(2);  // worked 3 ms
  f.sim.run_until(at_ms(11));
  CHECK(f.q.added_at(1) == at_ms(3));
  CHECK(get(f.q) == 1);  // queued 8 ms: since the add at 3 ms, not the first at 0
  CHECK(f.q.added_at(1) == at_ms(3));
  CHECK(f.value("workqueue_depth") == 0);
  f.q.add_after(3, Duration::zero());
  f.q.add_rate_limited(4);  // ready at 16 ms
  CHECK(f.value("workqueue_depth") == 1);
  f.sim.run_until(at_ms(16));
  f.sim.run_until(at_ms(26));
  f.q.done(1);  // worked 15 ms

  CHECK(f.value("workqueue_depth") == 2);
  CHECK(f.q.depth() == 2);
  CHECK(f.value("workqueue_adds_total") == 5);
  CHECK(f.q.adds_total() == 5);
  CHECK(f.value("workqueue_retries_total") == 2);

  const Histogram& queued = histogram(f.metrics, "workqueue_queue_duration_seconds", "test");
  CHECK(queued.upper_bounds() == Histogram::exponential_buckets(1e-8, 10, 10));
  CHECK(queued.count() == 3);
  CHECK(queued.sum() == doctest::Approx(0.014));
  CHECK(queued.cumulative_count(5) == 0);  // <= 1e-3
  CHECK(queued.cumulative_count(6) == 3);  // <= 1e-2
  const Histogram& worked = histogram(f.metrics, "workqueue_work_duration_seconds", "test");
  CHECK(worked.count() == 3);
  CHECK(worked.sum() == doctest::Approx(0.022));
  CHECK(worked.cumulative_count(6) == 2);  // 3 and 4 ms
  CHECK(worked.cumulative_count(7) == 3);  // 15 ms

  // Every series carries exactly the labels cluster="idc", name="test" and has the right type.
  CHECK(f.metrics.families().at("workqueue_depth").type == epsim::sim::MetricType::gauge);
  CHECK(f.metrics.families().at("workqueue_adds_total").type == epsim::sim::MetricType::counter);
  CHECK(f.metrics.families().at("workqueue_retries_total").type == epsim::sim::MetricType::counter);
  CHECK(f.metrics.families().at("workqueue_depth").gauges.count(Labels{{"cluster", "idc"}, {"name", "test"}}) == 1);
}

TEST_CASE("work queue calls on_item_available for every append") {
  Fixture f;
  std::vector<Key> appended;
  f.q.set_on_item_available([&] { appended.push_back(static_cast<Key>(f.q.len())); });
  f.q.add(1);        // append
  f.q.add(1);        // dedup: no call
  f.q.add(2);        // append
  CHECK(appended == std::vector<Key>{1, 2});
  CHECK(get(f.q) == 1);
  f.q.add(1);        // deferred: no call
  CHECK(appended.size() == 2);
  f.q.done(1);       // re-appended: call
  CHECK(appended.size() == 3);
  CHECK(get(f.q) == 2);
  f.q.done(2);       // not dirty: no call
  f.q.add_after(3, ms(1));
  CHECK(appended.size() == 3);
  f.sim.run_until(at_ms(1));  // timer: call
  CHECK(appended.size() == 4);
}

TEST_CASE("work queue on_item_available may take the key at once") {
  Fixture f;
  std::vector<Key> taken;
  f.q.set_on_item_available([&] {
    Key k = 0;
    if (f.q.processing_count() == 0 && f.q.try_get(k)) taken.push_back(k);
  });
  f.q.add(1);
  f.q.add(2);
  CHECK(taken == std::vector<Key>{1});
  CHECK(f.q.len() == 1);
  f.q.add(1);
  f.q.done(1);  // re-appends 1 behind 2; the callback takes the head
  CHECK(taken == std::vector<Key>{1, 2});
  CHECK(f.q.is_dirty(1));
  CHECK(f.q.len() == 1);
}

TEST_CASE("work queue added_at is the time of the add that made the key dirty") {
  Fixture f;
  f.sim.run_until(at_ms(10));
  f.q.add(1);
  f.sim.run_until(at_ms(20));
  f.q.add(1);
  CHECK(f.q.added_at(1) == at_ms(10));
  get(f.q);
  CHECK(f.q.added_at(1) == at_ms(10));  // the item in hand
  f.sim.run_until(at_ms(30));
  f.q.add(1);
  CHECK(f.q.added_at(1) == at_ms(30));  // dirty again
  f.q.done(1);
  get(f.q);
  f.q.done(1);
  CHECK_THROWS_AS((void)f.q.added_at(1), std::logic_error);
}

TEST_CASE("work queue keeps each key's times apart while workers and timers come and go") {
  // Keys in hand and keys waiting share small tables whose freed entries are
  // reused: every key must still report its own add time, ready time and
  // work duration, whatever order they finish in.
  Fixture f;
  f.q.add(1);  // t = 0
  f.sim.run_until(at_ms(10));
  f.q.add(2);
  f.sim.run_until(at_ms(20));
  f.q.add(3);
  CHECK(get(f.q) == 1);
  CHECK(get(f.q) == 2);
  f.q.done(1);  // frees key 1's entry
  CHECK(get(f.q) == 3);  // may take key 1's entry
  CHECK(f.q.added_at(2) == at_ms(10));
  CHECK(f.q.added_at(3) == at_ms(20));
  CHECK(f.q.is_processing(2));
  CHECK(f.q.is_processing(3));
  CHECK_FALSE(f.q.is_processing(1));
  f.q.add_after(4, ms(100));  // ready at 120 ms
  f.q.add_after(5, ms(50));   // ready at 70 ms
  f.q.add_after(6, ms(80));   // ready at 100 ms
  f.sim.run_until(at_ms(70));  // key 5's timer fires and frees its entry
  CHECK_FALSE(f.q.is_waiting(5));
  f.q.add_after(7, ms(5));  // ready at 75 ms
  CHECK(f.q.ready_at(4) == at_ms(120));
  CHECK(f.q.ready_at(6) == at_ms(100));
  CHECK(f.q.ready_at(7) == at_ms(75));
  CHECK(f.q.waiting_count() == 3);
  f.q.done(3);  // in hand 20 -> 70 ms
  f.q.done(2);  // in hand 20 -> 70 ms (key 1: 20 -> 20 ms)
  CHECK(f.q.processing_count() == 0);
  f.sim.run_until(at_ms(200));
  CHECK(f.q.waiting_count() == 0);
  // Key 5 came at 70 ms, then 7, 6 and 4 in ready order.
  CHECK(drain(f.q) == std::vector<Key>{5, 7, 6, 4});
  const Histogram& work = histogram(f.metrics, "workqueue_work_duration_seconds", "test");
  CHECK(work.count() == 3);
  CHECK(work.sum() == doctest::Approx(0.0 + 0.050 + 0.050));
}

TEST_CASE("work queue rejects misuse") {
  Fixture f;
  CHECK_THROWS_AS(f.q.add(16), std::out_of_range);
  CHECK_THROWS_AS(f.q.add_after(16, ms(1)), std::out_of_range);
  CHECK_THROWS_AS(f.q.done(1), std::logic_error);
  f.q.add(1);
  CHECK_THROWS_AS(f.q.done(1), std::logic_error);  // dirty but not handed out
  CHECK_THROWS_AS((void)f.q.ready_at(1), std::logic_error);
}

TEST_CASE("work queue cancels its pending timers when destroyed") {
  Simulator sim;
  MetricsRegistry metrics;
  {
    WorkQueue q(sim, metrics, "idc", "short", 4);
    q.add_after(1, ms(5));
    q.add_after(2, ms(6));
    CHECK(sim.pending() == 2);
  }
  CHECK(sim.pending() == 0);
  sim.run_until(at_ms(10));
}

TEST_CASE("work queue handles a million keys") {
  Simulator sim;
  MetricsRegistry metrics;
  constexpr std::size_t kKeys = 1'000'000;
  WorkQueue q(sim, metrics, "idc", "big", kKeys);
  for (Key k = 0; k < kKeys; k += 7) q.add(kKeys - 1 - k);
  q.add_after(kKeys - 1, ms(1));
  CHECK(q.len() == (kKeys + 6) / 7);
  Key k = 0;
  REQUIRE(q.try_get(k));
  CHECK(k == kKeys - 1);
  q.done(k);
  sim.run_until(at_ms(1));
  CHECK(q.len() == (kKeys + 6) / 7);
  CHECK(q.is_dirty(kKeys - 1));
}
