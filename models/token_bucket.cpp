#include "models/token_bucket.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "sim/invariant.h"

namespace epsim::models {

namespace {

void check_qps(double qps) {
  // rate.Inf and a zero limit are legal in Go but never configured here; they
  // would need the special cases of reserveN, so reject them.
  if (!std::isfinite(qps) || !(qps > 0)) throw std::invalid_argument("token bucket qps must be finite and > 0");
}

}  // namespace

double go_seconds(sim::Duration d) {
  // Go time.Duration.Seconds(): sec := d / Second; nsec := d % Second;
  // return float64(sec) + float64(nsec)/1e9.
  const std::int64_t sec = d.ns() / 1'000'000'000;
  const std::int64_t nsec = d.ns() % 1'000'000'000;
  return static_cast<double>(sec) + static_cast<double>(nsec) / 1e9;
}

sim::Duration go_duration_from_seconds(double seconds) {
  const double ns = 1e9 * seconds;
  // 2^63 is exactly representable; anything at or beyond it does not fit.
  if (std::isnan(ns)) return sim::Duration::zero();
  if (ns >= 9223372036854775808.0) return sim::Duration::max();
  if (ns <= -9223372036854775808.0) return sim::Duration::nanoseconds(std::numeric_limits<std::int64_t>::min());
  return sim::Duration::nanoseconds(static_cast<std::int64_t>(ns));  // truncates toward zero, as Go
}

TokenBucket::TokenBucket(double qps, int burst, sim::Time now)
    : qps_(qps), burst_(burst), tokens_(burst), last_(now), last_act_(now) {
  check_qps(qps);
  if (burst < 1) throw std::invalid_argument("token bucket burst must be >= 1");
  // rate.NewLimiter leaves tokens = 0 and last = the zero time; the first
  // advance() then caps the (huge) elapsed time at the refill-to-burst time,
  // so the bucket is full on first use (throttle.go: "initially full"). We
  // store that full level directly, exactly burst.
}

TokenBucket TokenBucket::flowcontrol(double qps, int burst, sim::Time now) {
  // client-go util/flowcontrol/throttle.go: NewTokenBucketRateLimiter(qps float32, ...)
  // -> rate.NewLimiter(rate.Limit(qps), burst).
  return TokenBucket(static_cast<double>(static_cast<float>(qps)), burst, now);
}

sim::Duration TokenBucket::duration_from_tokens(double tokens) const {
  // x/time/rate: durationFromTokens: seconds := tokens / float64(limit);
  // return time.Nanosecond * time.Duration(1e9*seconds)
  return go_duration_from_seconds(tokens / qps_);
}

double TokenBucket::tokens_from_duration(sim::Duration d) const {
  // x/time/rate @9d24e82272b4: tokensFromDuration: return d.Seconds() * float64(limit)
  return go_seconds(d) * qps_;
}

TokenBucket::Advanced TokenBucket::advance(sim::Time now) const {
  // x/time/rate: (*Limiter).advance.
  sim::Time last = last_;
  if (now < last) last = now;
  // Cap elapsed at the time needed to fill the bucket, so a long idle period
  // cannot overflow the multiplication below.
  const sim::Duration max_elapsed = duration_from_tokens(static_cast<double>(burst_) - tokens_);
  sim::Duration elapsed = now - last;
  if (elapsed > max_elapsed) elapsed = max_elapsed;
  double tokens = tokens_ + tokens_from_duration(elapsed);
  if (const double burst = burst_; tokens > burst) tokens = burst;
  return {last, tokens};
}

sim::Duration TokenBucket::reserve(sim::Time now) {
  // x/time/rate: reserveN(now, 1, InfDuration) as called by Reserve(), which
  // client-go's Accept() and BucketRateLimiter.When() use. n = 1 <= burst and
  // maxFutureReserve is infinite, so the reservation is always ok.
  Advanced a = advance(now);
  a.tokens -= 1;
  sim::Duration wait = sim::Duration::zero();
  if (a.tokens < 0) wait = duration_from_tokens(-a.tokens);
  last_ = now;
  tokens_ = a.tokens;
  check_level();
  // x/time/rate grants reservations in call order: with a fixed rate, a later
  // call never acts before an earlier one (each waits for the backlog of the
  // earlier reservations plus its own token).
  EPSIM_INVARIANT(wait >= sim::Duration::zero(), "token bucket reservation with a negative wait");
  EPSIM_INVARIANT(now + wait >= last_act_, "token bucket reservation granted out of call order");
  last_act_ = now + wait;
  return wait;
}

bool TokenBucket::try_accept(sim::Time now) {
  // x/time/rate: AllowN(now, 1) = reserveN(now, 1, 0).ok. A deficit so small
  // that durationFromTokens truncates it to 0 ns is accepted, as in Go.
  Advanced a = advance(now);
  a.tokens -= 1;
  sim::Duration wait = sim::Duration::zero();
  if (a.tokens < 0) wait = duration_from_tokens(-a.tokens);
  const bool ok = wait <= sim::Duration::zero();
  if (ok) {
    last_ = now;
    tokens_ = a.tokens;
  } else {
    // Go: lim.last = last (tokens unchanged).
    last_ = a.last;
  }
  check_level();
  return ok;
}

void TokenBucket::set_qps(sim::Time now, double qps) {
  check_qps(qps);
  // x/time/rate: SetLimitAt: tokens accrued so far count at the old rate.
  const Advanced a = advance(now);
  last_ = now;
  tokens_ = a.tokens;
  qps_ = qps;
  check_level();
  // Reservations already granted keep their times; a faster rate may let
  // the next one act earlier (SetLimitAt), so call order restarts here.
  last_act_ = now;
}

void TokenBucket::check_level() const {
  // The level is refilled up to burst and never beyond; a reservation may take
  // it below zero (docs/model.md §2: token level within [−∞, burst]).
  EPSIM_INVARIANT(tokens_ <= static_cast<double>(burst_), "token bucket level above burst");
  EPSIM_INVARIANT(!std::isnan(tokens_), "token bucket level is NaN");
}

double TokenBucket::tokens_at(sim::Time now) const { return advance(now).tokens; }

}  // namespace epsim::models
