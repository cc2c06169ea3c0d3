// A token bucket with the arithmetic of golang.org/x/time/rate's Limiter, as
// client-go v0.17.3 wraps it in util/flowcontrol/throttle.go
// (NewTokenBucketRateLimiter) and util/workqueue/default_rate_limiters.go
// (BucketRateLimiter). client-go v0.17.3 pins golang.org/x/time
// v0.0.0-20190308202827-9d24e82272b4, so the conversions below are that
// revision's (tokensFromDuration = d.Seconds() * limit; the split-seconds
// rewrite for golang.org/issues/34861 came later).
//
// State is (tokens, last): the level at instant `last`. Every operation first
// advances the level to `now`; a reservation may drive it negative, which is
// how Go grants reservations in call order: each caller waits until the
// backlog of earlier reservations plus its own token has been refilled.
#pragma once

#include "sim/time.h"

namespace epsim::models {

// Go's time.Duration.Seconds() (Go 1.13): whole seconds plus the nanosecond
// remainder / 1e9, which is not always bit-equal to ns / 1e9.
double go_seconds(sim::Duration d);
// Go's `time.Duration(1e9 * seconds)`: truncation toward zero. Values that do
// not fit int64 saturate (Go's conversion is implementation-defined there).
sim::Duration go_duration_from_seconds(double seconds);

class TokenBucket {
 public:
  // Starts full (burst tokens) at `now`. qps must be finite and > 0, burst >= 1,
  // else std::invalid_argument.
  TokenBucket(double qps, int burst, sim::Time now);

  // flowcontrol.NewTokenBucketRateLimiter(qps float32, burst): the rate goes
  // through float32 first (e.g. --kube-api-qps, ingress-nginx
  // --sync-rate-limit 0.3 -> 0.30000001192092896), as upstream does.
  static TokenBucket flowcontrol(double qps, int burst, sim::Time now);

  // ReserveN(now, 1): advance, take one token (the level may go negative) and
  // return how long the caller waits until its reservation (>= 0).
  sim::Duration reserve(sim::Time now);
  // AllowN(now, 1): take a token only if that needs no wait.
  bool try_accept(sim::Time now);
  // SetLimitAt(now, qps): advance to now at the old rate, then switch.
  void set_qps(sim::Time now, double qps);
  // The level after advancing to now, without changing state.
  double tokens_at(sim::Time now) const;

  double qps() const { return qps_; }
  int burst() const { return burst_; }

 private:
  struct Advanced {
    sim::Time last;  // Go's `newLast`: min(last_, now)
    double tokens;
  };
  Advanced advance(sim::Time now) const;
  sim::Duration duration_from_tokens(double tokens) const;
  double tokens_from_duration(sim::Duration d) const;
  void check_level() const;  // EPSIM_INVARIANT: level <= burst

  double qps_;
  int burst_;
  double tokens_;
  sim::Time last_;
  sim::Time last_act_;  // when the latest reservation may act (invariant check only)
};

}  // namespace epsim::models
