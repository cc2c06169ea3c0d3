// Quantiles of a stream of positive durations in bounded memory: counts in
// logarithmic buckets (each 1% wider than the one before, from 1 µs to
// ~10^6 s), so a quantile is known to within 1% of its value however many
// samples arrive. The SLIs of the report use it (app/slis.h), where the
// real cluster's own Prometheus would use a histogram.
#pragma once

#include <cstdint>
#include <vector>

namespace epsim::sim {

class QuantileSketch {
 public:
  void add(double seconds_value);
  std::uint64_t count() const { return count_; }
  // The q-quantile (0 < q <= 1), the upper edge of its bucket: never below
  // the exact sample quantile and at most 1% above it. 0 without samples.
  double quantile(double q) const;
  void merge(const QuantileSketch& other);

 private:
  std::vector<std::uint64_t> buckets_;  // grown on demand
  std::uint64_t count_ = 0;
};

}  // namespace epsim::sim
