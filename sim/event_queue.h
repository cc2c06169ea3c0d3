// The engine's pending-event set: a radix heap (Ahuja, Mehlhorn, Orlin &
// Tarjan 1990) over 128-bit keys (time_ns, sequence). Simulation time is
// monotone (nothing is scheduled before the last event popped), which is all
// a radix heap needs; keys are unique, so the order is exactly (time,
// sequence). Entries move only towards lower buckets, by sequential appends,
// which beats a d-ary heap's dependent loads once the set outgrows L1/L2
// (see bench/engine_bench and docs/architecture.md for the numbers).
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdint>
#include <vector>


namespace epsim::sim {

class EventQueue {
 public:
  // 16 bytes, so that the several moves an entry makes stay cheap; the
  // payload lives in the caller's slot table, indexed by the low bits.
  struct Entry {
    std::int64_t time_ns;         // >= 0
    std::uint64_t sequence_slot;  // sequence << kSlotBits | slot
  };
  static constexpr int kSlotBits = 28;  // up to 268M pending events
  static constexpr std::uint64_t kMaxSequence = (std::uint64_t{1} << (64 - kSlotBits)) - 1;
  static std::uint32_t slot_of(const Entry& e) {
    return static_cast<std::uint32_t>(e.sequence_slot & ((std::uint64_t{1} << kSlotBits) - 1));
  }
  static std::uint64_t sequence_of(const Entry& e) { return e.sequence_slot >> kSlotBits; }
  __extension__ typedef unsigned __int128 Key;
  // Orders by (time, sequence): the slot bits sit below the sequence.
  static Key key(const Entry& e) {
    return (static_cast<Key>(static_cast<std::uint64_t>(e.time_ns)) << 64) | e.sequence_slot;
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  void push(const Entry& e) {
    assert(e.time_ns >= 0);
    const Key k = key(e);
    if (!front_.empty() && k < front_limit_) {
      // Within the range already sorted into the front: insert in order.
      auto it = front_.end();
      while (it != front_.begin() && key(*(it - 1)) < k) --it;
      front_.insert(it, e);
    } else if (k < last_) {
      // Only after a look past the clock (a tombstone discarded ahead of now):
      // every bucketed key is >= last_, so this one leads.
      front_.push_back(e);
      front_limit_ = last_;
    } else {
      put(e);
    }
    ++size_;
  }

  // Removes and returns the earliest entry if its time is <= end_ns.
  bool pop_if_due(std::int64_t end_ns, Entry& out) {
    if (front_.empty()) {
      if (size_ == 0) return false;
      refill_front();
    }
    if (front_.back().time_ns > end_ns) return false;
    out = front_.back();
    front_.pop_back();
    --size_;
    return true;
  }

  // The next entry if it is already known without work, else nullptr (lets
  // the caller prefetch what that entry points to).
  const Entry* upcoming() const { return front_.empty() ? nullptr : &front_.back(); }

  // Earliest entry without removing it; the queue must not be empty.
  const Entry& peek() {
    if (front_.empty()) refill_front();
    return front_.back();
  }

 private:
  // Bucket = bit width of (key XOR last): 0 for the key equal to last.
  int bucket_of(const Entry& e) const {
    const Key x = key(e) ^ last_;
    const auto hi = static_cast<std::uint64_t>(x >> 64);
    const auto lo = static_cast<std::uint64_t>(x);
    if (hi != 0) return 128 - __builtin_clzll(hi);
    return lo == 0 ? 0 : 64 - __builtin_clzll(lo);
  }
  void put(const Entry& e) {
    const int i = bucket_of(e);
    buckets_[static_cast<std::size_t>(i)].push_back(e);
    nonempty_[static_cast<std::size_t>(i) >> 6] |= std::uint64_t{1} << (i & 63);
  }
  // Moves the earliest keys into front_, sorted descending (pop from the
  // back). A large lowest bucket is first split around its minimum, as in a
  // plain radix heap; a small one (<= kFrontSort) is sorted directly, which
  // saves the last several moves of each entry.
  void refill_front() {
    assert(front_.empty() && size_ > 0);
    for (;;) {
      const int i = lowest_nonempty();
      std::vector<Entry>& b = buckets_[static_cast<std::size_t>(i)];
      clear_bit(i);
      if (b.size() <= kFrontSort || i == 0) {
        // Copies rather than swaps keep every vector's capacity where it is
        // needed; swapping buffers around made the allocator churn.
        front_.assign(b.begin(), b.end());
        b.clear();
        std::sort(front_.begin(), front_.end(), [](const Entry& x, const Entry& y) { return key(x) > key(y); });
        // Everything still in the buckets is above bucket i's range.
        front_limit_ = i >= 128 ? ~Key{0} : ((last_ >> i) + 1) << i;
        if (i == 0) front_limit_ = last_ + 1;
        return;
      }
      Key min_key = key(b[0]);
      for (const Entry& e : b) min_key = std::min(min_key, key(e));
      last_ = min_key;
      scratch_.assign(b.begin(), b.end());
      b.clear();
      for (const Entry& e : scratch_) put(e);
    }
  }
  void clear_bit(int i) { nonempty_[static_cast<std::size_t>(i) >> 6] &= ~(std::uint64_t{1} << (i & 63)); }
  int lowest_nonempty() const {
    for (std::size_t w = 0; w < nonempty_.size(); ++w) {
      if (nonempty_[w] != 0) return static_cast<int>(w * 64) + __builtin_ctzll(nonempty_[w]);
    }
    assert(false && "lowest_nonempty on an empty queue");
    return 0;
  }

  static constexpr std::size_t kFrontSort = 32;
  std::array<std::vector<Entry>, 129> buckets_;
  std::vector<Entry> front_;    // earliest entries, sorted descending
  Key front_limit_ = 0;         // every key in the buckets is >= this
  std::vector<Entry> scratch_;
  std::array<std::uint64_t, 3> nonempty_ = {0, 0, 0};
  Key last_ = 0;
  std::size_t size_ = 0;
};

}  // namespace epsim::sim
