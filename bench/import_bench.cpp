// `epsim import` of a 100,000-Service dump (issue 17's target: within 10 s CPU
// and 500 MB): tests/tools/kubectl_dump writes the dump once (100,000
// headless Services of 3 pods: about 700 MB of kubectl JSON), then the
// import reads it with the streaming reader. Counters: Services per CPU
// second, input bytes per CPU second, and the process's peak resident bytes
// (the benchmark's own when it runs alone: --benchmark_filter=Import).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "app/kubectl_import.h"

namespace {

void BM_Import100kServices(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / "epsim_import_bench";
  std::filesystem::create_directories(dir);
  const std::string make = std::string(KUBECTL_DUMP_BINARY) + " " + dir.string() + " --headless 100000 --normal 0";
  if (std::system(make.c_str()) != 0) {
    state.SkipWithError("kubectl_dump failed");
    return;
  }
  epsim::app::ImportOptions options;
  options.files = {(dir / "cluster.json").string()};
  const double bytes = static_cast<double>(std::filesystem::file_size(dir / "cluster.json"));
  for (auto _ : state) {
    const std::string yaml = epsim::app::import_scenario(options);
    benchmark::DoNotOptimize(yaml.data());
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["services_per_s"] = benchmark::Counter(100'000 * iterations, benchmark::Counter::kIsRate);
  state.counters["input_bytes_per_s"] = benchmark::Counter(bytes * iterations, benchmark::Counter::kIsRate);
  state.counters["peak_rss_bytes"] = static_cast<double>(usage.ru_maxrss) * 1024.0;
  std::filesystem::remove_all(dir);
}

}  // namespace

BENCHMARK(BM_Import100kServices)->Unit(benchmark::kMillisecond)->Iterations(1);

BENCHMARK_MAIN();
