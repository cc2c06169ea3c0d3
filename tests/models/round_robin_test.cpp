// models/round_robin.h alone: the closed forms against step-by-step walks
// (docs/model.md §12). Expected values come from walk(), which takes the peers
// one by one as nginx does, from hand computations, or from a Monte Carlo of
// uniform run starts.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "models/round_robin.h"
#include "sim/random.h"

namespace rr = epsim::models::round_robin;

namespace {

// Peer kinds of `pattern` over n peers: bit i set → peer i dead with `dead`.
std::vector<std::uint8_t> kinds_of(std::uint32_t pattern, std::size_t n, std::uint8_t dead) {
  std::vector<std::uint8_t> k(n, rr::kLive);
  for (std::size_t i = 0; i < n; ++i) {
    if ((pattern >> i) & 1U) k[i] = dead;
  }
  return k;
}

// Orbit::advance from `start` over `requests` requests against that many
// walk() calls one after another (walk() takes the peers one by one).
void check_advance_against_walks(rr::Orbit& orbit, const std::vector<std::uint8_t>& k, const rr::RetryRule& rule,
                                 std::uint32_t start, std::uint64_t requests) {
  orbit.build(k, rule);
  std::uint32_t p = start;
  rr::StatusCounts want;
  for (std::uint64_t i = 0; i < requests; ++i) {
    const rr::Walk w = rr::walk(k, p, rule);
    p = w.next;
    (w.status == rr::kLive ? want.ok : w.status == rr::kTimeout ? want.r504 : want.r502) += 1;
  }
  std::uint32_t q = start;
  const rr::StatusCounts got = orbit.advance(q, requests);
  CAPTURE(start);
  CAPTURE(requests);
  CHECK(got.ok == want.ok);
  CHECK(got.r504 == want.r504);
  CHECK(got.r502 == want.r502);
  CHECK(q == p);
}

}  // namespace

TEST_CASE("round robin walk takes consecutive peers and keeps the last status") {
  const rr::RetryRule rule;  // 3 tries, timeout and error retried
  const std::vector<std::uint8_t> k{rr::kTimeout, rr::kError, rr::kLive};
  rr::Walk w = rr::walk(k, 0, rule);
  CHECK(w.status == rr::kLive);
  CHECK(w.attempts == 3);
  CHECK(w.timeouts == 1);
  CHECK(w.next == 0);
  w = rr::walk(k, 1, rule);  // error, live
  CHECK(w.status == rr::kLive);
  CHECK(w.attempts == 2);
  const std::vector<std::uint8_t> dead{rr::kTimeout, rr::kError};
  w = rr::walk(dead, 0, rule);  // timeout, error, timeout: the last one counts
  CHECK(w.status == rr::kTimeout);
  CHECK(w.attempts == 3);
  CHECK(w.timeouts == 2);
  CHECK(w.next == 1);
  rr::RetryRule no_timeout = rule;
  no_timeout.on_timeout = false;
  w = rr::walk(dead, 0, no_timeout);
  CHECK(w.attempts == 1);
  CHECK(w.status == rr::kTimeout);
  // 100 tries round one dead peer: laps, not 100 iterations of state.
  rr::RetryRule many = rule;
  many.tries = 100;
  w = rr::walk(std::vector<std::uint8_t>{rr::kTimeout}, 0, many);
  CHECK(w.attempts == 100);
  CHECK(w.timeouts == 100);
}

// Orbit::advance gives, for every pattern, start and count, what that many
// walks one after another give.
TEST_CASE("round robin orbit advance equals consecutive walks") {
  rr::Orbit orbit;
  for (std::size_t n = 1; n <= 6; ++n) {
    for (std::uint32_t pattern = 0; pattern < (1U << n); ++pattern) {
      for (int tries = 1; tries <= 4; ++tries) {
        for (std::uint8_t dead : {rr::kTimeout, rr::kError}) {
          const auto k = kinds_of(pattern, n, dead);
          CAPTURE(n);
          CAPTURE(pattern);
          CAPTURE(tries);
          for (std::uint32_t start = 0; start < n; ++start) {
            for (std::uint64_t requests : {0U, 1U, 2U, 5U, 13U, 40U}) {
              check_advance_against_walks(orbit, k, rr::RetryRule{tries, true, true}, start, requests);
            }
          }
        }
      }
    }
  }
}

// Peers of every kind mixed (3^n patterns of up to 5 peers): a walk whose
// tries run out on retried dead peers of both kinds ends with the last
// attempt's status, which advance() must give as walk() does.
TEST_CASE("round robin orbit advance equals consecutive walks with mixed dead kinds") {
  rr::Orbit orbit;
  for (std::size_t n = 1; n <= 5; ++n) {
    std::size_t patterns = 1;
    for (std::size_t i = 0; i < n; ++i) patterns *= 3;
    for (std::size_t code = 0; code < patterns; ++code) {
      std::vector<std::uint8_t> k;
      for (std::size_t i = 0, c = code; i < n; ++i, c /= 3) k.push_back(static_cast<std::uint8_t>(c % 3));
      for (int tries = 1; tries <= 4; ++tries) {
        CAPTURE(code);
        CAPTURE(tries);
        for (std::uint32_t start = 0; start < n; ++start) {
          check_advance_against_walks(orbit, k, rr::RetryRule{tries, true, true}, start, 3 * n + 2);
        }
      }
    }
  }
}

// The failure share of walks at arrival does not depend on where the pointer
// starts: every cycle of the map holds the same share (what lets Traffic use
// one long-run fraction whatever the random start). Checked for every
// pattern of up to 10 peers and tries 1..5, and against the share of 10·n!
// consecutive walks.
TEST_CASE("round robin orbit long run share is the same from every start") {
  rr::Orbit orbit;
  for (std::size_t n = 1; n <= 10; ++n) {
    for (std::uint32_t pattern = 0; pattern < (1U << n); ++pattern) {
      for (int tries = 1; tries <= 5; ++tries) {
        const auto k = kinds_of(pattern, n, rr::kTimeout);
        const rr::RetryRule rule{tries, true, true};
        orbit.build(k, rule);
        const double first = orbit.long_run(0).fail;
        bool same = true;
        for (std::uint32_t start = 1; start < n; ++start) same = same && orbit.long_run(start).fail == first;
        CAPTURE(n);
        CAPTURE(pattern);
        CAPTURE(tries);
        CHECK(same);
        if (n <= 4) {
          std::uint32_t p = 0;
          std::uint64_t failed = 0;
          const std::uint64_t walks = 20000;
          for (std::uint64_t i = 0; i < walks; ++i) {
            const rr::Walk w = rr::walk(k, p, rule);
            p = w.next;
            failed += w.status != rr::kLive;
          }
          // The tail and a partial cycle: fewer than n walks off.
          CHECK(std::abs(static_cast<double>(failed) - first * walks) < static_cast<double>(n));
        }
      }
    }
  }
}

TEST_CASE("round robin uniform runs by hand") {
  rr::UniformRuns runs;
  SUBCASE("one blackholed peer of two, three tries: every try must land on it") {
    runs.build(std::vector<std::uint8_t>{rr::kTimeout, rr::kLive}, rr::RetryRule{});
    CHECK(runs.long_run().f504 == 0.125);
    CHECK(runs.long_run().f502 == 0);
  }
  SUBCASE("three blackholed of four: (3/4)^3") {
    runs.build(std::vector<std::uint8_t>{rr::kTimeout, rr::kTimeout, rr::kTimeout, rr::kLive}, rr::RetryRule{});
    CHECK(runs.long_run().f504 == doctest::Approx(27.0 / 64));
  }
  SUBCASE("a refused peer passes its run on at once") {
    runs.build(std::vector<std::uint8_t>{rr::kError, rr::kLive}, rr::RetryRule{});
    CHECK(runs.long_run().fail == 0);
  }
  SUBCASE("every peer refused: the last try's 502") {
    runs.build(std::vector<std::uint8_t>{rr::kError, rr::kError}, rr::RetryRule{});
    CHECK(runs.long_run().f502 == 1);
  }
  SUBCASE("one run: finals and the retried timeouts add up to the mass, by tries left") {
    // {timeout, error, live}, 3 tries, mass 3: start 0 waits with 2 left;
    // start 1: error then live (200); start 2: live.
    runs.build(std::vector<std::uint8_t>{rr::kTimeout, rr::kError, rr::kLive}, rr::RetryRule{});
    rr::UniformRuns::Finals f;
    std::vector<double> out(3, 0.0);
    runs.spread(3, 3.0, f, out);
    CHECK(f.ok == 2);
    CHECK(f.f502 == 0);
    CHECK(f.f504 == 0);
    CHECK(out[2] == 1);
    CHECK(out[1] == 0);
    // With one try left: start 0 → 504, start 1 → 502 (no try for the live peer).
    rr::UniformRuns::Finals g;
    std::fill(out.begin(), out.end(), 0.0);
    runs.spread(1, 3.0, g, out);
    CHECK(g.ok == 1);
    CHECK(g.f502 == 1);
    CHECK(g.f504 == 1);
  }
}

// Monte Carlo of the model itself: each run starts at a uniformly drawn peer,
// takes retried errors at once and comes back at a new uniform peer after a
// retried timeout. long_run() must match the simulated shares.
TEST_CASE("round robin uniform runs match a Monte Carlo of uniform starts") {
  epsim::sim::RandomStream rng(42, "test/uniform-runs");
  rr::UniformRuns runs;
  const std::vector<std::vector<std::uint8_t>> lists{
      {rr::kTimeout, rr::kError, rr::kTimeout, rr::kLive, rr::kLive},
      {rr::kError, rr::kTimeout, rr::kError, rr::kLive},
      {rr::kTimeout, rr::kTimeout, rr::kLive, rr::kError, rr::kError, rr::kLive},
  };
  for (const auto& k : lists) {
    for (int tries = 1; tries <= 4; ++tries) {
      const rr::RetryRule rule{tries, true, true};
      runs.build(k, rule);
      const rr::Shares want = runs.long_run();
      const int requests = 40000;
      int f502 = 0, f504 = 0;
      for (int i = 0; i < requests; ++i) {
        int left = tries;
        std::uint8_t status = rr::kLive;
        auto p = static_cast<std::size_t>(rng.uniform_int(0, static_cast<std::int64_t>(k.size()) - 1));
        while (true) {
          status = k[p];
          --left;
          if (status == rr::kLive || left == 0) break;
          if (status == rr::kError) {
            p = (p + 1) % k.size();  // at once, the next peer
          } else {
            p = static_cast<std::size_t>(rng.uniform_int(0, static_cast<std::int64_t>(k.size()) - 1));
          }
        }
        f502 += status == rr::kError;
        f504 += status == rr::kTimeout;
      }
      CAPTURE(tries);
      const auto close = [&](double share, int count) {
        const double sd = std::sqrt(requests * share * (1 - share)) + 1;
        return std::abs(count - share * requests) < 4 * sd;
      };
      CHECK(close(want.f502, f502));
      CHECK(close(want.f504, f504));
    }
  }
}
