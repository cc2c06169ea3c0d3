// A set of half-open intervals of virtual time, [start, end), recorded as a
// model runs: the instants during which some condition held (a client waited
// for a token, every worker had a request in flight, the API server had a
// backlog). Intervals arrive in nondecreasing start order, which the engine's
// monotone clock guarantees; overlapping or touching ones are merged, so a
// condition that holds for a whole storm costs one entry.
#pragma once

#include <span>
#include <vector>

#include "sim/time.h"

namespace epsim::sim {

class IntervalSet {
 public:
  struct Interval {
    Time start;
    Time end;
  };

  // Adds [start, end); empty intervals are ignored. `start` must not precede
  // the start of the interval added before.
  void add(Time start, Time end);
  // A condition that begins now and ends at a later close(): the open part
  // counts up to the `end` of a query (a run that ends while it holds).
  void open(Time at);
  void close(Time at);
  bool is_open() const { return open_; }

  // Merged, sorted, disjoint intervals (without the open one).
  const std::vector<Interval>& intervals() const { return intervals_; }
  // Time covered inside [from, to), the open interval included.
  Duration covered(Time from, Time to) const;

 private:
  std::vector<Interval> intervals_;
  bool open_ = false;
  Time open_since_;
  friend class ExclusiveCover;
};

// Splits [from, to) among the sets by precedence: the time covered by the
// first set, then the time covered by the second and not the first, and so
// on; the last element is the time covered by none. The result has
// sets.size() + 1 entries that add up to to - from.
std::vector<Duration> exclusive_cover(std::span<const IntervalSet* const> sets, Time from, Time to);

// exclusive_cover() for many stretches of a finished run (every storm and
// failure window of a report): the timeline is split once into pieces, each
// given to the first set that covers it, so a query costs a few binary
// searches instead of a walk over every interval inside the stretch (a
// 1.3M-Service storm records millions of them, and has tens of thousands of
// windows). The sets must not change while the index is used.
class ExclusiveCover {
 public:
  explicit ExclusiveCover(std::span<const IntervalSet* const> sets);
  // The same as exclusive_cover(sets, from, to).
  std::vector<Duration> query(Time from, Time to) const;
  // Calls on_piece(k, start, end) for the pieces of [from, to) that set k is
  // the first to cover, in time order for each k.
  template <class OnPiece>
  static void carve(std::span<const IntervalSet* const> sets, Time from, Time to, OnPiece&& on_piece);

 private:
  struct Owned {
    std::vector<IntervalSet::Interval> pieces;  // sorted, disjoint
    std::vector<Duration> before;               // before[i]: total length of pieces[0, i)
  };
  std::vector<Owned> owned_;  // one per set
};

}  // namespace epsim::sim
