// client-go v0.17.3 util/workqueue/default_rate_limiters.go:
// DefaultControllerRateLimiter() =
//   NewMaxOfRateLimiter(
//     NewItemExponentialFailureRateLimiter(5*time.Millisecond, 1000*time.Second),
//     &BucketRateLimiter{Limiter: rate.NewLimiter(rate.Limit(10), 100)})
// Used only by AddRateLimited (retries), never by a plain Add.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>

#include "models/token_bucket.h"
#include "sim/time.h"

namespace epsim::models {

class ControllerRateLimiter {
 public:
  struct Config {
    sim::Duration base = sim::Duration::milliseconds(5);
    sim::Duration max = sim::Duration::seconds(1000);
    double bucket_qps = 10;
    int bucket_burst = 100;
  };

  // Keys are dense, 0..key_space-1. Only keys that failed have state: the
  // failure counts are a map, as upstream's `failures map[interface{}]int`,
  // so a success's Forget reads no per-key table (issue 12).
  ControllerRateLimiter(Config config, sim::Time now, std::size_t key_space);

  // MaxOfRateLimiter.When: asks every limiter (each has its side effect) and
  // returns the largest delay: base*2^failures capped at max (then
  // failures++), and a reservation on the overall bucket.
  sim::Duration when(std::uint32_t key, sim::Time now);
  // failures = 0 (the bucket has nothing to forget).
  void forget(std::uint32_t key);
  // The per-item failure count (the bucket reports 0).
  int num_requeues(std::uint32_t key) const;
  const Config& config() const { return config_; }
  const TokenBucket& bucket() const { return bucket_; }
  std::size_t key_space() const { return key_space_; }
  // Keys with a failure count (failed since their last forget).
  std::size_t failing_keys() const { return failures_.size(); }

 private:
  void check_key(std::uint32_t key) const;

  Config config_;
  TokenBucket bucket_;
  std::size_t key_space_;
  std::map<std::uint32_t, int> failures_;  // by key; absent: 0
};

}  // namespace epsim::models
