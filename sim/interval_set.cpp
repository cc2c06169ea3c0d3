#include "sim/interval_set.h"

#include <algorithm>

#include "sim/invariant.h"

namespace epsim::sim {

void IntervalSet::add(Time start, Time end) {
  if (!(start < end)) return;
  if (!intervals_.empty()) {
    Interval& last = intervals_.back();
    EPSIM_INVARIANT(!(start < last.start), "intervals added out of start order");
    if (!(last.end < start)) {  // overlaps or touches: extend
      if (last.end < end) last.end = end;
      return;
    }
  }
  intervals_.push_back({start, end});
}

void IntervalSet::open(Time at) {
  if (open_) return;
  open_ = true;
  open_since_ = at;
}

void IntervalSet::close(Time at) {
  if (!open_) return;
  open_ = false;
  add(open_since_, at);
}

namespace {

using Interval = IntervalSet::Interval;

// The set's intervals clipped to [from, to), the open one included.
std::vector<Interval> clipped(const std::vector<Interval>& all, bool open, Time open_since, Time from, Time to) {
  std::vector<Interval> out;
  // The first interval that ends after `from`.
  auto it = std::partition_point(all.begin(), all.end(), [from](const Interval& i) { return !(from < i.end); });
  for (; it != all.end() && it->start < to; ++it) out.push_back({std::max(it->start, from), std::min(it->end, to)});
  if (open && open_since < to) {
    const Interval tail{std::max(open_since, from), to};
    if (!out.empty() && !(out.back().end < tail.start)) {
      out.back().end = std::max(out.back().end, tail.end);
    } else if (tail.start < tail.end) {
      out.push_back(tail);
    }
  }
  return out;
}

}  // namespace

Duration IntervalSet::covered(Time from, Time to) const {
  Duration total = Duration::zero();
  for (const Interval& i : clipped(intervals_, open_, open_since_, from, to)) total += i.end - i.start;
  return total;
}

template <class OnPiece>
void ExclusiveCover::carve(std::span<const IntervalSet* const> sets, Time from, Time to, OnPiece&& on_piece) {
  if (!(from < to)) return;
  std::vector<Interval> remaining{{from, to}};  // sorted, disjoint: not yet attributed
  for (std::size_t k = 0; k < sets.size(); ++k) {
    const IntervalSet& set = *sets[k];
    const std::vector<Interval> cover = clipped(set.intervals_, set.open_, set.open_since_, from, to);
    std::vector<Interval> next;
    std::size_t c = 0;
    for (Interval r : remaining) {
      // Walk the cover intervals that overlap r; what lies between them stays.
      while (c < cover.size() && !(r.start < cover[c].end)) ++c;
      std::size_t j = c;
      while (j < cover.size() && cover[j].start < r.end && r.start < r.end) {
        if (r.start < cover[j].start) next.push_back({r.start, cover[j].start});
        const Time cut_start = std::max(r.start, cover[j].start);
        const Time cut_end = std::min(r.end, cover[j].end);
        on_piece(k, cut_start, cut_end);
        r.start = cut_end;
        if (cover[j].end < r.end || cover[j].end == r.end) ++j;
      }
      if (r.start < r.end) next.push_back(r);
      c = j;
    }
    remaining = std::move(next);
  }
}

std::vector<Duration> exclusive_cover(std::span<const IntervalSet* const> sets, Time from, Time to) {
  std::vector<Duration> shares(sets.size() + 1, Duration::zero());
  if (!(from < to)) return shares;
  Duration covered = Duration::zero();
  ExclusiveCover::carve(sets, from, to, [&](std::size_t k, Time start, Time end) {
    shares[k] += end - start;
    covered += end - start;
  });
  shares.back() = (to - from) - covered;
  return shares;
}

ExclusiveCover::ExclusiveCover(std::span<const IntervalSet* const> sets) : owned_(sets.size()) {
  // Open intervals run to the end of any query: carve to the end of time.
  carve(sets, Time::zero(), Time::max(), [&](std::size_t k, Time start, Time end) {
    Owned& o = owned_[k];
    o.before.push_back(o.pieces.empty() ? Duration::zero() : o.before.back() + (o.pieces.back().end - o.pieces.back().start));
    o.pieces.push_back({start, end});
  });
}

std::vector<Duration> ExclusiveCover::query(Time from, Time to) const {
  std::vector<Duration> shares(owned_.size() + 1, Duration::zero());
  if (!(from < to)) return shares;
  Duration covered = Duration::zero();
  for (std::size_t k = 0; k < owned_.size(); ++k) {
    const auto& pieces = owned_[k].pieces;
    // Pieces [a, b) overlap [from, to).
    const auto a = static_cast<std::size_t>(
        std::partition_point(pieces.begin(), pieces.end(), [from](const Interval& i) { return !(from < i.end); }) -
        pieces.begin());
    const auto b = static_cast<std::size_t>(
        std::partition_point(pieces.begin(), pieces.end(), [to](const Interval& i) { return i.start < to; }) -
        pieces.begin());
    if (a >= b) continue;
    auto overlap = [&](const Interval& i) { return std::min(i.end, to) - std::max(i.start, from); };
    Duration d = overlap(pieces[a]);
    if (b - a > 1) {
      // The pieces strictly between the first and the last lie inside the
      // stretch (the last may run to the end of time: only its overlap counts).
      d += owned_[k].before[b - 1] - owned_[k].before[a + 1];
      d += overlap(pieces[b - 1]);
    }
    shares[k] = d;
    covered += d;
  }
  shares.back() = (to - from) - covered;
  return shares;
}

}  // namespace epsim::sim
