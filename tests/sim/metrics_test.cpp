#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "sim/metrics.h"
#include "sim/simulator.h"
#include "sim/span_recorder.h"
#include "sim/time_series.h"

using namespace epsim::sim;

TEST_CASE("the client-go workqueue bucket layout is expressible") {
  // client-go workqueue_queue_duration_seconds: prometheus.ExponentialBuckets(10e-9, 10, 10).
  const auto b = Histogram::exponential_buckets(1e-8, 10, 10);
  REQUIRE(b.size() == 10);
  CHECK(b.front() == doctest::Approx(1e-8));
  CHECK(b.back() == doctest::Approx(10.0));
  Histogram h(b);
  h.observe(5e-9);    // first bucket
  h.observe(0.5);     // le=1
  h.observe(1.0);     // le=1: bounds are inclusive
  h.observe(646.0);   // a 10-minute backlog lands in +Inf
  CHECK(h.count() == 4);
  CHECK(h.sum() == doctest::Approx(647.5 + 5e-9));
  CHECK(h.bucket_counts().front() == 1);
  CHECK(h.bucket_counts().back() == 1);
  CHECK(h.cumulative_count(8) == 3);   // le=1
  CHECK(h.cumulative_count(9) == 3);   // le=10
  CHECK(h.cumulative_count(10) == 4);  // +Inf
  CHECK_THROWS(Histogram({1.0, 1.0}));
}

TEST_CASE("a histogram bucket is the first inclusive bound whatever bucket came before") {
  // Bounds 1, 2, 4; buckets le=1, le=2, le=4, +Inf. Each value's bucket by
  // hand; the sequence repeats buckets (the previous-bucket shortcut) and
  // jumps between them in both directions, with values on the bounds, just
  // off them, below the first, past the last, and NaN (lower_bound puts it
  // in the first bucket: no bound is < NaN).
  Histogram h({1.0, 2.0, 4.0});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<std::pair<double, std::size_t>> values = {
      {0.5, 0}, {1.0, 0},  {1.0, 0},           {std::nextafter(1.0, 2.0), 1}, {2.0, 1}, {9.0, 3},
      {9.0, 3}, {4.0, 2},  {-3.0, 0},          {3.0, 2},                      {nan, 0}, {1e300, 3},
      {nan, 0}, {2.0, 1},  {std::nextafter(4.0, 5.0), 3}, {std::nextafter(1.0, 0.0), 0}, {4.0, 2}, {4.0, 2}};
  std::vector<std::uint64_t> expected(4, 0);
  for (const auto& [value, bucket] : values) {
    h.observe(value);
    ++expected[bucket];
    CHECK(h.bucket_counts() == expected);
  }
  CHECK(h.count() == values.size());
}

TEST_CASE("registry keys series by name and sorted labels") {
  MetricsRegistry r;
  Counter& a = r.counter("rest_client_requests_total", "h", {{"code", "200"}, {"method", "PUT"}});
  Counter& b = r.counter("rest_client_requests_total", "h", {{"method", "PUT"}, {"code", "200"}});
  CHECK(&a == &b);
  a.inc();
  b.inc(2);
  CHECK(r.value("rest_client_requests_total", {{"code", "200"}, {"method", "PUT"}}) == 3);
  Gauge& g = r.gauge("workqueue_depth", "h", {{"name", "endpoint"}});
  g.add(5);
  g.add(-2);
  CHECK(r.value("workqueue_depth", {{"name", "endpoint"}}) == 3);
  CHECK(r.value("absent") == 0);
  CHECK_THROWS(r.gauge("rest_client_requests_total", "h"));
  r.histogram("x_seconds", "h", {1, 2});
  CHECK_THROWS(r.histogram("x_seconds", "h", {1, 3}));
  // Families iterate in name order.
  std::vector<std::string> names;
  for (const auto& [name, family] : r.families()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"rest_client_requests_total", "workqueue_depth", "x_seconds"});
}

TEST_CASE("time series sampler records levels and per-interval deltas") {
  Simulator sim;
  Counter puts;
  Gauge depth;
  TimeSeriesSampler sampler(sim, Duration::seconds(1));
  sampler.add_series("depth", TimeSeriesSampler::Kind::level, [&] { return depth.value(); });
  sampler.add_series("puts", TimeSeriesSampler::Kind::delta, [&] { return puts.value(); });
  sampler.start(Time::zero(), Time::zero() + Duration::seconds(3));
  for (int i = 1; i <= 6; ++i) {
    sim.schedule_at(Time::zero() + Duration::milliseconds(500 * i - 250), [&] { puts.inc(); depth.add(1); });
  }
  sim.run_until(Time::zero() + Duration::seconds(10));
  REQUIRE(sampler.times().size() == 4);
  CHECK(sampler.times().back() == Time::zero() + Duration::seconds(3));
  CHECK(sampler.column(0) == std::vector<double>{0, 2, 4, 6});
  CHECK(sampler.column(1) == std::vector<double>{0, 2, 2, 2});
}

TEST_CASE("span recorder interns names and bounds its memory") {
  SpanRecorder rec(2);
  const auto track = rec.track("endpoints-controller");
  CHECK(rec.track("endpoints-controller") == track);
  const auto put = rec.name("PUT");
  rec.record(track, put, Time::zero(), Time::zero() + Duration::milliseconds(5));
  rec.record(track, put, Time::zero(), Time::zero());
  rec.record(track, put, Time::zero(), Time::zero());
  CHECK(rec.spans().size() == 2);
  CHECK(rec.dropped() == 1);
  CHECK(rec.spans()[0].end.ns() == 5'000'000);
  CHECK_THROWS(rec.record(track, put, Time::zero() + Duration::seconds(1), Time::zero()));
}
