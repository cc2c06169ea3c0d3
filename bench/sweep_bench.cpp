// Wall time of a 100-point incident sweep in one process against the same 100
// points as separate `epsim run` processes (the bar: `sweep --jobs 2`
// at least 2x faster than the separate runs on the same machine).  Both spawn
// the built epsim binary, so process start-up and output formatting count.
#include <benchmark/benchmark.h>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

extern char** environ;

namespace {

constexpr int kPoints = 100;  // --vary kube-api-qps=1..100/100 gives exactly 1, 2, ..., 100

// Runs EPSIM_BINARY with args, stdout to /dev/null; returns "" or what went wrong.
std::string run_epsim(const std::vector<std::string>& args) {
  std::vector<std::string> argv_strings{EPSIM_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) return "cannot start " + argv_strings[0];

  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return "waitpid failed";
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string command;
    for (const auto& a : argv_strings) command += a + ' ';
    return command + "failed (status " + std::to_string(status) + ")";
  }
  return "";
}

double children_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

void set_counters(benchmark::State& state, double child_cpu) {
  state.counters["points"] = kPoints;
  state.counters["points_per_s"] =
      benchmark::Counter(static_cast<double>(kPoints), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["child_cpu_s"] =
      benchmark::Counter(child_cpu, benchmark::Counter::kAvgIterations);  // user+sys of the epsim processes
}

// 100 sequential `epsim run --kube-api-qps Q --format json` processes, Q = 1..100.
void BM_SeparateRuns(benchmark::State& state) {
  const double cpu_before = children_cpu_seconds();
  for (auto _ : state) {
    for (int q = 1; q <= kPoints; ++q) {
      if (const auto error = run_epsim({"run", "--kube-api-qps", std::to_string(q), "--format", "json"});
          !error.empty()) {
        state.SkipWithError(error.c_str());
        return;
      }
    }
  }
  set_counters(state, children_cpu_seconds() - cpu_before);
}

// One `epsim sweep --vary kube-api-qps=1..100/100 --jobs J --format csv` process.
void BM_Sweep(benchmark::State& state) {
  const auto jobs = std::to_string(state.range(0));
  const double cpu_before = children_cpu_seconds();
  for (auto _ : state) {
    if (const auto error = run_epsim({"sweep", "--vary", "kube-api-qps=1.." + std::to_string(kPoints) + "/" +
                                                             std::to_string(kPoints),
                                      "--jobs", jobs, "--format", "csv"});
        !error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  set_counters(state, children_cpu_seconds() - cpu_before);
  state.counters["jobs"] = static_cast<double>(state.range(0));
}

}  // namespace

BENCHMARK(BM_SeparateRuns)->Name("BM_SeparateRuns/100")->UseRealTime()->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK(BM_Sweep)
    ->Name("BM_Sweep/100")
    ->ArgName("jobs")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

BENCHMARK_MAIN();
