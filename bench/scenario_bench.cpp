// Wall time of whole scenario runs (the target: the 13k-service incident,
// 24 h of virtual time, well under 1 s on one core), and how it grows with
// the number of services.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "app/pipeline.h"
#include "app/scenario.h"

namespace {

void BM_IncidentScenario(benchmark::State& state) {
  const epsim::app::Scenario scenario = epsim::app::load_scenario("");  // the embedded 1.17.3 incident
  for (auto _ : state) {
    epsim::app::Pipeline pipeline(scenario);
    pipeline.run();
    benchmark::DoNotOptimize(pipeline.simulator().events_processed());
    state.counters["events"] = static_cast<double>(pipeline.simulator().events_processed());
  }
}

// The incident's shape scaled to N headless services (same rates per service).
void BM_ScaledServices(benchmark::State& state) {
  const auto services = state.range(0);
  const auto path = std::filesystem::temp_directory_path() / ("epsim_bench_" + std::to_string(services) + ".yaml");
  std::ofstream(path) << "name: scaled\nseed: 1\nduration: 24h\nclusters:\n  - name: idc\n"
                      << "    apiServer: {mutatingThroughput: 45}\n"
                      << "    controllerManager: {resyncPeriod: 16h25m}\n"
                      << "    services: [{count: " << services << ", namePrefix: web-, headless: true, pods: 3}]\n"
                      << "    deploys: [{ratePerHour: " << (30.0 * static_cast<double>(services) / 13000.0) << "}]\n";
  const epsim::app::Scenario scenario = epsim::app::load_scenario(path.string());
  std::filesystem::remove(path);
  for (auto _ : state) {
    epsim::app::Pipeline pipeline(scenario);
    pipeline.run();
    state.counters["events"] = static_cast<double>(pipeline.simulator().events_processed());
  }
  state.SetComplexityN(services);
}

}  // namespace

BENCHMARK(BM_IncidentScenario)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScaledServices)->Arg(1'300)->Arg(13'000)->Arg(130'000)->Unit(benchmark::kMillisecond)->Complexity();

BENCHMARK_MAIN();
