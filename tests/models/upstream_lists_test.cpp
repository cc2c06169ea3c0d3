// models/upstream_lists.h: shared upstream lists by id, reference counts, id
// reuse and compaction. Expected contents are the lists given to add().
#include <doctest/doctest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "models/upstream_lists.h"

using epsim::models::PodIp;
using epsim::models::UpstreamLists;

namespace {
std::vector<PodIp> contents(const UpstreamLists& lists, UpstreamLists::Id id) {
  const auto ips = lists.ips(id);
  return {ips.begin(), ips.end()};
}
}  // namespace

TEST_CASE("upstream lists: the empty list is id 0 and never counted") {
  UpstreamLists lists;
  CHECK(lists.add({}) == UpstreamLists::kEmpty);
  CHECK(lists.ips(UpstreamLists::kEmpty).empty());
  lists.retain(UpstreamLists::kEmpty);
  lists.release(UpstreamLists::kEmpty);
  lists.release(UpstreamLists::kEmpty);
  CHECK(lists.live_lists() == 0);
}

TEST_CASE("upstream lists: lists keep their order and live while referenced") {
  UpstreamLists lists;
  const std::vector<PodIp> a{3, 1, 2}, b{7};
  const auto ia = lists.add(a);
  const auto ib = lists.add(b);
  CHECK(ia != ib);
  CHECK(contents(lists, ia) == a);
  CHECK(contents(lists, ib) == b);
  lists.retain(ia);  // two holders
  lists.release(ia);
  CHECK(lists.live_lists() == 2);
  CHECK(contents(lists, ia) == a);
  lists.release(ia);  // the last holder
  CHECK(lists.live_lists() == 1);
  CHECK_THROWS_AS(lists.release(ia), std::logic_error);
  // The released id is reused for the next list.
  const std::vector<PodIp> c{9, 8};
  CHECK(lists.add(c) == ia);
  CHECK(contents(lists, ia) == c);
  CHECK(contents(lists, ib) == b);
}

TEST_CASE("upstream lists: released IPs are compacted away, live lists unchanged") {
  UpstreamLists lists;
  // 3,000 lists of 3 IPs: list k holds 3k, 3k+1, 3k+2.
  std::vector<UpstreamLists::Id> ids;
  for (PodIp k = 0; k < 3000; ++k) ids.push_back(lists.add(std::vector<PodIp>{3 * k, 3 * k + 1, 3 * k + 2}));
  CHECK(lists.pooled_ips() == 9000);
  // Releasing every list but each tenth: 2,700 lists, 8,100 IPs > half of
  // 9,000 and above the 4,096 minimum, so a compaction ran on the way.
  for (std::size_t k = 0; k < ids.size(); ++k) {
    if (k % 10 != 0) lists.release(ids[k]);
  }
  CHECK(lists.live_lists() == 300);
  CHECK(lists.pooled_ips() < 9000);
  CHECK(lists.pooled_ips() >= 900);
  for (std::size_t k = 0; k < ids.size(); k += 10) {
    const auto n = static_cast<PodIp>(k);
    CHECK(contents(lists, ids[k]) == std::vector<PodIp>{3 * n, 3 * n + 1, 3 * n + 2});
  }
}
