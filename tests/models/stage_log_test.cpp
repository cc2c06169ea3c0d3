// StageLog against what it replaces (a vector of writes per object, each with
// its own address vector): per-object order, the two look-ups, and the
// property the flat layout must keep: what it handed out never moves.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "models/stage_log.h"

using epsim::models::PodIp;
using epsim::models::StageLog;
using epsim::models::StageWrite;
using epsim::sim::Duration;
using epsim::sim::Time;

namespace {

Time at_s(std::int64_t s) { return Time::zero() + Duration::seconds(s); }

StageWrite write_at(std::int64_t stored_s, const std::vector<PodIp>& ips) {
  return StageWrite{at_s(stored_s - 3), at_s(stored_s - 2), at_s(stored_s - 1), at_s(stored_s), ips};
}

std::vector<PodIp> ips_of(const StageWrite& w) { return {w.ready_ips.begin(), w.ready_ips.end()}; }

}  // namespace

TEST_CASE("stage log: each object's writes in stored order, interleaved objects apart") {
  StageLog log;
  // Object 2's and object 0's writes interleave; object 1 has none.
  log.record(2, write_at(10, {5, 6}));
  log.record(0, write_at(11, {1}));
  log.record(2, write_at(12, {6}));
  log.record(0, write_at(12, {}));
  log.record(2, write_at(20, {6, 7}));
  CHECK(log.objects() == 3);
  CHECK(log.writes_of(1).empty());
  CHECK(log.writes_of(1).size() == 0);
  CHECK(log.writes_of(99).empty());  // beyond every object recorded
  REQUIRE(log.writes_of(2).size() == 3);
  CHECK(log.writes_of(2)[0].stored == at_s(10));
  CHECK(log.writes_of(2)[1].stored == at_s(12));
  CHECK(log.writes_of(2)[2].stored == at_s(20));
  CHECK(ips_of(log.writes_of(2)[0]) == std::vector<PodIp>{5, 6});
  CHECK(ips_of(log.writes_of(2)[2]) == std::vector<PodIp>{6, 7});
  CHECK(log.writes_of(2)[0].queued == at_s(7));
  CHECK(log.writes_of(2)[0].started == at_s(8));
  CHECK(log.writes_of(2)[0].sent == at_s(9));
  REQUIRE(log.writes_of(0).size() == 2);
  CHECK(ips_of(log.writes_of(0)[0]) == std::vector<PodIp>{1});
  CHECK(log.writes_of(0)[1].ready_ips.empty());
  std::vector<std::int64_t> stored_s;
  for (const StageWrite& w : log.writes_of(2)) stored_s.push_back(w.stored.ns() / 1'000'000'000);
  CHECK(stored_s == std::vector<std::int64_t>{10, 12, 20});
}

TEST_CASE("stage log: the first write from a time on that drops or lists an address") {
  StageLog log;
  log.record(0, write_at(10, {5, 6}));
  log.record(0, write_at(12, {6}));     // drops 5
  log.record(0, write_at(20, {5, 6}));  // lists 5 again
  // Removal of 5 noticed at 10 s: the write stored at 12 s is the first without it.
  const StageWrite* w = log.first_without(0, 5, at_s(10));
  REQUIRE(w != nullptr);
  CHECK(w->stored == at_s(12));
  // Writes stored before `after` do not count, the one at `after` does.
  CHECK(log.first_with(0, 5, at_s(11))->stored == at_s(20));
  CHECK(log.first_with(0, 5, at_s(10))->stored == at_s(10));
  CHECK(log.first_without(0, 5, at_s(13)) == nullptr);
  CHECK(log.first_without(0, 7, at_s(0))->stored == at_s(10));
  CHECK(log.first_with(0, 7, at_s(0)) == nullptr);
  CHECK(log.first_with(1, 5, at_s(0)) == nullptr);  // an object never written
  // The look-ups hand out the log's own writes.
  CHECK(log.first_without(0, 5, at_s(10)) == &log.writes_of(0)[1]);
}

TEST_CASE("stage log: writes and their addresses never move as the log grows, long lists included") {
  StageLog log;
  // More writes than a chunk of the write table and more addresses than a
  // chunk of the address pool (65,536 each), then a list longer than a chunk.
  const std::uint32_t objects = 70'000;
  for (std::uint32_t o = 0; o < objects; ++o) log.record(o, write_at(10, {o, o + 1}));
  const StageWrite* first = &log.writes_of(0)[0];
  const PodIp* first_ips = first->ready_ips.data();
  std::vector<PodIp> long_list(100'000);
  for (std::size_t i = 0; i < long_list.size(); ++i) long_list[i] = static_cast<PodIp>(i);
  log.record(objects, write_at(20, long_list));
  for (std::uint32_t o = 0; o < objects; ++o) log.record(o, write_at(30, {o + 2}));
  CHECK(&log.writes_of(0)[0] == first);
  CHECK(log.writes_of(0)[0].ready_ips.data() == first_ips);
  CHECK(ips_of(*first) == std::vector<PodIp>{0, 1});
  CHECK(ips_of(log.writes_of(objects)[0]) == long_list);
  bool all_kept = true;
  for (std::uint32_t o = 0; o < objects; ++o) {
    const auto writes = log.writes_of(o);
    all_kept = all_kept && writes.size() == 2 && ips_of(writes[0]) == std::vector<PodIp>{o, o + 1} &&
               ips_of(writes[1]) == std::vector<PodIp>{o + 2};
  }
  CHECK(all_kept);
}
