// How the cost of a run grows with the cluster (issue 12): the incident and
// its resync storm alone at 1x, 10x and 100x the incident's 12,989 Services,
// from the scenarios shipped in scenarios/scale/. Counters: CPU seconds per
// Service, events per CPU second, and the process's peak resident bytes per
// Service, which is only that benchmark's when it runs alone in its process:
//   build/bench/scale_bench --benchmark_filter=storm_x100
// The `storm_linear` family runs the storm at sizes from the incident's
// 12,989 Services up to the input limit (2,000,000) and lets Google Benchmark
// fit CPU time = c * N (its BigO and RMS rows): the issue's "cost stays linear
// in Services" as a fit, not a claim.
//   build/bench/scale_bench --benchmark_filter=storm_linear
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdint>
#include <string>

#include "app/pipeline.h"
#include "app/scenario.h"

namespace {

double peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0;  // Linux reports KiB
}

void run_scale(benchmark::State& state, const std::string& file) {
  const epsim::app::Scenario scenario = epsim::app::load_scenario(std::string(EPSIM_SOURCE_DIR) + "/scenarios/scale/" +
                                                                  file);
  double services = 0;
  for (const auto& c : scenario.clusters) {
    for (const auto& g : c.services) services += g.count;
  }
  std::uint64_t events = 0;
  for (auto _ : state) {
    epsim::app::Pipeline pipeline(scenario);
    pipeline.run();
    events = pipeline.simulator().events_processed();
    benchmark::DoNotOptimize(events);
  }
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["services"] = services;
  state.counters["events"] = static_cast<double>(events);
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(events) * iterations,
                                                      benchmark::Counter::kIsRate);
  state.counters["cpu_s_per_service"] = benchmark::Counter(services * iterations,
                                                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["peak_bytes_per_service"] = peak_rss_bytes() / services;
}

// The storm-x1 scenario with its groups scaled to `services` in total, its
// resync period pinned to outlast the storm and the run to cover one storm:
// the resync PUTs every headless Service's Endpoints through the 20 qps
// bucket, (headless - 30) / 20 s, so a period of 1h + headless / 20 s has no
// second resync inside the storm (a resync every hour, as in storm-x1, would
// walk every Service again each hour of a long storm: cost in N^2).
epsim::app::Scenario storm_of(std::uint32_t services) {
  using epsim::sim::Duration;
  epsim::app::Scenario scenario = epsim::app::load_scenario(std::string(EPSIM_SOURCE_DIR) +
                                                            "/scenarios/scale/storm-x1.yaml");
  epsim::app::ClusterSpec& cluster = scenario.clusters.front();
  auto& groups = cluster.services;
  std::uint64_t incident = 0;
  for (const auto& g : groups) incident += g.count;
  std::uint32_t assigned = 0;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const bool last = i + 1 == groups.size();
    groups[i].count =
        last ? services - assigned : static_cast<std::uint32_t>(std::uint64_t{groups[i].count} * services / incident);
    assigned += groups[i].count;
  }
  const Duration storm = Duration::seconds(groups.front().count / 20);
  const Duration period = Duration::hours(1) + storm;
  cluster.controller_manager.resync_period = period;
  scenario.duration = period + storm + Duration::minutes(15);
  return scenario;
}

void storm_linear(benchmark::State& state) {
  const auto services = static_cast<std::uint32_t>(state.range(0));
  const epsim::app::Scenario scenario = storm_of(services);
  for (auto _ : state) {
    epsim::app::Pipeline pipeline(scenario);
    pipeline.run();
    benchmark::DoNotOptimize(pipeline.simulator().events_processed());
  }
  state.SetComplexityN(services);
  // Sizes run in increasing order, so the process's peak so far is this size's.
  state.counters["peak_bytes_per_service"] = peak_rss_bytes() / services;
}

}  // namespace

BENCHMARK(storm_linear)
    ->Arg(12'989)
    ->Arg(64'945)
    ->Arg(129'890)
    ->Arg(649'450)
    ->Arg(1'298'900)
    ->Arg(2'000'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->Complexity(benchmark::oN);

BENCHMARK_CAPTURE(run_scale, storm_x1, "storm-x1.yaml")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(run_scale, storm_x10, "storm-x10.yaml")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(run_scale, storm_x100, "storm-x100.yaml")->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_CAPTURE(run_scale, incident_x1, "incident-x1.yaml")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(run_scale, incident_x10, "incident-x10.yaml")->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_CAPTURE(run_scale, incident_x100, "incident-x100.yaml")->Unit(benchmark::kMillisecond)->Iterations(1);

BENCHMARK_MAIN();
