// ChunkedArray against the std::vector it stands in for, across chunk
// boundaries, and the property it exists for: appending moves nothing.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "sim/chunked_array.h"

using epsim::sim::ChunkedArray;

TEST_CASE("chunked array: indexes, appends and pops like a vector, and appending moves nothing") {
  using Array = ChunkedArray<std::uint64_t>;
  Array a;
  std::vector<std::uint64_t> v;
  const std::size_t n = 2 * Array::kChunk + 3;  // two full chunks and part of a third
  for (std::size_t i = 0; i < n; ++i) {
    a.push_back(i * 7);
    v.push_back(i * 7);
  }
  const std::uint64_t* first = &a[0];
  const std::uint64_t* last_of_chunk = &a[Array::kChunk - 1];
  for (std::size_t i = 0; i < 4; ++i) a.pop_back(), v.pop_back();  // back across a chunk boundary
  for (std::size_t i = 0; i < Array::kChunk; ++i) a.push_back(1), v.push_back(1);
  CHECK(&a[0] == first);
  CHECK(&a[Array::kChunk - 1] == last_of_chunk);
  REQUIRE(a.size() == v.size());
  a.back() = 42;
  v.back() = 42;
  a.grow_to(a.size() + 5, 9);
  v.resize(v.size() + 5, 9);
  std::vector<std::uint64_t> iterated;
  for (const std::uint64_t x : a) iterated.push_back(x);
  CHECK(iterated == v);
}
