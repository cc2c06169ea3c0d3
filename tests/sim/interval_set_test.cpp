#include "sim/interval_set.h"

#include <doctest/doctest.h>

#include <array>
#include <boost/random/mersenne_twister.hpp>
#include <boost/random/uniform_int_distribution.hpp>

using epsim::sim::Duration;
using epsim::sim::exclusive_cover;
using epsim::sim::IntervalSet;
using epsim::sim::Time;

namespace {
Time at(std::int64_t s) { return Time::zero() + Duration::seconds(s); }
Duration secs(std::int64_t s) { return Duration::seconds(s); }
}  // namespace

TEST_CASE("IntervalSet merges overlapping and touching intervals and ignores empty ones") {
  IntervalSet set;
  set.add(at(0), at(10));
  set.add(at(5), at(8));    // inside
  set.add(at(10), at(12));  // touching
  set.add(at(12), at(12));  // empty
  set.add(at(20), at(25));
  REQUIRE(set.intervals().size() == 2);
  CHECK(set.intervals()[0].start == at(0));
  CHECK(set.intervals()[0].end == at(12));
  CHECK(set.intervals()[1].start == at(20));
  CHECK(set.covered(at(0), at(100)) == secs(17));
  CHECK(set.covered(at(11), at(22)) == secs(3));  // 11..12 and 20..22
  CHECK(set.covered(at(12), at(20)) == secs(0));
}

TEST_CASE("IntervalSet counts an open interval up to the end of the query") {
  IntervalSet set;
  set.open(at(10));
  set.open(at(11));  // already open: the first start stays
  CHECK(set.is_open());
  CHECK(set.covered(at(0), at(30)) == secs(20));
  set.close(at(15));
  set.close(at(16));  // already closed: nothing
  CHECK_FALSE(set.is_open());
  CHECK(set.covered(at(0), at(30)) == secs(5));
}

TEST_CASE("exclusive_cover attributes each moment to the first set that covers it") {
  IntervalSet first, second, third;
  first.add(at(10), at(20));
  second.add(at(15), at(30));  // 15..20 already the first's
  third.add(at(0), at(5));
  third.add(at(25), at(40));   // 25..30 already the second's
  const std::array<const IntervalSet*, 3> sets{&first, &second, &third};
  const auto shares = exclusive_cover(sets, at(0), at(50));
  REQUIRE(shares.size() == 4);
  CHECK(shares[0] == secs(10));  // 10..20
  CHECK(shares[1] == secs(10));  // 20..30
  CHECK(shares[2] == secs(15));  // 0..5 and 30..40
  CHECK(shares[3] == secs(15));  // 5..10 and 40..50
  // A window inside: 12..27 is 8 s first, 7 s second.
  const auto inner = exclusive_cover(sets, at(12), at(27));
  CHECK(inner[0] == secs(8));
  CHECK(inner[1] == secs(7));
  CHECK(inner[2] == secs(0));
  CHECK(inner[3] == secs(0));
}

TEST_CASE("ExclusiveCover answers every stretch as exclusive_cover does") {
  // Random sets (some left open) and random stretches, against the direct
  // computation: same shares to the nanosecond.
  boost::random::mt19937_64 rng(7);
  auto draw = [&](std::int64_t lo, std::int64_t hi) {
    return boost::random::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  for (int trial = 0; trial < 50; ++trial) {
    std::array<IntervalSet, 4> sets;
    for (auto& set : sets) {
      std::int64_t t = draw(0, 20);
      const int n = static_cast<int>(draw(0, 40));
      for (int i = 0; i < n; ++i) {
        const std::int64_t start = t + draw(0, 30);
        const std::int64_t end = start + draw(0, 25);
        set.add(at(start), at(end));
        t = start;
      }
      if (draw(0, 3) == 0) set.open(at(t + draw(0, 40)));
    }
    const std::array<const IntervalSet*, 4> view{&sets[0], &sets[1], &sets[2], &sets[3]};
    const epsim::sim::ExclusiveCover index(view);
    for (int q = 0; q < 40; ++q) {
      const std::int64_t from = draw(0, 900);
      const std::int64_t to = from + draw(0, 600);
      CAPTURE(trial);
      CAPTURE(from);
      CAPTURE(to);
      CHECK(index.query(at(from), at(to)) == exclusive_cover(view, at(from), at(to)));
    }
  }
}
