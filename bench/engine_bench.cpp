// The classic hold model (Vaucher & Duval 1975): keep N events pending; each
// operation pops the earliest and schedules it again at now + Exp(mean).
// Measured for the epsim engine and, in the same binary, for a baseline
// std::priority_queue of std::function events. Both draw the increments from
// the same precomputed table of exponential samples, so the numbers compare
// the pending-event sets, not the random generator.
#include <benchmark/benchmark.h>

#include <functional>
#include <queue>
#include <vector>

#include "sim/random.h"
#include "sim/simulator.h"

namespace {

using epsim::sim::Duration;
using epsim::sim::RandomStream;
using epsim::sim::RunOutcome;
using epsim::sim::Simulator;
using epsim::sim::Time;

constexpr std::size_t kTableSize = 1 << 16;
constexpr std::int64_t kBatch = 1 << 16;  // hold operations per run_until call

const std::vector<std::int64_t>& exponential_table() {
  static const std::vector<std::int64_t> table = [] {
    RandomStream rng(1, "bench/hold");
    std::vector<std::int64_t> t(kTableSize);
    for (auto& v : t) v = 1 + static_cast<std::int64_t>(rng.exponential(1e6));  // mean 1 ms in ns
    return t;
  }();
  return table;
}

struct HoldState {
  Simulator* sim;
  const std::int64_t* table;
  std::size_t next = 0;
  std::int64_t remaining = 0;
};

struct HoldEvent {
  HoldState* state;
  void operator()() const {
    HoldState& s = *state;
    s.sim->schedule_after(Duration::nanoseconds(s.table[s.next++ & (kTableSize - 1)]), HoldEvent{state});
    if (--s.remaining == 0) s.sim->stop();
  }
};

void BM_EngineHold(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  Simulator sim;
  HoldState hold{&sim, exponential_table().data()};
  for (std::size_t i = 0; i < pending; ++i) {
    sim.schedule_at(Time::from_ns(hold.table[hold.next++ & (kTableSize - 1)]), HoldEvent{&hold});
  }
  for (auto _ : state) {
    hold.remaining = kBatch;
    if (sim.run_until(Time::max()) != RunOutcome::stopped) state.SkipWithError("hold run ended early");
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["pending"] = static_cast<double>(sim.pending());
}

struct BaselineEvent {
  std::int64_t time_ns;
  std::uint64_t sequence;
  std::function<void()> action;
  bool operator>(const BaselineEvent& o) const {
    return time_ns > o.time_ns || (time_ns == o.time_ns && sequence > o.sequence);
  }
};

struct Baseline {
  std::priority_queue<BaselineEvent, std::vector<BaselineEvent>, std::greater<>> queue;
  std::int64_t now_ns = 0;
  std::uint64_t sequence = 0;
  const std::int64_t* table = nullptr;
  std::size_t next = 0;

  void schedule(std::int64_t at_ns) {
    queue.push(BaselineEvent{at_ns, sequence++, [this] { schedule(now_ns + table[next++ & (kTableSize - 1)]); }});
  }
  void step() {
    BaselineEvent e = queue.top();
    queue.pop();
    now_ns = e.time_ns;
    e.action();
  }
};

void BM_BaselinePriorityQueueHold(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  Baseline b;
  b.table = exponential_table().data();
  for (std::size_t i = 0; i < pending; ++i) b.schedule(b.table[b.next++ & (kTableSize - 1)]);
  for (auto _ : state) {
    for (std::int64_t i = 0; i < kBatch; ++i) b.step();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["pending"] = static_cast<double>(b.queue.size());
}

}  // namespace

BENCHMARK(BM_EngineHold)->Arg(1'000)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BaselinePriorityQueueHold)->Arg(1'000)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
