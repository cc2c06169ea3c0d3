#include "sim/random.h"

#include <boost/random/exponential_distribution.hpp>
#include <boost/random/lognormal_distribution.hpp>
#include <boost/random/mersenne_twister.hpp>
#include <boost/random/poisson_distribution.hpp>
#include <boost/random/uniform_01.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <cassert>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace epsim::sim {

std::uint64_t splitmix64_next(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t stream_seed(std::uint64_t root_seed, std::string_view name) {
  std::uint64_t state = root_seed;
  std::uint64_t mixed = splitmix64_next(state);
  for (unsigned char c : name) {
    state ^= mixed ^ c;
    mixed = splitmix64_next(state);
  }
  // The length closes the mix so that a name and its extension differ.
  state ^= mixed ^ (name.size() << 8);
  return splitmix64_next(state);
}

struct RandomStream::Engine {
  explicit Engine(std::uint64_t seed) : mt(seed) {}
  boost::random::mt19937_64 mt;
};

RandomStream::RandomStream(std::uint64_t root_seed, std::string_view name)
    : name_(name), seed_(stream_seed(root_seed, name)), engine_(std::make_unique<Engine>(seed_)) {}
RandomStream::~RandomStream() = default;
RandomStream::RandomStream(RandomStream&&) noexcept = default;
RandomStream& RandomStream::operator=(RandomStream&&) noexcept = default;

std::uint64_t RandomStream::next_u64() { return engine_->mt(); }

double RandomStream::uniform01() {
  return boost::random::uniform_real_distribution<double>(0.0, 1.0)(engine_->mt);
}

double RandomStream::uniform(double lo, double hi) {
  if (!(lo < hi)) {
    if (lo == hi) return lo;
    throw std::invalid_argument("uniform: lo > hi");
  }
  return boost::random::uniform_real_distribution<double>(lo, hi)(engine_->mt);
}

std::int64_t RandomStream::uniform_int(std::int64_t lo, std::int64_t hi) {
  if (lo > hi) throw std::invalid_argument("uniform_int: lo > hi");
  return boost::random::uniform_int_distribution<std::int64_t>(lo, hi)(engine_->mt);
}

namespace {

// Draws from `mt` what boost::random::uniform_int_distribution's
// generate_uniform_int draws for a range of `range` + 1 values (0 < range <
// 2^64 - 1), without computing the number. For mt19937_64 (min 0, max
// 2^64 - 1) it sets bucket = max / (range + 1), one more when range + 1
// divides 2^64, and draws until draw / bucket <= range. That holds for every
// draw below max - range (bucket · (range + 1) = max - (max mod (range + 1)),
// and max mod (range + 1) <= range), so only a draw among the top `range`
// values needs the division.
inline void discard_bounded(boost::random::mt19937_64& mt, std::uint64_t range) {
  static_assert(boost::random::mt19937_64::word_size == 64, "the engine's draws span 0 .. 2^64 - 1");
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  for (;;) {
    const std::uint64_t draw = mt();
    if (draw < kMax - range) return;
    std::uint64_t bucket = kMax / (range + 1);
    if (kMax % (range + 1) == range) ++bucket;
    if (draw / bucket <= range) return;
  }
}

}  // namespace

void RandomStream::discard_uniform_int(std::int64_t lo, std::int64_t hi) {
  if (lo > hi) throw std::invalid_argument("uniform_int: lo > hi");
  const std::uint64_t range = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  if (range == 0) return;  // boost draws nothing for a single value
  if (range == std::numeric_limits<std::uint64_t>::max()) {
    engine_->mt();  // the whole engine range: one draw as it is
    return;
  }
  discard_bounded(engine_->mt, range);
}

void RandomStream::discard_shuffle(std::size_t n) {
  for (std::size_t i = n; i > 1; --i) discard_bounded(engine_->mt, i - 1);
}

double RandomStream::exponential(double mean) {
  if (!(mean > 0)) throw std::invalid_argument("exponential: mean must be > 0");
  return boost::random::exponential_distribution<double>(1.0 / mean)(engine_->mt);
}

double RandomStream::lognormal(double mu, double sigma) {
  if (!(sigma >= 0)) throw std::invalid_argument("lognormal: sigma must be >= 0");
  if (sigma == 0) return std::exp(mu);
  // boost's lognormal_distribution takes (m, s) = the normal's mean and sigma.
  return boost::random::lognormal_distribution<double>(mu, sigma)(engine_->mt);
}

std::uint64_t RandomStream::poisson(double mean) {
  if (!(mean >= 0)) throw std::invalid_argument("poisson: mean must be >= 0");
  if (mean == 0) return 0;
  return boost::random::poisson_distribution<std::uint64_t, double>(mean)(engine_->mt);
}

Duration RandomStream::exponential_duration(Duration mean) {
  return Duration::from_seconds(exponential(mean.seconds_f()));
}

}  // namespace epsim::sim
