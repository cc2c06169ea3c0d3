// Pins client-go v0.17.3 DefaultControllerRateLimiter behaviour of
// models::ControllerRateLimiter on a hand-stepped clock.
#include <doctest/doctest.h>

#include <cstdint>
#include <stdexcept>

#include "models/rate_limiter.h"

using epsim::models::ControllerRateLimiter;
using epsim::sim::Duration;
using epsim::sim::Time;

namespace {
Duration ms(std::int64_t v) { return Duration::milliseconds(v); }
}  // namespace

TEST_CASE("rate limiter defaults are DefaultControllerRateLimiter") {
  const ControllerRateLimiter::Config c;
  CHECK(c.base == ms(5));
  CHECK(c.max == Duration::seconds(1000));
  CHECK(c.bucket_qps == 10);
  CHECK(c.bucket_burst == 100);
}

TEST_CASE("rate limiter per-item delay doubles from 5ms and caps at 1000s") {
  ControllerRateLimiter limiter({}, Time::zero(), 4);
  Duration expected = ms(5);
  // 5 ms * 2^17 = 655.36 s is the last uncapped step; 2^18 would be 1310.72 s.
  for (int n = 0; n <= 17; ++n) {
    CHECK(limiter.num_requeues(2) == n);
    CHECK(limiter.when(2, Time::zero()) == expected);
    expected = expected * 2;
  }
  CHECK(limiter.when(2, Time::zero()) == Duration::seconds(1000));
  CHECK(limiter.when(2, Time::zero()) == Duration::seconds(1000));
  CHECK(limiter.num_requeues(2) == 20);
  // Other keys are untouched.
  CHECK(limiter.num_requeues(1) == 0);
  // Only a key that failed has a count, until Forget deletes it (a map, as
  // upstream's failures), and a forgotten key starts again from 5 ms.
  CHECK(limiter.failing_keys() == 1);
  limiter.forget(1);
  CHECK(limiter.failing_keys() == 1);
  limiter.forget(2);
  CHECK(limiter.failing_keys() == 0);
  CHECK(limiter.num_requeues(2) == 0);
  CHECK(limiter.when(2, Time::zero()) == ms(5));  // 21 of the bucket's 100 tokens: no wait
}

TEST_CASE("rate limiter per-item delay stays at max when 2^failures overflows") {
  ControllerRateLimiter::Config config;
  config.bucket_burst = 1'000'000;  // keep the bucket out of the way
  ControllerRateLimiter limiter(config, Time::zero(), 1);
  for (int n = 0; n < 2000; ++n) limiter.when(0, Time::zero());
  CHECK(limiter.num_requeues(0) == 2000);
  CHECK(limiter.when(0, Time::zero()) == Duration::seconds(1000));
}

TEST_CASE("rate limiter forget resets the failure count") {
  ControllerRateLimiter limiter({}, Time::zero(), 2);
  CHECK(limiter.when(0, Time::zero()) == ms(5));
  CHECK(limiter.when(0, Time::zero()) == ms(10));
  CHECK(limiter.when(0, Time::zero()) == ms(20));
  CHECK(limiter.num_requeues(0) == 3);
  limiter.forget(0);
  CHECK(limiter.num_requeues(0) == 0);
  CHECK(limiter.when(0, Time::zero()) == ms(5));
  CHECK(limiter.num_requeues(0) == 1);
}

TEST_CASE("rate limiter bucket dominates after 100 rapid calls") {
  ControllerRateLimiter limiter({}, Time::zero(), 200);
  // 100 distinct keys, first failure each: the per-item 5 ms wins while the
  // bucket has tokens.
  for (std::uint32_t k = 0; k < 100; ++k) CHECK(limiter.when(k, Time::zero()) == ms(5));
  // Then the 10 qps bucket: 100 ms, 200 ms, ... although each key's own
  // delay is only 5 ms.
  CHECK(limiter.when(100, Time::zero()) == ms(100));
  CHECK(limiter.when(101, Time::zero()) == ms(200));
  CHECK(limiter.when(102, Time::zero()) == ms(300));
  // Forget does not give bucket tokens back.
  limiter.forget(100);
  CHECK(limiter.when(100, Time::zero()) == ms(400));
  // One second later 10 tokens have been repaid: level -4 + 10 = 6.
  CHECK(limiter.when(103, Time::zero() + Duration::seconds(1)) == ms(5));
}

TEST_CASE("rate limiter reserves a bucket token even when the per-item delay wins") {
  ControllerRateLimiter limiter({}, Time::zero(), 2);
  for (int n = 0; n < 100; ++n) limiter.when(0, Time::zero());
  CHECK(limiter.bucket().tokens_at(Time::zero()) == 0);
  CHECK(limiter.when(1, Time::zero()) == ms(100));
}

TEST_CASE("rate limiter rejects keys outside the key space") {
  ControllerRateLimiter limiter({}, Time::zero(), 3);
  CHECK_THROWS_AS(limiter.when(3, Time::zero()), std::out_of_range);
  CHECK_THROWS_AS(limiter.forget(3), std::out_of_range);
  CHECK_THROWS_AS((void)limiter.num_requeues(3), std::out_of_range);
}
