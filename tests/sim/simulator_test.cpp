#include <doctest/doctest.h>

#include <vector>

#include "sim/simulator.h"

using epsim::sim::Duration;
using epsim::sim::EventId;
using epsim::sim::RunOutcome;
using epsim::sim::Simulator;
using epsim::sim::SimulatorOptions;
using epsim::sim::Time;

namespace {
Time at_s(std::int64_t s) { return Time::zero() + Duration::seconds(s); }
}  // namespace

TEST_CASE("events run in time order and same-instant events in scheduling order") {
  Simulator sim;
  std::vector<int> order;
  sim.schedule_at(at_s(5), [&order] { order.push_back(50); });
  for (int i = 0; i < 10; ++i) sim.schedule_at(at_s(3), [&order, i] { order.push_back(30 + i); });
  sim.schedule_at(at_s(1), [&order] { order.push_back(10); });
  CHECK(sim.run_until(at_s(100)) == RunOutcome::reached_end);
  const std::vector<int> expected = {10, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 50};
  CHECK(order == expected);
  CHECK(sim.events_processed() == 12);
  CHECK(sim.now() == at_s(100));
}

TEST_CASE("an event scheduled for now by a running event runs after those already due") {
  Simulator sim;
  std::vector<int> order;
  sim.schedule_at(at_s(1), [&] {
    order.push_back(1);
    sim.schedule_after(Duration::zero(), [&order] { order.push_back(3); });
  });
  sim.schedule_at(at_s(1), [&order] { order.push_back(2); });
  sim.run_until(at_s(1));
  CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("cancel tombstones a pending event in O(1) and is idempotent") {
  Simulator sim;
  int ran = 0;
  const EventId a = sim.schedule_at(at_s(1), [&ran] { ran += 1; });
  const EventId b = sim.schedule_at(at_s(2), [&ran] { ran += 10; });
  CHECK(sim.pending() == 2);
  CHECK(sim.cancel(a));
  CHECK_FALSE(sim.cancel(a));
  CHECK(sim.pending() == 1);
  CHECK(sim.next_event_time() == at_s(2));
  sim.run_until(at_s(10));
  CHECK(ran == 10);
  CHECK_FALSE(sim.cancel(b));  // already ran
  CHECK_FALSE(sim.cancel(EventId{}));
  // A stale id never cancels the event that later reuses its slot.
  const EventId c = sim.schedule_at(at_s(20), [&ran] { ran += 100; });
  CHECK_FALSE(sim.cancel(a));
  CHECK_FALSE(sim.cancel(b));
  sim.run_until(at_s(20));
  CHECK(ran == 110);
  CHECK_FALSE(sim.cancel(c));
}

TEST_CASE("run_until includes events at the end instant and stops before later ones") {
  Simulator sim;
  std::vector<int> order;
  sim.schedule_at(at_s(10), [&order] { order.push_back(10); });
  sim.schedule_at(at_s(10) + Duration::nanoseconds(1), [&order] { order.push_back(11); });
  CHECK(sim.run_until(at_s(10)) == RunOutcome::reached_end);
  CHECK(order == std::vector<int>{10});
  CHECK(sim.now() == at_s(10));
  CHECK(sim.pending() == 1);
  sim.run_until(at_s(11));
  CHECK(order == std::vector<int>{10, 11});
  // The clock never goes back: run_until an earlier time is a no-op.
  sim.run_until(at_s(5));
  CHECK(sim.now() == at_s(11));
  CHECK_THROWS(sim.schedule_at(at_s(3), [] {}));
  CHECK_THROWS(sim.schedule_after(Duration::zero() - Duration::seconds(1), [] {}));
}

TEST_CASE("stop ends the run after the current event") {
  Simulator sim;
  int ran = 0;
  sim.schedule_at(at_s(1), [&] { ++ran; sim.stop(); });
  sim.schedule_at(at_s(1), [&] { ++ran; });
  CHECK(sim.run_until(at_s(5)) == RunOutcome::stopped);
  CHECK(ran == 1);
  CHECK(sim.now() == at_s(1));
  CHECK(sim.run_until(at_s(5)) == RunOutcome::reached_end);
  CHECK(ran == 2);
}

TEST_CASE("the event bound ends a run that would go on forever") {
  Simulator sim(SimulatorOptions{1000});
  struct Loop {
    Simulator* sim;
    void operator()() const { sim->schedule_after(Duration::nanoseconds(1), Loop{sim}); }
  };
  sim.schedule_at(Time::zero(), Loop{&sim});
  CHECK(sim.run_until(Time::max()) == RunOutcome::event_limit);
  CHECK(sim.events_processed() == 1000);
}

TEST_CASE("a large random workload pops in non-decreasing time then sequence order") {
  Simulator sim;
  std::uint64_t x = 12345;
  std::vector<std::pair<std::int64_t, int>> seen;
  for (int i = 0; i < 20000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto t = static_cast<std::int64_t>((x >> 33) % 1000);
    sim.schedule_at(Time::from_ns(t), [&seen, &sim, i] { seen.emplace_back(sim.now().ns(), i); });
  }
  sim.run_until(Time::from_ns(1000));
  REQUIRE(seen.size() == 20000);
  for (std::size_t k = 1; k < seen.size(); ++k) {
    CHECK(seen[k - 1].first <= seen[k].first);
    if (seen[k - 1].first == seen[k].first) CHECK(seen[k - 1].second < seen[k].second);
  }
}
