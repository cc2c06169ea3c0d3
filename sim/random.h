// Seeded, named random streams (docs/architecture.md, "Ordering and determinism"). One root seed; each
// component draws from its own stream whose seed is the root seed mixed with
// the stream's name through SplitMix64, so adding or removing a component
// never shifts another component's numbers (the idea of ns-3's RngSeedManager
// and FoundationDB's per-role IRandom). Engines and distributions are
// Boost.Random's, whose algorithms are fixed in its headers; std::
// distributions are implementation-defined and are not used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sim/time.h"

namespace epsim::sim {

// One step of SplitMix64 (Steele, Lea, Flood 2014): advances `state` and
// returns the mixed output.
std::uint64_t splitmix64_next(std::uint64_t& state);

// Seed of the stream `name` under `root_seed`: SplitMix64 over the root seed
// and then each byte of the name. Stable across platforms and builds.
std::uint64_t stream_seed(std::uint64_t root_seed, std::string_view name);

class RandomStream {
 public:
  RandomStream(std::uint64_t root_seed, std::string_view name);
  ~RandomStream();
  RandomStream(RandomStream&&) noexcept;
  RandomStream& operator=(RandomStream&&) noexcept;
  RandomStream(const RandomStream&) = delete;
  RandomStream& operator=(const RandomStream&) = delete;

  const std::string& name() const { return name_; }
  std::uint64_t seed() const { return seed_; }

  std::uint64_t next_u64();
  // Uniform on [0, 1).
  double uniform01();
  // Uniform on [lo, hi).
  double uniform(double lo, double hi);
  // Uniform integer on [lo, hi] (inclusive).
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi);
  // Advances the stream exactly as uniform_int(lo, hi) would, without
  // computing the number.
  void discard_uniform_int(std::int64_t lo, std::int64_t hi);
  // Advances the stream as a Fisher-Yates shuffle of n elements would:
  // uniform_int(0, i - 1) for i = n, n - 1, ..., 2. A walk nobody reads
  // still draws its order (the informers' resync, issue 12), at a fraction
  // of the cost.
  void discard_shuffle(std::size_t n);
  // Exponential with the given mean (> 0).
  double exponential(double mean);
  // Log-normal: exp(N(mu, sigma)); median = exp(mu).
  double lognormal(double mu, double sigma);
  // Poisson count with the given mean (>= 0).
  std::uint64_t poisson(double mean);
  // Exponential duration with the given mean, rounded to the nanosecond.
  Duration exponential_duration(Duration mean);

 private:
  struct Engine;
  std::string name_;
  std::uint64_t seed_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace epsim::sim
