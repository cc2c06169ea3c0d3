#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "sim/vector_growth.h"

using epsim::sim::grow_to;

TEST_CASE("grow_to grows a table by one id or by many, fills the new ids and never shrinks it") {
  std::vector<std::uint32_t> table;
  grow_to(table, 1, 7u);  // one past the end: the push_back path
  CHECK(table == std::vector<std::uint32_t>{7});
  table[0] = 1;
  grow_to(table, 4, 9u);  // several at once: the resize path
  CHECK(table == std::vector<std::uint32_t>{1, 9, 9, 9});
  grow_to(table, 5, 3u);
  CHECK(table == std::vector<std::uint32_t>{1, 9, 9, 9, 3});
  grow_to(table, 2, 5u);  // smaller: unchanged
  grow_to(table, 5, 5u);  // equal: unchanged
  CHECK(table == std::vector<std::uint32_t>{1, 9, 9, 9, 3});
  // A million ids one at a time, as a store seeded in id order grows.
  std::vector<std::uint32_t> seeded;
  for (std::uint32_t id = 0; id < 1'000'000; ++id) {
    grow_to(seeded, std::size_t{id} + 1, 0xffffffffu);
    seeded[id] = id;
  }
  REQUIRE(seeded.size() == 1'000'000);
  CHECK(seeded.front() == 0);
  CHECK(seeded[123'456] == 123'456);
  CHECK(seeded.back() == 999'999);
}
