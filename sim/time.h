// Virtual time of the simulation: int64 nanoseconds behind two strong types.
// An instant (Time) and a length (Duration) never mix implicitly, and nothing
// converts silently from double (docs/architecture.md). Arithmetic is checked: an
// overflow of int64 nanoseconds (~292 years) throws TimeOverflow rather than
// wrapping into the past.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

namespace epsim::sim {

class TimeOverflow : public std::overflow_error {
 public:
  using std::overflow_error::overflow_error;
};

namespace detail {
[[noreturn]] void throw_time_overflow(const char* what);

inline std::int64_t checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw_time_overflow("addition");
  return r;
}
inline std::int64_t checked_sub(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) throw_time_overflow("subtraction");
  return r;
}
inline std::int64_t checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw_time_overflow("multiplication");
  return r;
}
}  // namespace detail

class Duration {
 public:
  constexpr Duration() = default;

  static constexpr Duration nanoseconds(std::int64_t ns) { return Duration(ns); }
  static Duration microseconds(std::int64_t us) { return Duration(detail::checked_mul(us, 1'000)); }
  static Duration milliseconds(std::int64_t ms) { return Duration(detail::checked_mul(ms, 1'000'000)); }
  static Duration seconds(std::int64_t s) { return Duration(detail::checked_mul(s, 1'000'000'000)); }
  static Duration minutes(std::int64_t m) { return Duration(detail::checked_mul(m, 60'000'000'000)); }
  static Duration hours(std::int64_t h) { return Duration(detail::checked_mul(h, 3'600'000'000'000)); }
  // Explicit, rounded to the nearest nanosecond; throws TimeOverflow when the
  // value is not finite or does not fit. Used where a model samples a
  // continuous distribution in seconds.
  static Duration from_seconds(double seconds);
  static constexpr Duration zero() { return Duration(0); }
  static constexpr Duration max() { return Duration(std::numeric_limits<std::int64_t>::max()); }

  constexpr std::int64_t ns() const { return ns_; }
  constexpr double seconds_f() const { return static_cast<double>(ns_) / 1e9; }
  constexpr bool is_zero() const { return ns_ == 0; }
  constexpr bool is_negative() const { return ns_ < 0; }

  friend Duration operator+(Duration a, Duration b) { return Duration(detail::checked_add(a.ns_, b.ns_)); }
  friend Duration operator-(Duration a, Duration b) { return Duration(detail::checked_sub(a.ns_, b.ns_)); }
  friend Duration operator*(Duration a, std::int64_t k) { return Duration(detail::checked_mul(a.ns_, k)); }
  friend Duration operator*(std::int64_t k, Duration a) { return a * k; }
  // Integer division truncates toward zero, as in Go's time.Duration.
  friend Duration operator/(Duration a, std::int64_t k);
  friend std::int64_t operator/(Duration a, Duration b);
  Duration& operator+=(Duration o) { return *this = *this + o; }
  Duration& operator-=(Duration o) { return *this = *this - o; }
  friend constexpr auto operator<=>(Duration, Duration) = default;

 private:
  constexpr explicit Duration(std::int64_t ns) : ns_(ns) {}
  std::int64_t ns_ = 0;
};

// An instant of virtual time, measured from the scenario start (Time::zero()).
class Time {
 public:
  constexpr Time() = default;
  static constexpr Time zero() { return Time(0); }
  static constexpr Time from_ns(std::int64_t ns) { return Time(ns); }
  static constexpr Time max() { return Time(std::numeric_limits<std::int64_t>::max()); }

  constexpr std::int64_t ns() const { return ns_; }
  constexpr double seconds_f() const { return static_cast<double>(ns_) / 1e9; }
  constexpr Duration since_start() const { return Duration::nanoseconds(ns_); }

  friend Time operator+(Time t, Duration d) { return Time(detail::checked_add(t.ns_, d.ns())); }
  friend Time operator+(Duration d, Time t) { return t + d; }
  friend Time operator-(Time t, Duration d) { return Time(detail::checked_sub(t.ns_, d.ns())); }
  friend Duration operator-(Time a, Time b) { return Duration::nanoseconds(detail::checked_sub(a.ns_, b.ns_)); }
  Time& operator+=(Duration d) { return *this = *this + d; }
  friend constexpr auto operator<=>(Time, Time) = default;

 private:
  constexpr explicit Time(std::int64_t ns) : ns_(ns) {}
  std::int64_t ns_ = 0;
};

class DurationParseError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Parses a Go time.ParseDuration string ("250ms", "30s", "1h30m", "1.5h",
// "-2m", "0"): the spelling of every Kubernetes duration flag. Units: ns, us
// (or µs), ms, s, m, h. The result must fit int64 nanoseconds. Throws
// DurationParseError with a message that quotes the input.
Duration parse_duration(std::string_view text);

// Formats like Go's Duration.String(): "16h25m0s", "1.5s", "250ms", "0s".
std::string format_duration(Duration d);

}  // namespace epsim::sim
