#include "sim/quantile_sketch.h"

#include <algorithm>
#include <cmath>

#include "sim/invariant.h"

namespace epsim::sim {

namespace {

constexpr double kSmallest = 1e-6;  // bucket 0 holds everything up to 1 µs
constexpr double kGrowth = 1.01;
const double kLogGrowth = std::log(kGrowth);

// Bucket i holds (kSmallest · g^(i-1), kSmallest · g^i]; at most ~2,800 buckets.
std::size_t bucket_of(double v) {
  if (!(v > kSmallest)) return 0;
  return static_cast<std::size_t>(std::ceil(std::log(v / kSmallest) / kLogGrowth));
}

double upper_edge(std::size_t bucket) { return kSmallest * std::pow(kGrowth, static_cast<double>(bucket)); }

}  // namespace

void QuantileSketch::add(double seconds_value) {
  EPSIM_INVARIANT(seconds_value >= 0 && std::isfinite(seconds_value), "a quantile sample must be finite and >= 0");
  const std::size_t b = std::min<std::size_t>(bucket_of(seconds_value), 4000);
  if (b >= buckets_.size()) buckets_.resize(b + 1, 0);
  ++buckets_[b];
  ++count_;
}

double QuantileSketch::quantile(double q) const {
  if (count_ == 0) return 0;
  // The rank of the sample quantile: the ceil(q·n)-th smallest (1-based).
  const auto rank = static_cast<std::uint64_t>(std::max(1.0, std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (seen >= rank) return upper_edge(b);
  }
  return upper_edge(buckets_.size() - 1);
}

void QuantileSketch::merge(const QuantileSketch& other) {
  if (other.buckets_.size() > buckets_.size()) buckets_.resize(other.buckets_.size(), 0);
  for (std::size_t b = 0; b < other.buckets_.size(); ++b) buckets_[b] += other.buckets_[b];
  count_ += other.count_;
}

}  // namespace epsim::sim
