// The sampler stores runs of equal samples: a column with k changes holds
// k + 1 runs, and expanding it gives back every sample one by one.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "sim/simulator.h"
#include "sim/time_series.h"

using namespace epsim::sim;

TEST_CASE("time series: a level that changes k times stores k + 1 runs and expands to every sample") {
  Simulator sim;
  double level = 0;
  TimeSeriesSampler sampler(sim, Duration::seconds(2));
  sampler.add_series("level", TimeSeriesSampler::Kind::level, [&] { return level; });
  const Time start = Time::zero() + Duration::seconds(10);
  sampler.start(start, start + Duration::seconds(1000));
  // Changes at 3 instants between samples: 100.5 s, 300.5 s, 301.5 s (no
  // sample in between the last two, so the column sees two changes there
  // as one).
  sim.schedule_at(Time::zero() + Duration::milliseconds(100'500), [&] { level = 1; });
  sim.schedule_at(Time::zero() + Duration::milliseconds(300'500), [&] { level = 2; });
  sim.schedule_at(Time::zero() + Duration::milliseconds(301'500), [&] { level = 3; });
  sim.run_until(Time::zero() + Duration::seconds(2000));

  REQUIRE(sampler.rows() == 501);  // 10 s, 12 s, ..., 1010 s
  CHECK(sampler.time(0) == start);
  CHECK(sampler.time(500) == start + Duration::seconds(1000));
  CHECK(sampler.times().size() == sampler.rows());
  const auto& runs = sampler.runs(0);
  REQUIRE(runs.size() == 3);
  // Row r is at 10 + 2r s: the first sample after 100.5 s is row 46 (102 s),
  // after 301.5 s row 146 (302 s).
  CHECK(runs[0].first_row == 0);
  CHECK(runs[1].first_row == 46);
  CHECK(runs[2].first_row == 146);
  const std::vector<double> column = sampler.column(0);
  REQUIRE(column.size() == 501);
  for (std::size_t row = 0; row < column.size(); ++row) {
    const double t = sampler.time(row).seconds_f();
    CHECK(column[row] == (t < 100.5 ? 0 : t < 300.5 ? 1 : 3));
  }
}

TEST_CASE("time series: a quiet week costs one run per column") {
  Simulator sim;
  double total = 0;
  TimeSeriesSampler sampler(sim, Duration::seconds(1));
  sampler.add_series("idle", TimeSeriesSampler::Kind::level, [] { return 0.0; });
  sampler.add_series("steady", TimeSeriesSampler::Kind::delta, [&] { return total; });
  const Time end = Time::zero() + Duration::hours(7 * 24);
  sampler.start(Time::zero(), end);
  // One request a second, counted just after each sample: every delta is 1
  // except the very first sample's 0.
  sim.schedule_at(Time::zero() + Duration::milliseconds(500), [&] { total += 1; });
  for (std::int64_t s = 1; s < 7 * 24 * 3600; ++s) {
    sim.schedule_at(Time::zero() + Duration::milliseconds(1000 * s + 500), [&total] { total += 1; });
  }
  sim.run_until(end);
  REQUIRE(sampler.rows() == 7 * 24 * 3600 + 1);
  CHECK(sampler.runs(0).size() == 1);
  REQUIRE(sampler.runs(1).size() == 2);
  CHECK(sampler.runs(1)[0].value == 0);
  CHECK(sampler.runs(1)[1].first_row == 1);
  CHECK(sampler.runs(1)[1].value == 1);
}

TEST_CASE("time series: runs keep values that compare equal but differ, such as 0 and -0") {
  Simulator sim;
  std::vector<double> values{0.0, -0.0, -0.0, std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::quiet_NaN(), 0.0};
  std::size_t next = 0;
  TimeSeriesSampler sampler(sim, Duration::seconds(1));
  sampler.add_series("v", TimeSeriesSampler::Kind::level, [&] { return values[std::min(next, values.size() - 1)]; });
  sampler.add_observer([&](Time) { ++next; });
  sampler.start(Time::zero(), Time::zero() + Duration::seconds(5));
  sim.run_until(Time::zero() + Duration::seconds(5));
  // The observer moves on after each sample, so sample r reads values[r].
  const std::vector<double> column = sampler.column(0);
  REQUIRE(column.size() == 6);
  CHECK(sampler.runs(0).size() == 4);  // 0 | -0 -0 | NaN NaN | 0
  CHECK_FALSE(std::signbit(column[0]));
  CHECK(std::signbit(column[1]));
  CHECK(std::isnan(column[3]));
  CHECK_FALSE(std::signbit(column[5]));
}
