#include <doctest/doctest.h>

#include <functional>
#include <queue>
#include <utility>
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

TEST_CASE("cancelling the earliest event exposes the next one") {
  Simulator sim;
  std::vector<int> order;
  const EventId first = sim.schedule_at(at_s(1), [&order] { order.push_back(1); });
  sim.schedule_at(at_s(1), [&order] { order.push_back(2); });
  const EventId last = sim.schedule_at(at_s(3), [&order] { order.push_back(3); });
  CHECK(sim.next_event_time() == at_s(1));
  CHECK(sim.cancel(first));
  CHECK(sim.pending() == 2);
  CHECK(sim.next_event_time() == at_s(1));
  CHECK(sim.run_until(at_s(1)) == RunOutcome::reached_end);
  CHECK(order == std::vector<int>{2});
  // Cancel the top again, now the only event left; the tombstone goes when
  // next_event_time looks past it.
  CHECK(sim.cancel(last));
  CHECK(sim.next_event_time() == Time::max());
  CHECK(sim.pending() == 0);
  CHECK_FALSE(sim.cancel(first));
  CHECK(sim.run_until(at_s(10)) == RunOutcome::reached_end);
  CHECK(order == std::vector<int>{2});
}

TEST_CASE("a model may schedule at now after next_event_time peeked past now") {
  Simulator sim;
  std::vector<int> order;
  sim.schedule_at(at_s(1), [&order] { order.push_back(1); });
  const EventId cancelled = sim.schedule_at(at_s(2), [&order] { order.push_back(2); });
  for (int i = 0; i < 100; ++i) sim.schedule_at(at_s(50), [&order, i] { order.push_back(1000 + i); });
  sim.run_until(at_s(1));
  CHECK(sim.cancel(cancelled));
  // Discards the tombstone at 2 s and sorts the events at 50 s: past now.
  CHECK(sim.next_event_time() == at_s(50));
  sim.schedule_at(sim.now(), [&order] { order.push_back(3); });
  sim.schedule_at(at_s(2), [&order] { order.push_back(4); });
  sim.schedule_at(at_s(50), [&order] { order.push_back(5); });
  CHECK(sim.next_event_time() == at_s(1));
  sim.run_until(at_s(100));
  REQUIRE(order.size() == 104);
  CHECK(order[0] == 1);
  CHECK(order[1] == 3);
  CHECK(order[2] == 4);
  for (int i = 0; i < 100; ++i) CHECK(order[static_cast<std::size_t>(3 + i)] == 1000 + i);
  CHECK(order[103] == 5);
}

TEST_CASE("a random workload with cancels matches a reference priority queue") {
  // Events reschedule others at random delays (often 0), cancel some pending
  // ones, and peek; the run order must equal a std::priority_queue's over
  // (time, sequence) minus the cancelled events.
  struct Model {
    Simulator sim;
    std::uint64_t rng = 99;
    std::vector<std::pair<std::int64_t, std::uint64_t>> ran;  // (time, sequence)
    std::vector<std::pair<std::int64_t, std::uint64_t>> scheduled;
    std::vector<EventId> ids;
    std::vector<bool> cancelled;
    std::vector<bool> fired;
    std::uint64_t next() {
      rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
      return rng >> 33;
    }
    void schedule(std::int64_t delay) {
      const std::uint64_t seq = ids.size();
      ids.push_back(sim.schedule_after(Duration::nanoseconds(delay), [this, seq] { fire(seq); }));
      scheduled.emplace_back(ids.back().time_ns, seq);
      cancelled.push_back(false);
      fired.push_back(false);
    }
    void fire(std::uint64_t seq) {
      ran.emplace_back(sim.now().ns(), seq);
      fired[seq] = true;
      const std::uint64_t r = next();
      if (ids.size() < 60'000) {
        const std::int64_t delay = r % 4 == 0 ? 0 : static_cast<std::int64_t>(next() % (r % 3 == 0 ? 50 : 1'000'000));
        schedule(delay);
        if (r % 5 == 0) schedule(static_cast<std::int64_t>(next() % 10'000));
      }
      if (r % 7 == 0) {
        const std::uint64_t victim = next() % ids.size();
        const bool pending = !cancelled[victim] && !fired[victim];
        CHECK(sim.cancel(ids[victim]) == pending);
        if (pending) cancelled[victim] = true;
      }
      if (r % 11 == 0) (void)sim.next_event_time();
    }
  };
  Model m;
  for (int i = 0; i < 2000; ++i) m.schedule(static_cast<std::int64_t>(m.next() % 1'000'000));
  CHECK(m.sim.run_until(Time::max()) == RunOutcome::reached_end);
  std::priority_queue<std::pair<std::int64_t, std::uint64_t>, std::vector<std::pair<std::int64_t, std::uint64_t>>,
                      std::greater<>>
      reference;
  for (std::size_t k = 0; k < m.scheduled.size(); ++k) {
    if (!m.cancelled[k]) reference.push(m.scheduled[k]);
  }
  REQUIRE(m.ran.size() == reference.size());
  for (const auto& event : m.ran) {
    REQUIRE(event == reference.top());
    reference.pop();
  }
  CHECK(m.sim.pending() == 0);
}
