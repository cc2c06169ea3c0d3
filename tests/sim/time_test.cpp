#include <doctest/doctest.h>

#include <limits>

#include "sim/time.h"

using epsim::sim::Duration;
using epsim::sim::DurationParseError;
using epsim::sim::format_duration;
using epsim::sim::parse_duration;
using epsim::sim::Time;
using epsim::sim::TimeOverflow;

TEST_CASE("parse_duration reads Go duration strings exactly") {
  CHECK(parse_duration("250ms") == Duration::milliseconds(250));
  CHECK(parse_duration("30s") == Duration::seconds(30));
  CHECK(parse_duration("12h") == Duration::hours(12));
  CHECK(parse_duration("1h30m") == Duration::minutes(90));
  CHECK(parse_duration("16h25m") == Duration::seconds(59100));
  CHECK(parse_duration("1.5h") == Duration::minutes(90));
  CHECK(parse_duration("1.1s").ns() == 1'100'000'000);
  CHECK(parse_duration("0.000000001s").ns() == 1);
  CHECK(parse_duration("5us") == Duration::microseconds(5));
  CHECK(parse_duration("5µs") == Duration::microseconds(5));
  CHECK(parse_duration("7ns").ns() == 7);
  CHECK(parse_duration("0") == Duration::zero());
  CHECK(parse_duration("-2m") == Duration::zero() - Duration::minutes(2));
  CHECK(parse_duration("1m1s1ms") == Duration::milliseconds(61'001));
}

TEST_CASE("parse_duration rejects bad strings with a message that quotes them") {
  CHECK_THROWS_WITH_AS(parse_duration(""), doctest::Contains("empty"), DurationParseError);
  CHECK_THROWS_WITH_AS(parse_duration("30"), doctest::Contains("missing unit"), DurationParseError);
  CHECK_THROWS_WITH_AS(parse_duration("10d"), doctest::Contains("unknown unit \"d\""), DurationParseError);
  CHECK_THROWS_WITH_AS(parse_duration("s"), doctest::Contains("expected a number"), DurationParseError);
  CHECK_THROWS_WITH_AS(parse_duration("1h 30m"), doctest::Contains("\"1h 30m\""), DurationParseError);
  CHECK_THROWS_AS(parse_duration("."), DurationParseError);
  CHECK_THROWS_AS(parse_duration("--1s"), DurationParseError);
  // Largest Go duration is 2562047h47m16.854775807s.
  CHECK(parse_duration("2562047h47m16.854775807s") == Duration::max());
  CHECK_THROWS_WITH_AS(parse_duration("2562048h"), doctest::Contains("does not fit"), DurationParseError);
  CHECK_THROWS_WITH_AS(parse_duration("99999999999999999999s"), doctest::Contains("does not fit"),
                       DurationParseError);
}

TEST_CASE("format_duration matches Go's Duration.String") {
  CHECK(format_duration(Duration::zero()) == "0s");
  CHECK(format_duration(Duration::seconds(59100)) == "16h25m0s");
  CHECK(format_duration(Duration::milliseconds(1500)) == "1.5s");
  CHECK(format_duration(Duration::milliseconds(250)) == "250ms");
  CHECK(format_duration(Duration::nanoseconds(42)) == "42ns");
  CHECK(format_duration(Duration::minutes(2)) == "2m0s");
  CHECK(format_duration(Duration::zero() - Duration::seconds(3)) == "-3s");
  CHECK(parse_duration(format_duration(Duration::max())) == Duration::max());
}

TEST_CASE("time arithmetic is exact and checked") {
  const Time t = Time::zero() + Duration::hours(16) + Duration::minutes(25);
  CHECK(t.ns() == 59'100'000'000'000);
  CHECK(t.seconds_f() == doctest::Approx(59100.0));
  CHECK((t - Time::zero()) == Duration::seconds(59100));
  CHECK(Duration::seconds(10) / 4 == Duration::milliseconds(2500));
  CHECK(Duration::hours(1) / Duration::minutes(7) == 8);
  CHECK(Duration::from_seconds(0.0015) == Duration::microseconds(1500));
  CHECK(Duration::seconds(3) * 2 == Duration::seconds(6));
  CHECK(Time::zero() < t);

  CHECK_THROWS_AS(Time::max() + Duration::nanoseconds(1), TimeOverflow);
  CHECK_THROWS_AS(Duration::max() + Duration::nanoseconds(1), TimeOverflow);
  CHECK_THROWS_AS(Duration::hours(std::numeric_limits<std::int64_t>::max() / 1000), TimeOverflow);
  CHECK_THROWS_AS(Duration::seconds(1) * std::numeric_limits<std::int64_t>::max(), TimeOverflow);
  CHECK_THROWS_AS(Duration::from_seconds(1e30), TimeOverflow);
  CHECK_THROWS_AS(Duration::from_seconds(std::numeric_limits<double>::quiet_NaN()), TimeOverflow);
  CHECK_THROWS(Duration::seconds(1) / 0);
}
