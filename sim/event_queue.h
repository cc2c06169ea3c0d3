// The engine's pending-event set: a multi-level radix bucket queue over event
// times, with 16-byte entries ordered exactly by (time_ns, sequence).
//
// Why this shape. Simulation time is monotone (nothing is scheduled before the
// last event popped), so a radix structure works. Relative to a base time
// `base_` (<= every bucketed time), an entry goes to level = index of the
// highest 8-bit digit in which its time differs from `base_`, into the bucket
// of its own digit at that level; buckets in (level, digit) order are in time
// order. To pop, take the lowest non-empty bucket: if it is small (or at
// level 0, a single instant) it becomes the "run", sorted and consumed in
// order; otherwise `base_` moves to the start of its time range and its
// entries spread over lower levels. With 8-bit digits an entry moves about
// once or twice in a typical hold workload (versus ~10 times in a binary radix
// heap), and each move is a sequential append.
//
// Buckets are chains of fixed-size chunks from one pool, recycled most
// recently freed first. Per-bucket vectors would each keep the capacity of
// their busiest moment (hundreds of MB at 1M pending) and every append would
// land in cold memory; chunks keep the footprint near the live size and the
// writes in cache.
//
// Keys that fall in the range already sorted into the run (a model scheduling
// at `now`, or before the run after a peek past now) go to `late_`, merged
// with the run on pop, so every push stays cheap even when the run is huge (a
// million events at one instant). When few events are pending, a small
// bucket far from `base_` spans minutes and becomes the run, and most pushes
// land in `late_` (a 1.3M-Service storm: 3 of its 4 events per sync, with
// at most 8 late keys at a time). So `late_` is an array kept sorted, the
// earliest last, while it holds at most kLateSorted keys (a push shifts a few
// keys, a pop takes the last), and a binary heap from there until it empties.
//
// Callbacks wait in a slot table owned by the queue (a free list reuses the
// most recently freed slot); the buckets move only 16-byte keys. A pop reads
// a random slot, a cache miss once the table outgrows L2, so the queue
// prefetches the callbacks of the next entries of the run.
//
// Deterministic: only times, sequences and slot numbers decide anything
// (chunk addresses only link chunks).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/callback.h"

namespace epsim::sim {

class EventQueue {
 public:
  // A queued key; the callback is in the slot named by the low bits.
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
  // Orders by (time, sequence): the slot bits sit below the sequence.
  static bool before(const Entry& a, const Entry& b) {
    return a.time_ns < b.time_ns || (a.time_ns == b.time_ns && a.sequence_slot < b.sequence_slot);
  }

  // A popped event.
  struct Event {
    std::int64_t time_ns;
    std::uint64_t sequence;
    Callback callback;
  };

  EventQueue();
  ~EventQueue();
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Adds an event. time_ns must be >= 0 and >= the time of every event popped
  // so far; sequence must be <= kMaxSequence and above every earlier one.
  void push(std::int64_t time_ns, std::uint64_t sequence, const Callback& callback) {
    assert(time_ns >= 0 && sequence <= kMaxSequence);
    const std::uint64_t sequence_slot = (sequence << kSlotBits) | allocate_slot(callback);
    if (static_cast<std::uint64_t>(time_ns) < run_limit_) [[unlikely]] {
      push_late(Entry{time_ns, sequence_slot});
    } else {
      put(time_ns, sequence_slot);
    }
    ++size_;
  }

  // Removes the earliest event into `out` if its time is <= end_ns.
  bool pop_if_due(std::int64_t end_ns, Event& out) {
    if (late_.empty()) [[likely]] {
      if (run_pos_ == run_end_) [[unlikely]] {
        if (size_ == 0) return false;
        refill_run();
      }
      if (run_pos_->time_ns > end_ns) return false;
      take(*run_pos_++, out);
      // Start the miss on a callback a few events ahead.
      if (kPrefetchDistance < static_cast<std::size_t>(run_end_ - run_pos_)) {
        prefetch_callback(run_pos_[kPrefetchDistance]);
      }
      return true;
    }
    return pop_merged(end_ns, out);
  }

  // Time and sequence of the earliest event; the queue must not be empty.
  const Entry& peek();

 private:
  static constexpr int kDigitBits = 8;
  static constexpr int kDigits = 1 << kDigitBits;
  static constexpr int kLevels = (64 + kDigitBits - 1) / kDigitBits;
  static constexpr int kBuckets = kLevels * kDigits;
  static constexpr int kWords = kBuckets / 64;
  static_assert(kBuckets % 64 == 0 && kWords <= 64, "one summary bit per bitmap word");
  // A lowest bucket this small is sorted into the run rather than spread one
  // level down (sorting a few dozen keys beats another move of each).
  static constexpr std::uint32_t kRunSort = 256;
  // How far ahead pop_if_due prefetches callbacks: enough events to cover a
  // memory access, few enough that most of a short run benefits.
  static constexpr std::size_t kPrefetchDistance = 6;
  static constexpr std::uint32_t kChunkEntries = 64;  // 1 KiB of entries
  // Late keys kept in a sorted array; past it, a heap (see above).
  static constexpr std::size_t kLateSorted = 32;

  struct alignas(64) Chunk {
    Entry entries[kChunkEntries];
    Chunk* next;
  };
  // Every chunk of a bucket but the tail is full.
  struct Bucket {
    Chunk* head = nullptr;
    Chunk* tail = nullptr;
    std::uint32_t size = 0;
  };

  // Appends an entry to its bucket relative to base_ (requires time >=
  // base_). Takes the fields apart: an Entry built on the stack from two
  // 8-byte stores and copied with one 16-byte load stalls store forwarding.
  void put(std::int64_t time_ns, std::uint64_t sequence_slot) {
    const auto t = static_cast<std::uint64_t>(time_ns);
    assert(t >= base_);
    // `| 1` maps t == base_ to level 0 without a branch.
    const int msb = 63 - __builtin_clzll((t ^ base_) | 1);
    const int level = msb / kDigitBits;
    const auto digit = static_cast<int>((t >> (level * kDigitBits)) & (kDigits - 1));
    const auto i = static_cast<std::size_t>(level * kDigits + digit);
    Bucket& b = buckets_[i];
    const std::uint32_t fill = b.size % kChunkEntries;
    if (fill == 0) [[unlikely]] add_chunk(b);
    b.tail->entries[fill].time_ns = time_ns;
    b.tail->entries[fill].sequence_slot = sequence_slot;
    ++b.size;
    nonempty_[i / 64] |= std::uint64_t{1} << (i % 64);
    summary_ |= std::uint64_t{1} << (i / 64);
  }

  std::uint32_t allocate_slot(const Callback& callback) {
    if (free_slots_.empty()) [[unlikely]] return grow_slots(callback);
    const std::uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = callback;
    return slot;
  }
  // Copies the event out and frees its slot (the callback is copied, so a
  // push from inside it may reuse the slot at once).
  void take(const Entry& e, Event& out) {
    const std::uint32_t slot = slot_of(e);
    out.time_ns = e.time_ns;
    out.sequence = sequence_of(e);
    out.callback = slots_[slot];
    free_slots_.push_back(slot);
    --size_;
  }
  void prefetch_callback(const Entry& e) const {
    // A Callback is 40 bytes: it may straddle two cache lines.
    const char* p = reinterpret_cast<const char*>(&slots_[slot_of(e)]);
    __builtin_prefetch(p);
    __builtin_prefetch(p + sizeof(Callback) - 1);
  }

  void add_chunk(Bucket& b);
  void free_chain(Chunk* head);
  std::uint32_t grow_slots(const Callback& callback);
  // A key below run_limit_. The sorted array's insertion is inline (a
  // storm's three pushes in four, issue 12), the heap out of line.
  void push_late(const Entry& e) {
    if (late_is_heap_ || late_.size() == kLateSorted) [[unlikely]] {
      push_late_heap(e);
      return;
    }
    late_.push_back(e);
    // Shift the earlier keys one place towards the end, past the new one.
    std::size_t i = late_.size() - 1;
    for (; i > 0 && before(late_[i - 1], e); --i) late_[i] = late_[i - 1];
    late_[i] = e;
  }
  void push_late_heap(const Entry& e);
  const Entry& late_top() const { return late_is_heap_ ? late_.front() : late_.back(); }
  // Drops late_top(): the sorted array's last key inline, the heap's top out
  // of line.
  void pop_late() {
    if (late_is_heap_) [[unlikely]] {
      pop_late_heap();
    } else {
      late_.pop_back();
    }
  }
  void pop_late_heap();
  // late_ is not empty. Everything bucketed is >= run_limit_ > every late
  // entry, so only the run's head competes with late_'s earliest.
  bool pop_merged(std::int64_t end_ns, Event& out) {
    const Entry& top = late_top();
    if (run_pos_ != run_end_ && before(*run_pos_, top)) {
      if (run_pos_->time_ns > end_ns) return false;
      take(*run_pos_++, out);
    } else {
      if (top.time_ns > end_ns) return false;
      take(top, out);
      pop_late();
    }
    return true;
  }
  void refill_run();
  void sort_run_by_time();

  // By level * kDigits + digit; on the heap (48 KiB) so that a Simulator
  // stays small enough for the stack.
  std::vector<Bucket> buckets_;
  std::uint64_t nonempty_[kWords] = {};  // bit per non-empty bucket
  std::uint64_t summary_ = 0;            // bit per non-zero nonempty_ word
  std::uint64_t base_ = 0;               // <= every bucketed time

  // The run: the earliest bucketed entries, sorted, consumed from run_pos_.
  // Every bucketed time is >= run_limit_; every run time is below it.
  std::vector<Entry> run_;
  std::vector<Entry> run_scratch_;  // the radix sort's other buffer
  const Entry* run_pos_ = nullptr;
  const Entry* run_end_ = nullptr;
  std::uint64_t run_limit_ = 0;
  // Entries pushed below run_limit_: sorted by (time, sequence) from the
  // latest to the earliest, or a min-heap when late_is_heap_.
  std::vector<Entry> late_;
  bool late_is_heap_ = false;
  std::size_t size_ = 0;

  Chunk* free_chunks_ = nullptr;  // linked through Chunk::next
  std::vector<std::unique_ptr<Chunk[]>> chunk_blocks_;

  std::vector<Callback> slots_;  // callbacks of queued events, by slot
  std::vector<std::uint32_t> free_slots_;
};

}  // namespace epsim::sim
