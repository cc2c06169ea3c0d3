// A growable array stored in fixed-size chunks. Appending never moves what
// is stored: no doubling copy (a std::vector that outgrows its capacity
// briefly holds its old and new buffers, about three times the table at
// that instant) and references stay valid. A chunk fills one 2 MiB huge
// page (sim/large_allocations.h); indexing divides by that constant, which the
// compiler turns into a multiply and a shift (a shift and a mask when T's size
// is a power of two). For per-object tables that grow during a run, such as
// the pods of models/deployment.h (issue 12).
#pragma once

#include <cstddef>
#include <vector>

#include "sim/large_allocations.h"

namespace epsim::sim {

template <class T>
class ChunkedArray {
 public:
  static constexpr std::size_t kChunk = kElementsPerHugePage<T>;  // elements per chunk
  static_assert(kChunk * sizeof(T) >= kLargeAllocationBytes);

  class const_iterator {
   public:
    const_iterator(const ChunkedArray* array, std::size_t at) : array_(array), at_(at) {}
    const T& operator*() const { return (*array_)[at_]; }
    const_iterator& operator++() {
      ++at_;
      return *this;
    }
    friend bool operator==(const const_iterator& a, const const_iterator& b) { return a.at_ == b.at_; }

   private:
    const ChunkedArray* array_;
    std::size_t at_;
  };

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return chunks_[i / kChunk][i % kChunk]; }
  const T& operator[](std::size_t i) const { return chunks_[i / kChunk][i % kChunk]; }
  T& back() { return (*this)[size_ - 1]; }

  void push_back(const T& value) {
    const std::size_t chunk = size_ / kChunk;
    if (chunk == chunks_.size()) {
      chunks_.emplace_back();
      chunks_.back().reserve(kChunk);  // address space only: its huge page is touched when the first element arrives
    }
    chunks_[chunk].push_back(value);
    ++size_;
  }
  // A chunk emptied keeps its buffer, so a size going back and forth across
  // a chunk boundary allocates nothing.
  void pop_back() {
    --size_;
    chunks_[size_ / kChunk].pop_back();
  }
  // Grows to `n` elements, the new ones `value`.
  void grow_to(std::size_t n, const T& value) {
    while (size_ < n) push_back(value);
  }

  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size_}; }

 private:
  std::vector<std::vector<T>> chunks_;
  std::size_t size_ = 0;
};

}  // namespace epsim::sim
