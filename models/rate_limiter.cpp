#include "models/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace epsim::models {

ControllerRateLimiter::ControllerRateLimiter(Config config, sim::Time now, std::size_t key_space)
    // default_rate_limiters.go builds the bucket with rate.NewLimiter(rate.Limit(10), 100):
    // a float64 limit, not flowcontrol's float32.
    : config_(config), bucket_(config.bucket_qps, config.bucket_burst, now), key_space_(key_space) {
  if (config.base.is_negative() || config.max.is_negative()) {
    throw std::invalid_argument("rate limiter base and max must be >= 0");
  }
}

void ControllerRateLimiter::check_key(std::uint32_t key) const {
  if (key >= key_space_) throw std::out_of_range("rate limiter key out of range");
}

sim::Duration ControllerRateLimiter::when(std::uint32_t key, sim::Time now) {
  check_key(key);
  // ItemExponentialFailureRateLimiter.When: exp := failures[item];
  // failures[item]++; backoff := float64(base.Nanoseconds()) * math.Pow(2, exp);
  // if backoff > math.MaxInt64 { return maxDelay }; min(time.Duration(backoff), maxDelay).
  int& failures = failures_[key];
  const int exp = failures;
  if (failures < std::numeric_limits<int>::max()) ++failures;  // Go's int would not overflow in practice
  // ldexp is exact, as math.Pow(2, n) is for integer n.
  const double backoff = std::ldexp(static_cast<double>(config_.base.ns()), exp);
  sim::Duration item = config_.max;
  // >= rather than Go's >: at exactly 2^63 Go's conversion would wrap negative.
  if (backoff < 9223372036854775808.0) {
    const sim::Duration calculated = sim::Duration::nanoseconds(static_cast<std::int64_t>(backoff));
    if (calculated <= config_.max) item = calculated;
  }
  // BucketRateLimiter.When: r.Limiter.Reserve().Delay(). Always reserved,
  // even when the per-item delay dominates (MaxOfRateLimiter calls both).
  const sim::Duration bucket = bucket_.reserve(now);
  return std::max(item, bucket);
}

void ControllerRateLimiter::forget(std::uint32_t key) {
  check_key(key);
  failures_.erase(key);  // ItemExponentialFailureRateLimiter.Forget: delete(failures, item)
}

int ControllerRateLimiter::num_requeues(std::uint32_t key) const {
  check_key(key);
  // MaxOfRateLimiter.NumRequeues: max(failures, 0 from the bucket).
  const auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

}  // namespace epsim::models
