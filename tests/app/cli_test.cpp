#include <doctest/doctest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "run_epsim.h"

using epsim::test::run_epsim;

TEST_CASE("epsim --version and --help exit 0") {
  const auto v = run_epsim("--version");
  CHECK(v.exit_code == 0);
  CHECK(v.out.find("epsim 0.") != std::string::npos);
  const auto h = run_epsim("--help");
  CHECK(h.exit_code == 0);
  CHECK(h.out.find("run") != std::string::npos);
}

TEST_CASE("epsim run on the embedded default shows the 1.17.3 resync storm") {
  const auto r = run_epsim("run");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("scenario incident-1.17.3") != std::string::npos);
  // The storm: every Service enqueued, (12,954 headless PUTs - 30 burst) / 20
  // qps ≈ 646 s; its row and the window count agree with the JSON report.
  const auto j = nlohmann::json::parse(run_epsim("run --format json").out);
  const auto& storm = j["clusters"][0]["resyncs"][0];
  CHECK(storm["enqueued"] == 12989);
  CHECK(storm["puts"].get<int>() >= 12954);
  CHECK(storm["duration_s"].get<double>() == doctest::Approx((12954.0 - 30) / 20).epsilon(0.001));
  CHECK(r.out.find(fmt::format("16h25m0s    12,989    {},{:03}", storm["puts"].get<int>() / 1000,
                               storm["puts"].get<int>() % 1000)) != std::string::npos);
  CHECK(r.out.find(fmt::format("{:.1f}s    12,989", storm["duration_s"].get<double>())) != std::string::npos);
  CHECK(r.out.find(fmt::format("{} failure windows", j["windows"].size())) != std::string::npos);
  // Each named deploy's place in the storm's queue, as the JSON has it.
  REQUIRE(storm["queued"].size() == 4);
  for (const auto& q : storm["queued"]) {
    CHECK(q["position"].get<int>() >= 1);
    CHECK(q["position"].get<int>() <= q["of"].get<int>());
    CHECK(r.out.find(q["service"].get<std::string>() + " queued ") != std::string::npos);
  }
  CHECK(r.err.empty());
}

TEST_CASE("the text report of every shipped scenario fits 80 columns") {
  for (const char* name : {"incident-1.17.3", "incident-fixed", "incident-tuned", "incident-1.17.13-churn",
                           "multi-cluster", "legacy-reload"}) {
    CAPTURE(name);
    const auto r = run_epsim(std::string("run ") + epsim::test::source_path(std::string("scenarios/") + name + ".yaml"));
    REQUIRE(r.exit_code == 0);
    CHECK(epsim::test::widest_line(r.out) <= 80);
  }
}

TEST_CASE("the real kube-controller-manager flag spellings override the scenario") {
  const auto r = run_epsim("run --format json --kube-api-qps 100 --kube-api-burst 120 --concurrent-endpoint-syncs 30 "
                           "--min-resync-period 6h --endpoint-updates-batch-period 1s --kubernetes-version 1.17.13");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("\"kube_api_qps\": 100.0") != std::string::npos);
  CHECK(r.out.find("\"kube_api_burst\": 120") != std::string::npos);
  CHECK(r.out.find("\"concurrent_endpoint_syncs\": 30") != std::string::npos);
  CHECK(r.out.find("\"kubernetes_version\": \"1.17.13\"") != std::string::npos);
  CHECK(r.out.find("\"headlessLabelCompare\": false") != std::string::npos);

  CHECK(run_epsim("run --kube-api-qps 0").exit_code == 2);
  CHECK(run_epsim("run --kube-api-burst -1").exit_code == 2);
  CHECK(run_epsim("run --concurrent-endpoint-syncs 0").exit_code == 2);
  const auto version = run_epsim("run --kubernetes-version 1.9");
  CHECK(version.exit_code == 2);
  CHECK(version.err.find("unknown version \"1.9\"") != std::string::npos);
  const auto period = run_epsim("run --min-resync-period 12");
  CHECK(period.exit_code == 2);
  CHECK(period.err.find("--min-resync-period") != std::string::npos);
}

TEST_CASE("two runs with the same seed give byte-identical JSON and another seed differs") {
  const auto a = run_epsim("run --format json --seed 7");
  const auto b = run_epsim("run --format json --seed 7");
  const auto c = run_epsim("run --format json --seed 8");
  CHECK(a.out.find("\"seed\": 7") != std::string::npos);
  REQUIRE(a.exit_code == 0);
  auto strip_wall = [](std::string s) { return s.substr(0, s.find("\"wall_s\"")); };
  CHECK(strip_wall(a.out) == strip_wall(b.out));
  CHECK(strip_wall(a.out) != strip_wall(c.out));
  CHECK(a.out.find("\"digest\"") != std::string::npos);
}

TEST_CASE("bad usage and bad input exit 2 with one clear message") {
  const auto flag = run_epsim("run --no-such-flag");
  CHECK(flag.exit_code == 2);
  CHECK(flag.err.find("--no-such-flag") != std::string::npos);

  const auto missing = run_epsim("run /nonexistent/scenario.yaml");
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("/nonexistent/scenario.yaml: cannot read scenario file") != std::string::npos);

  const std::string path = "/tmp/epsim_cli_test_bad.yaml";
  std::ofstream(path) << "name: x\nduration: 30\n";
  const auto unitless = run_epsim("run " + path);
  CHECK(unitless.exit_code == 2);
  CHECK(unitless.err.find(path + ":2:11") != std::string::npos);
  CHECK(unitless.err.find("missing unit") != std::string::npos);

  std::ofstream(path) << "name: [x\n";
  const auto syntax = run_epsim("run " + path);
  CHECK(syntax.exit_code == 2);
  CHECK(syntax.err.find("YAML syntax error") != std::string::npos);
  std::remove(path.c_str());
}

// Off a terminal a long run prints a plain progress line every
// EPSIM_PROGRESS_INTERVAL_S (10 s by default), so a run of minutes in a CI
// log or a batch job shows it is alive; a short one prints nothing.
TEST_CASE("off a terminal a long run prints a progress line now and then") {
  ::setenv("EPSIM_PROGRESS_INTERVAL_S", "0.01", 1);
  const auto r = epsim::test::run_epsim("run --format json");
  ::unsetenv("EPSIM_PROGRESS_INTERVAL_S");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("{", 0) == 0);  // the report is untouched: progress goes to stderr
  std::istringstream lines(r.err);
  std::string line;
  int count = 0;
  double last = -1;
  while (std::getline(lines, line)) {
    CAPTURE(line);
    REQUIRE(line.rfind("epsim: incident-1.17.3: ", 0) == 0);
    const double percent = std::stod(line.substr(std::strlen("epsim: incident-1.17.3: ")));
    CHECK(line.find("% done after ") != std::string::npos);
    CHECK(percent >= last);  // never backwards
    CHECK(percent < 100);
    last = percent;
    ++count;
  }
  CHECK(count >= 1);
  // An interval longer than the run (run_epsim's, as the 10 s default for a
  // short run): nothing.
  CHECK(epsim::test::run_epsim("run --duration 1h").err.empty());
}
