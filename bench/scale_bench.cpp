// How the cost of a run grows with the cluster (issue 12): the incident and
// its resync storm alone at 1x, 10x and 100x the incident's 12,989 Services,
// from the scenarios shipped in scenarios/scale/. Counters: CPU seconds per
// Service, events per CPU second, and the process's peak resident bytes per
// Service, which is only that benchmark's when it runs alone in its process:
//   build/bench/scale_bench --benchmark_filter=storm/x100
#include <benchmark/benchmark.h>
#include <sys/resource.h>

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

}  // namespace

BENCHMARK_CAPTURE(run_scale, storm / x1, "storm-x1.yaml")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(run_scale, storm / x10, "storm-x10.yaml")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(run_scale, storm / x100, "storm-x100.yaml")->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_CAPTURE(run_scale, incident / x1, "incident-x1.yaml")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(run_scale, incident / x10, "incident-x10.yaml")->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_CAPTURE(run_scale, incident / x100, "incident-x100.yaml")->Unit(benchmark::kMillisecond)->Iterations(1);

BENCHMARK_MAIN();
