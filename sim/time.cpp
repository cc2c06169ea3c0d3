#include "sim/time.h"

#include <cmath>
#include <string>

namespace epsim::sim {

namespace detail {
void throw_time_overflow(const char* what) {
  throw TimeOverflow(std::string("virtual time overflow in ") + what +
                     " (int64 nanoseconds hold about 292 years)");
}
}  // namespace detail

Duration Duration::from_seconds(double seconds) {
  const double ns = std::nearbyint(seconds * 1e9);
  // 2^63 is exactly representable; anything at or beyond it does not fit.
  if (!std::isfinite(ns) || ns >= 9223372036854775808.0 || ns < -9223372036854775808.0) {
    detail::throw_time_overflow("conversion from seconds");
  }
  return Duration(static_cast<std::int64_t>(ns));
}

Duration operator/(Duration a, std::int64_t k) {
  if (k == 0) throw std::domain_error("duration divided by zero");
  if (k == -1) return Duration(detail::checked_sub(0, a.ns_));
  return Duration(a.ns_ / k);
}

std::int64_t operator/(Duration a, Duration b) {
  if (b.ns_ == 0) throw std::domain_error("duration divided by a zero duration");
  if (b.ns_ == -1 && a.ns_ == std::numeric_limits<std::int64_t>::min()) {
    detail::throw_time_overflow("division");
  }
  return a.ns_ / b.ns_;
}

namespace {

// GCC's 128-bit integer, for exact parsing without overflow on the way.
__extension__ typedef __int128 Int128;

struct Unit {
  std::string_view name;
  std::int64_t ns;
};
// Longest spellings first so that "ms" is not read as "m" followed by "s".
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // U+00B5 micro sign, as Go accepts
    {"\xCE\xBCs", 1'000},  // U+03BC Greek mu, as Go accepts
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
};

[[noreturn]] void fail(std::string_view text, const std::string& why) {
  throw DurationParseError("invalid duration \"" + std::string(text) + "\": " + why);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

// Same grammar as Go's time.ParseDuration: [-+]? (decimal unit)+, or "0".
// The arithmetic is exact (128-bit), so "1.1s" is 1'100'000'000 ns and not a
// double rounding of it.
Duration parse_duration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration::zero();
  if (s.empty()) fail(text, "empty; write a number with a unit, e.g. \"30s\"");

  Int128 total = 0;
  const Int128 limit = static_cast<Int128>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
  while (!s.empty()) {
    Int128 whole = 0;
    Int128 frac = 0;
    Int128 scale = 1;
    bool any_digit = false;
    while (!s.empty() && is_digit(s.front())) {
      whole = whole * 10 + (s.front() - '0');
      if (whole > limit) fail(text, "does not fit in int64 nanoseconds (max about 2562047h)");
      any_digit = true;
      s.remove_prefix(1);
    }
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      while (!s.empty() && is_digit(s.front())) {
        // Digits past nanosecond precision of the largest unit cannot matter.
        if (scale < static_cast<Int128>(1'000'000'000'000'000'000)) {
          frac = frac * 10 + (s.front() - '0');
          scale *= 10;
        }
        any_digit = true;
        s.remove_prefix(1);
      }
    }
    if (!any_digit) fail(text, "expected a number before the unit");
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (s.substr(0, u.name.size()) == u.name &&
          (unit == nullptr || u.name.size() > unit->name.size())) {
        unit = &u;
      }
    }
    if (unit == nullptr) {
      if (s.empty()) fail(text, "missing unit; use ns, us, ms, s, m or h (e.g. \"30s\", \"12h\")");
      fail(text, "unknown unit \"" + std::string(s.substr(0, 2)) + "\"; use ns, us, ms, s, m or h");
    }
    s.remove_prefix(unit->name.size());
    total += whole * unit->ns + frac * unit->ns / scale;
    if (total > limit) fail(text, "does not fit in int64 nanoseconds (max about 2562047h)");
  }
  const auto value = static_cast<std::int64_t>(negative ? -total : total);
  return Duration::nanoseconds(value);
}

namespace {
// Appends v / 10^digits with trailing zeros of the fraction removed.
void append_fixed(std::string& out, std::uint64_t v, int digits) {
  const std::string all = std::to_string(v);
  std::string whole;
  std::string frac;
  if (static_cast<int>(all.size()) > digits) {
    whole = all.substr(0, all.size() - digits);
    frac = all.substr(all.size() - digits);
  } else {
    whole = "0";
    frac = std::string(digits - all.size(), '0') + all;
  }
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  out += whole;
  if (!frac.empty()) out += "." + frac;
}
}  // namespace

std::string format_duration(Duration d) {
  std::int64_t ns = d.ns();
  if (ns == 0) return "0s";
  std::string out;
  // Magnitude as unsigned so that INT64_MIN is representable.
  std::uint64_t u = ns < 0 ? static_cast<std::uint64_t>(0) - static_cast<std::uint64_t>(ns)
                           : static_cast<std::uint64_t>(ns);
  if (ns < 0) out += "-";
  if (u < 1'000) return out + std::to_string(u) + "ns";
  if (u < 1'000'000) { append_fixed(out, u, 3); return out + "µs"; }
  if (u < 1'000'000'000) { append_fixed(out, u, 6); return out + "ms"; }
  const std::uint64_t hours = u / 3'600'000'000'000ULL;
  u -= hours * 3'600'000'000'000ULL;
  const std::uint64_t minutes = u / 60'000'000'000ULL;
  u -= minutes * 60'000'000'000ULL;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  append_fixed(out, u, 9);
  return out + "s";
}

}  // namespace epsim::sim
