#include "models/round_robin.h"

#include <algorithm>
#include <limits>

#include "sim/invariant.h"

namespace epsim::models::round_robin {

namespace {
constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
}  // namespace

Walk walk(std::span<const std::uint8_t> kinds, std::uint32_t pointer, const RetryRule& rule) {
  const auto n = static_cast<std::uint64_t>(kinds.size());
  const auto tries = static_cast<std::uint64_t>(rule.tries);
  EPSIM_INVARIANT(n > 0 && pointer < n && tries >= 1, "walk on an empty list or with no tries");
  Walk out;
  std::uint64_t timeouts = 0;
  for (std::uint64_t k = 0; k < tries; ++k) {
    if (k == n) {
      // A whole lap of retried dead peers: the rest of the tries repeat it.
      // Count the timeouts of the remaining attempts by laps.
      const std::uint64_t rest = tries - n;
      const std::uint64_t laps = rest / n, part = rest % n;
      std::uint64_t lap_timeouts = 0, part_timeouts = 0;
      for (std::uint64_t j = 0; j < n; ++j) {
        const bool t = kinds[(pointer + j) % n] == kTimeout;
        lap_timeouts += t;
        if (j < part) part_timeouts += t;
      }
      timeouts += laps * lap_timeouts + part_timeouts;
      out.status = kinds[(pointer + tries - 1) % n];
      out.attempts = static_cast<std::uint32_t>(std::min<std::uint64_t>(tries, kNone));
      out.timeouts = static_cast<std::uint32_t>(std::min<std::uint64_t>(timeouts, kNone));
      out.next = static_cast<std::uint32_t>((pointer + tries) % n);
      return out;
    }
    const std::uint64_t p = (pointer + k) % n;
    const std::uint8_t kind = kinds[p];
    if (kind == kTimeout) ++timeouts;
    if (kind == kLive || !rule.retried(kind) || k + 1 == tries) {
      out.status = kind;
      out.attempts = static_cast<std::uint32_t>(k + 1);
      out.timeouts = static_cast<std::uint32_t>(timeouts);
      out.next = static_cast<std::uint32_t>((p + 1) % n);
      return out;
    }
  }
  return out;  // unreachable: tries >= 1
}

// next_[p], status_[p]: the walk from every start p, in O(n) for any tries:
// the walk ends at the first "stopper" (a live peer or a dead one whose kind
// is not retried) if it is fewer than `tries` peers ahead, else after `tries`
// retried dead peers.
void Orbit::build(std::span<const std::uint8_t> kinds, const RetryRule& rule) {
  const std::size_t n = kinds.size();
  const auto tries = static_cast<std::uint64_t>(rule.tries);
  next_.resize(n);
  status_.resize(n);
  seen_.resize(n);  // distance to the next stopper here; trace() reuses it
  auto stopper = [&](std::size_t p) { return kinds[p] == kLive || !rule.retried(kinds[p]); };
  std::uint32_t d = kNone;
  for (std::size_t i = 2 * n; i-- > 0;) {  // going round twice, backwards
    const std::size_t p = i % n;
    if (stopper(p)) {
      d = 0;
    } else if (d != kNone) {
      ++d;
    }
    if (i < n) seen_[p] = d;
  }
  for (std::size_t p = 0; p < n; ++p) {
    if (seen_[p] != kNone && seen_[p] < tries) {
      const std::size_t q = (p + seen_[p]) % n;
      status_[p] = kinds[q];
      next_[p] = static_cast<std::uint32_t>((q + 1) % n);
    } else {
      status_[p] = kinds[(p + tries - 1) % n];
      next_[p] = static_cast<std::uint32_t>((p + tries) % n);
    }
  }
}

std::uint32_t Orbit::trace(std::uint32_t pointer) {
  const std::size_t n = next_.size();
  EPSIM_INVARIANT(pointer < n, "orbit pointer outside the list");
  seen_.assign(n, kNone);
  order_.clear();
  prefix_.assign(3, 0);
  std::uint32_t p = pointer;
  while (seen_[p] == kNone) {
    seen_[p] = static_cast<std::uint32_t>(order_.size());
    order_.push_back(p);
    const std::size_t base = prefix_.size() - 3;
    for (std::size_t s = 0; s < 3; ++s) prefix_.push_back(prefix_[base + s] + (status_[p] == s ? 1U : 0U));
    p = next_[p];
  }
  return seen_[p];
}

Shares Orbit::long_run(std::uint32_t pointer) {
  const std::uint32_t tail = trace(pointer);
  const auto len = static_cast<double>(order_.size() - tail);
  const std::size_t e = 3 * order_.size(), t = 3 * static_cast<std::size_t>(tail);
  const std::uint32_t c504 = prefix_[e + 1] - prefix_[t + 1];
  const std::uint32_t c502 = prefix_[e + 2] - prefix_[t + 2];
  Shares f;
  f.f502 = c502 / len;
  f.f504 = c504 / len;
  f.fail = (c502 + c504) / len;
  return f;
}

StatusCounts Orbit::advance(std::uint32_t& pointer, std::uint64_t requests) {
  StatusCounts c;
  if (requests == 0) return c;
  const std::uint64_t tail = trace(pointer);
  const std::uint64_t size = order_.size(), len = size - tail;
  const std::uint64_t in_tail = std::min(requests, tail);
  const std::uint64_t rest = requests - in_tail;
  const std::uint64_t laps = rest / len, part = rest % len;
  auto count = [&](std::size_t s) {
    const std::uint64_t tail_c = prefix_[3 * in_tail + s];
    const std::uint64_t cycle_c = prefix_[3 * size + s] - prefix_[3 * tail + s];
    const std::uint64_t part_c = rest == 0 ? 0 : prefix_[3 * (tail + part) + s] - prefix_[3 * tail + s];
    return tail_c + laps * cycle_c + part_c;
  };
  c.r504 = count(1);
  c.r502 = count(2);
  c.ok = requests - c.r504 - c.r502;
  pointer = requests < tail ? order_[requests] : order_[tail + part];
  return c;
}

// hist_[3·d + k]: how many starts p meet d retried errors and then a stopper
// of kind k (live, timeout, or an error not retried).
void UniformRuns::build(std::span<const std::uint8_t> kinds, const RetryRule& rule) {
  rule_ = rule;
  n_ = kinds.size();
  hist_.assign(3 * n_, 0.0);
  auto consecutive = [&](std::size_t p) { return kinds[p] == kError && rule.on_error; };
  all_errors_ = std::all_of(kinds.begin(), kinds.end(), [&](std::uint8_t k) { return k == kError; }) && rule.on_error;
  if (all_errors_) return;
  std::uint32_t d = kNone;
  std::uint8_t stop = kLive;
  for (std::size_t i = 2 * n_; i-- > 0;) {  // going round twice, backwards
    const std::size_t p = i % n_;
    if (!consecutive(p)) {
      d = 0;
      stop = kinds[p];
    } else if (d != kNone) {
      ++d;
    }
    if (i < n_) hist_[3 * d + stop] += 1;
  }
}

void UniformRuns::spread(int tries, double mass, Finals& finals, std::vector<double>& out) const {
  EPSIM_INVARIANT(n_ > 0 && tries >= 1 && out.size() >= static_cast<std::size_t>(tries), "spread of runs misused");
  if (all_errors_) {  // every try is a retried error: the last one's 502
    finals.f502 += mass;
    return;
  }
  const double per_start = mass / static_cast<double>(n_);
  const auto t = static_cast<std::size_t>(tries);
  for (std::size_t d = 0; d < n_; ++d) {
    for (std::uint8_t kind = 0; kind < 3; ++kind) {
      const double starts = hist_[3 * d + kind];
      if (starts == 0) continue;
      const double m = starts * per_start;
      if (d >= t) {
        finals.f502 += m;  // the tries ran out on retried errors
      } else if (kind == kLive) {
        finals.ok += m;
      } else if (kind == kError) {
        finals.f502 += m;
      } else if (rule_.on_timeout && d + 1 < t) {
        out[t - d - 1] += m;
      } else {
        finals.f504 += m;
      }
    }
  }
}

Shares UniformRuns::long_run() const {
  const int tries = rule_.tries;
  std::vector<Finals> value(static_cast<std::size_t>(tries) + 1);
  std::vector<double> out(static_cast<std::size_t>(tries), 0.0);
  for (int r = 1; r <= tries; ++r) {
    Finals v;
    std::fill(out.begin(), out.end(), 0.0);
    spread(r, 1.0, v, out);
    for (int left = 1; left < r; ++left) {
      const Finals& later = value[static_cast<std::size_t>(left)];
      const double m = out[static_cast<std::size_t>(left)];
      v.ok += m * later.ok;
      v.f502 += m * later.f502;
      v.f504 += m * later.f504;
    }
    value[static_cast<std::size_t>(r)] = v;
  }
  const Finals& v = value[static_cast<std::size_t>(tries)];
  Shares f;
  f.f502 = v.f502;
  f.f504 = v.f504;
  f.fail = v.f502 + v.f504;
  return f;
}

}  // namespace epsim::models::round_robin
