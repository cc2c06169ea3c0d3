#include "sim/event_queue.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace epsim::sim {

namespace {

// Min-heap order for std::push_heap/pop_heap (which build max-heaps).
constexpr auto after = [](const EventQueue::Entry& a, const EventQueue::Entry& b) { return EventQueue::before(b, a); };

// Chunks are allocated this many at a time and kept until the queue goes.
constexpr std::size_t kChunksPerBlock = 64;

}  // namespace

EventQueue::EventQueue() : buckets_(kBuckets) {}
EventQueue::~EventQueue() = default;

void EventQueue::add_chunk(Bucket& b) {
  if (free_chunks_ == nullptr) {
    chunk_blocks_.push_back(std::make_unique<Chunk[]>(kChunksPerBlock));
    Chunk* block = chunk_blocks_.back().get();
    for (std::size_t k = 0; k < kChunksPerBlock; ++k) {
      block[k].next = free_chunks_;
      free_chunks_ = &block[k];
    }
  }
  Chunk* c = free_chunks_;
  free_chunks_ = c->next;
  c->next = nullptr;
  if (b.tail == nullptr) {
    b.head = c;
  } else {
    b.tail->next = c;
  }
  b.tail = c;
}

void EventQueue::free_chain(Chunk* head) {
  while (head != nullptr) {
    Chunk* next = head->next;
    head->next = free_chunks_;
    free_chunks_ = head;
    head = next;
  }
}

std::uint32_t EventQueue::grow_slots(const Callback& callback) {
  if (slots_.size() >= (std::size_t{1} << kSlotBits)) throw std::length_error("too many pending events");
  slots_.push_back(callback);
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

void EventQueue::push_late_heap(const Entry& e) {
  if (!late_is_heap_) {
    // A full sorted array: descending order is not a min-heap order, so
    // rebuild it as one.
    std::make_heap(late_.begin(), late_.end(), after);
    late_is_heap_ = true;
  }
  late_.push_back(e);
  std::push_heap(late_.begin(), late_.end(), after);
}

void EventQueue::pop_late_heap() {
  std::pop_heap(late_.begin(), late_.end(), after);
  late_.pop_back();
  if (late_.empty()) late_is_heap_ = false;
}

const EventQueue::Entry& EventQueue::peek() {
  assert(size_ > 0);
  if (late_.empty()) {
    if (run_pos_ == run_end_) refill_run();
    return *run_pos_;
  }
  if (run_pos_ != run_end_ && before(*run_pos_, late_top())) return *run_pos_;
  return late_top();
}

// Every bucket holds its equal-time entries in sequence order: pushes come in
// sequence order, and a redistribution fills only empty buckets, reading its
// source in order. So a stable sort by time alone yields (time, sequence)
// order. An LSD radix sort, 4 bits a pass over just the bits in which the
// times differ (8 or fewer for a level-1 bucket), is stable and avoids the
// mispredicted comparisons that dominated std::sort here.
void EventQueue::sort_run_by_time() {
  const std::size_t n = run_.size();
  if (n <= 16) {
    // Stable insertion sort.
    for (std::size_t i = 1; i < n; ++i) {
      const Entry e = run_[i];
      std::size_t j = i;
      for (; j > 0 && run_[j - 1].time_ns > e.time_ns; --j) run_[j] = run_[j - 1];
      run_[j] = e;
    }
    return;
  }
  std::uint64_t differ = 0;
  for (const Entry& e : run_) differ |= static_cast<std::uint64_t>(e.time_ns ^ run_[0].time_ns);
  if (differ == 0) return;  // one instant
  const int end_bit = 64 - __builtin_clzll(differ);
  run_scratch_.resize(n);
  Entry* src = run_.data();
  Entry* dst = run_scratch_.data();
  for (int shift = __builtin_ctzll(differ); shift < end_bit; shift += 4) {
    std::uint32_t start[16] = {};
    for (std::size_t i = 0; i < n; ++i) ++start[(static_cast<std::uint64_t>(src[i].time_ns) >> shift) & 15];
    std::uint32_t sum = 0;
    for (std::uint32_t& c : start) sum += std::exchange(c, sum);
    for (std::size_t i = 0; i < n; ++i) dst[start[(static_cast<std::uint64_t>(src[i].time_ns) >> shift) & 15]++] = src[i];
    std::swap(src, dst);
  }
  // Both buffers keep their capacity, so swapping them costs nothing later.
  if (src != run_.data()) run_.swap(run_scratch_);
}

void EventQueue::refill_run() {
  assert(run_pos_ == run_end_ && late_.empty() && size_ > 0);
  for (;;) {
    assert(summary_ != 0);
    const auto w = static_cast<std::size_t>(__builtin_ctzll(summary_));
    const auto i = w * 64 + static_cast<std::size_t>(__builtin_ctzll(nonempty_[w]));
    nonempty_[w] &= nonempty_[w] - 1;  // clears bit i, the lowest set one
    if (nonempty_[w] == 0) summary_ &= summary_ - 1;
    const Bucket b = buckets_[i];
    buckets_[i] = Bucket{};
    const int level = static_cast<int>(i) / kDigits;
    const int shift = level * kDigitBits;
    // Bucket (level, digit) holds the times that share base_'s digits above
    // `level` and have `digit` at `level`: [start, start + 2^shift). (Level
    // kLevels - 1 ends at bit 63, so nothing overflows.)
    const int above = shift + kDigitBits;
    const std::uint64_t start = (above >= 64 ? 0 : (base_ >> above) << above) + ((i % kDigits) << shift);

    if (level == 0 || b.size <= kRunSort) {
      run_.clear();
      std::uint32_t left = b.size;
      for (const Chunk* c = b.head; c != nullptr; c = c->next) {
        const std::uint32_t n = std::min(left, kChunkEntries);
        run_.insert(run_.end(), c->entries, c->entries + n);
        left -= n;
      }
      free_chain(b.head);
      sort_run_by_time();
      assert(std::is_sorted(run_.begin(), run_.end(), before));
      run_pos_ = run_.data();
      run_end_ = run_.data() + run_.size();
      run_limit_ = start + (std::uint64_t{1} << shift);
      // pop_if_due prefetches kPrefetchDistance ahead; cover the run's head.
      for (std::size_t k = 0; k < std::min(run_.size(), kPrefetchDistance + 1); ++k) prefetch_callback(run_[k]);
      return;
    }

    // Too large to sort cheaply: rebase on the start of its range and spread
    // it over the levels below (every target is below this, the lowest
    // non-empty bucket, hence empty, so order among equal times is kept).
    base_ = start;
    std::uint32_t left = b.size;
    for (Chunk* c = b.head; c != nullptr;) {
      const std::uint32_t n = std::min(left, kChunkEntries);
      for (std::uint32_t k = 0; k < n; ++k) put(c->entries[k].time_ns, c->entries[k].sequence_slot);
      left -= n;
      Chunk* next = c->next;
      // Freed only once read: the puts above may take chunks from the pool.
      c->next = free_chunks_;
      free_chunks_ = c;
      c = next;
    }
  }
}

}  // namespace epsim::sim
