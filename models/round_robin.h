// The arithmetic of one nginx worker's round robin over its list of peers
// (lua-resty-balancer resty/roundrobin.lua: a pointer that every attempt moves
// one peer on) under nginx's retry rule (ngx_http_upstream_next: retry while
// proxy-next-upstream lists the failure and tries remain; the last attempt's
// status is the request's). Pure functions of the peers' kinds: no time, no
// randomness, no IPs. models::Traffic composes them (docs/model.md §12).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace epsim::models::round_robin {

// What a peer does with an attempt; also a walk's status (0 → 200).
inline constexpr std::uint8_t kLive = 0;
inline constexpr std::uint8_t kTimeout = 1;  // blackholed: connect timeout, 504
inline constexpr std::uint8_t kError = 2;    // refused / unreachable: 502 at once

struct RetryRule {
  int tries = 3;            // total attempts, >= 1 (proxy-next-upstream-tries)
  bool on_timeout = true;   // proxy-next-upstream lists "timeout"
  bool on_error = true;     // … "error"
  bool retried(std::uint8_t kind) const { return kind == kTimeout ? on_timeout : on_error; }
};

// One request's attempts on consecutive peers from `pointer`.
struct Walk {
  std::uint8_t status = kLive;  // the last attempt's kind
  std::uint32_t attempts = 0;
  std::uint32_t timeouts = 0;   // attempts that waited out a connect timeout
  std::uint32_t next = 0;       // the pointer after the walk
};
Walk walk(std::span<const std::uint8_t> kinds, std::uint32_t pointer, const RetryRule& rule);

// Long-run shares of a worker's requests by final status.
struct Shares {
  double f502 = 0, f504 = 0;
  double fail = 0;  // computed as one ratio, not f502 + f504
};

struct StatusCounts {
  std::uint64_t ok = 0, r504 = 0, r502 = 0;
};

// Walks at arrival, one after another: the pointer follows the map p → p +
// attempts(p) (mod n), which from any start reaches a cycle after a tail of at
// most n steps. Everything is O(n) per build, for any number of tries.
class Orbit {
 public:
  void build(std::span<const std::uint8_t> kinds, const RetryRule& rule);
  // The share of failing starts on the cycle `pointer` leads to: the long-run
  // shares of consecutive requests.
  Shares long_run(std::uint32_t pointer);
  // The statuses of the next `requests` requests from `pointer`, which moves
  // on past them: tail + whole cycles + a partial cycle, by prefix counts.
  StatusCounts advance(std::uint32_t& pointer, std::uint64_t requests);

 private:
  std::uint32_t trace(std::uint32_t pointer);  // order_ and prefix_; returns the tail length

  std::vector<std::uint32_t> next_;    // the pointer after a walk from p
  std::vector<std::uint8_t> status_;   // that walk's status
  std::vector<std::uint32_t> seen_;    // trace: index in order_, or none
  std::vector<std::uint32_t> order_;   // trace: tail then cycle
  std::vector<std::uint32_t> prefix_;  // trace: running (ok, 504, 502) counts over order_
};

// Runs that start at a uniformly random peer: a first attempt or a retry
// after a connect timeout, with the errors retried at once after it on the
// next peers. A run ends live (200), in an error not retried or with no tries
// left (502), in a timeout not retried or with no tries left (504), or in a
// retried timeout that comes back later with fewer tries.
class UniformRuns {
 public:
  void build(std::span<const std::uint8_t> kinds, const RetryRule& rule);
  struct Finals {
    double ok = 0, f502 = 0, f504 = 0;
  };
  // `mass` runs with `tries` left: their final statuses into `finals`, their
  // retried timeouts into out[tries left] (out.size() >= tries).
  void spread(int tries, double mass, Finals& finals, std::vector<double>& out) const;
  // The shares of a request if the list never changed: V(r) = finals(r) +
  // Σ out(r)[r'] · V(r'), bottom-up over the tries left.
  Shares long_run() const;

 private:
  RetryRule rule_;
  std::size_t n_ = 0;
  std::vector<double> hist_;  // starts per (retried errors before the stopper, stopper kind)
  bool all_errors_ = false;   // every peer a retried error: no stopper
};

}  // namespace epsim::models::round_robin
