// QuantileSketch: a quantile is never below the exact sample quantile and at
// most 1% above it, for any number of samples; merging equals adding.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "sim/quantile_sketch.h"

using epsim::sim::QuantileSketch;

namespace {

double exact(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(q * static_cast<double>(v.size())))) - 1;
  return v[rank];
}

}  // namespace

TEST_CASE("a sketch's quantiles lie within 1% above the exact sample quantiles") {
  std::vector<double> samples;
  QuantileSketch sketch;
  // 1 ms to ~20 min, spread over six decades.
  for (int i = 1; i <= 20'000; ++i) {
    const double v = 1e-3 * std::pow(1.001, i);
    samples.push_back(v);
    sketch.add(v);
  }
  CHECK(sketch.count() == samples.size());
  for (const double q : {0.01, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    CAPTURE(q);
    const double e = exact(samples, q);
    CHECK(sketch.quantile(q) >= e);
    CHECK(sketch.quantile(q) <= e * 1.01 * (1 + 1e-12));
  }
}

TEST_CASE("an empty sketch says 0; zero samples land in the first bucket; merge adds the counts") {
  QuantileSketch a, b;
  CHECK(a.quantile(0.99) == 0);
  a.add(0);
  CHECK(a.quantile(1) <= 1e-6);
  for (int i = 0; i < 99; ++i) b.add(0.010);
  b.add(5.0);
  a.merge(b);
  CHECK(a.count() == 101);
  // 101 samples: the 99th percentile is the 100th smallest, one of the 10 ms ones.
  CHECK(a.quantile(0.99) == doctest::Approx(0.010).epsilon(0.01));
  CHECK(a.quantile(1.0) == doctest::Approx(5.0).epsilon(0.01));
}
