// Pins golang.org/x/time/rate (as vendored by client-go v0.17.3) behaviour of
// models::TokenBucket on a hand-stepped clock: nothing here runs a simulator.
#include <doctest/doctest.h>

#include <cstdint>
#include <stdexcept>

#include "models/token_bucket.h"

using epsim::models::go_duration_from_seconds;
using epsim::models::go_seconds;
using epsim::models::TokenBucket;
using epsim::sim::Duration;
using epsim::sim::Time;

namespace {
Time at_ms(std::int64_t ms) { return Time::zero() + Duration::milliseconds(ms); }
Duration ms(std::int64_t v) { return Duration::milliseconds(v); }
}  // namespace

TEST_CASE("token bucket starts full and then spaces reservations by 1/qps") {
  TokenBucket bucket(20, 30, Time::zero());
  CHECK(bucket.qps() == 20);
  CHECK(bucket.burst() == 30);
  CHECK(bucket.tokens_at(Time::zero()) == 30);
  for (int i = 0; i < 30; ++i) CHECK(bucket.reserve(Time::zero()) == Duration::zero());
  CHECK(bucket.tokens_at(Time::zero()) == 0);
  // The 31st waits exactly one token time (50 ms), the 32nd two.
  CHECK(bucket.reserve(Time::zero()) == ms(50));
  CHECK(bucket.reserve(Time::zero()) == ms(100));
  CHECK(bucket.reserve(Time::zero()) == ms(150));
  CHECK(bucket.tokens_at(Time::zero()) == -3);
}

TEST_CASE("token bucket reservations are granted in call order") {
  TokenBucket bucket(20, 30, Time::zero());
  for (int i = 0; i < 30; ++i) bucket.reserve(Time::zero());
  Time previous = Time::zero();
  for (int i = 1; i <= 40; ++i) {
    const Time now = at_ms(i);  // callers arrive every 1 ms, faster than 20 qps
    const Time act = now + bucket.reserve(now);
    CHECK(act > previous);
    // Reservation i is due when i tokens have been refilled: i * 50 ms. From
    // the 38th on, Go's float64 level drifts and the truncating conversion
    // lands 1 ns early (reproduced by transcribing x/time/rate's float64 steps;
    // no FMA contraction, as Go on amd64).
    const Duration drift = i >= 38 ? Duration::nanoseconds(1) : Duration::zero();
    CHECK(act == at_ms(50 * i) - drift);
    previous = act;
  }
}

TEST_CASE("token bucket refill is capped at burst") {
  TokenBucket bucket(20, 30, Time::zero());
  for (int i = 0; i < 30; ++i) bucket.reserve(Time::zero());
  CHECK(bucket.tokens_at(at_ms(500)) == doctest::Approx(10));
  CHECK(bucket.tokens_at(at_ms(1500)) == 30);
  // An hour idle still yields only burst tokens.
  const Time later = Time::zero() + Duration::hours(1);
  CHECK(bucket.tokens_at(later) == 30);
  for (int i = 0; i < 30; ++i) CHECK(bucket.reserve(later) == Duration::zero());
  CHECK(bucket.reserve(later) == ms(50));
}

TEST_CASE("token bucket blocked caller waits for the backlog plus its own token") {
  TokenBucket bucket(20, 30, Time::zero());
  for (int i = 0; i < 32; ++i) bucket.reserve(Time::zero());  // level -2, last due at 100 ms
  // At 10 ms the level is -1.8; the next caller takes it to -2.8 and waits
  // until 150 ms.
  CHECK(bucket.reserve(at_ms(10)) == ms(140));
  // A caller after the backlog has drained and the bucket has refilled does
  // not wait.
  CHECK(bucket.tokens_at(at_ms(150)) == doctest::Approx(0).epsilon(1e-12));
  CHECK(bucket.reserve(at_ms(250)) == Duration::zero());
}

TEST_CASE("token bucket try_accept takes a token only when available") {
  TokenBucket bucket(10, 2, Time::zero());
  CHECK(bucket.try_accept(Time::zero()));
  CHECK(bucket.try_accept(Time::zero()));
  CHECK_FALSE(bucket.try_accept(Time::zero()));
  CHECK_FALSE(bucket.try_accept(at_ms(99)));
  // A refused try_accept leaves the level as it was.
  CHECK(bucket.tokens_at(at_ms(99)) == doctest::Approx(0.99));
  CHECK(bucket.try_accept(at_ms(100)));
  CHECK(bucket.tokens_at(at_ms(100)) == doctest::Approx(0).epsilon(1e-12));
  // A reservation may go negative; try_accept then refuses until it is repaid.
  CHECK(bucket.reserve(at_ms(100)) == ms(100));
  CHECK_FALSE(bucket.try_accept(at_ms(150)));
  CHECK(bucket.try_accept(at_ms(300)));
}

TEST_CASE("token bucket set_qps keeps tokens accrued at the old rate") {
  TokenBucket bucket(10, 10, Time::zero());
  for (int i = 0; i < 10; ++i) bucket.reserve(Time::zero());
  CHECK(bucket.tokens_at(at_ms(500)) == doctest::Approx(5));
  bucket.set_qps(at_ms(500), 100);
  CHECK(bucket.qps() == 100);
  CHECK(bucket.tokens_at(at_ms(500)) == doctest::Approx(5));
  CHECK(bucket.tokens_at(at_ms(520)) == doctest::Approx(7));
  CHECK(bucket.tokens_at(at_ms(600)) == 10);  // the cap still applies
}

TEST_CASE("token bucket set_qps applies to a debt already owed") {
  TokenBucket bucket(10, 1, Time::zero());
  CHECK(bucket.reserve(Time::zero()) == Duration::zero());
  CHECK(bucket.reserve(Time::zero()) == ms(100));  // level -1
  bucket.set_qps(Time::zero(), 20);
  CHECK(bucket.reserve(Time::zero()) == ms(100));  // level -2 at 20 qps
  bucket.set_qps(at_ms(50), 5);                     // level -1 at 50 ms
  CHECK(bucket.tokens_at(at_ms(50)) == doctest::Approx(-1));
  CHECK(bucket.reserve(at_ms(50)) == ms(400));      // -2 tokens at 5 qps
}

TEST_CASE("token bucket truncates waits to nanoseconds as Go does") {
  TokenBucket bucket(3, 1, Time::zero());
  CHECK(bucket.reserve(Time::zero()) == Duration::zero());
  CHECK(bucket.reserve(Time::zero()) == Duration::nanoseconds(333'333'333));
  // 2/3 s = 666666666.67 ns: Go's time.Duration(1e9*seconds) truncates.
  CHECK(bucket.reserve(Time::zero()) == Duration::nanoseconds(666'666'666));
  CHECK(go_duration_from_seconds(2.0 / 3.0) == Duration::nanoseconds(666'666'666));
  CHECK(go_duration_from_seconds(-1.5e-9) == Duration::nanoseconds(-1));
  CHECK(go_duration_from_seconds(1e300) == Duration::max());
  CHECK(go_seconds(Duration::nanoseconds(1'500'000'001)) == 1.0 + 500000001.0 / 1e9);
}

TEST_CASE("token bucket flowcontrol factory rounds qps through float32") {
  const TokenBucket bucket = TokenBucket::flowcontrol(0.3, 1, Time::zero());
  CHECK(bucket.qps() == static_cast<double>(0.3F));
  CHECK(bucket.qps() != 0.3);
  CHECK(TokenBucket::flowcontrol(20, 30, Time::zero()).qps() == 20);
}

TEST_CASE("token bucket rejects a non-positive rate or burst") {
  CHECK_THROWS_AS(TokenBucket(0, 1, Time::zero()), std::invalid_argument);
  CHECK_THROWS_AS(TokenBucket(-1, 1, Time::zero()), std::invalid_argument);
  CHECK_THROWS_AS(TokenBucket(1, 0, Time::zero()), std::invalid_argument);
  TokenBucket bucket(1, 1, Time::zero());
  CHECK_THROWS_AS(bucket.set_qps(Time::zero(), 0), std::invalid_argument);
}
