// epsim tune: knobs, the response surface on synthetic storms with a known
// shape, and the search on the 1/10-scale incident (tests/data/sweep-small.yaml:
// 1,300 headless Services, an API server completing 45 writes/s).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/input_error.h"
#include "app/measures.h"
#include "app/response_surface.h"
#include "app/sweep.h"
#include "app/tune.h"
#include "run_epsim.h"

namespace app = epsim::app;

namespace {

const std::string kSmall = std::string(EPSIM_SOURCE_DIR) + "/tests/data/sweep-small.yaml";

// A storm drained by the slowest of three stages, the shape the surface
// assumes: (W - burst)/qps for the bucket, W·L/workers, W/T for the server.
struct SyntheticStorm {
  double work = 5000, latency_s = 0.04, throughput = 45;
  double bucket(double q, double b) const { return (work - b) / q; }
  double workers(double w) const { return work * latency_s / w; }
  double server() const { return work / throughput; }
  app::SurfaceSample sample(double q, double b, double w) const {
    const double storm = std::max({bucket(q, b), workers(w), server()});
    const std::string regime = storm == bucket(q, b) ? "client_bucket" : storm == workers(w) ? "endpoints_workers"
                                                                                              : "apiserver";
    return {{q, b, w}, regime, {{"storm_s", storm}, {"max_window_s", 7 + 0.5 * storm}}};
  }
};

app::TuneSpec small_spec(const std::string& goal) {
  app::TuneSpec spec;
  spec.base.path = kSmall;
  spec.knobs = app::default_knobs();
  spec.goals.push_back(app::Threshold::parse(goal, app::measure_names(), "--goal"));
  spec.jobs = 2;
  return spec;
}

// The measures of one run of the small scenario with these flags.
std::map<std::string, double> run_small(double qps, double burst, double workers) {
  app::ScenarioOptions base;
  base.path = kSmall;
  const app::ScenarioFiles files(kSmall);
  const auto scenario = app::resolve_point(base, files,
                                           {{"kube-api-qps", true, std::to_string(std::llround(qps))},
                                            {"kube-api-burst", true, std::to_string(std::llround(burst))},
                                            {"concurrent-endpoint-syncs", true, std::to_string(std::llround(workers))}});
  return app::run_point(scenario).measures;
}

}  // namespace

TEST_CASE("tune: knobs parse with their ranges, defaults and errors") {
  const app::Knob q = app::parse_knob("kube-api-qps=5..1000");
  CHECK(q.is_flag);
  CHECK(q.integer);
  CHECK(q.lower == 5);
  CHECK(q.upper == 1000);
  const app::Knob t = app::parse_knob("clusters[idc].apiServer.mutatingThroughput=10..200.5");
  CHECK_FALSE(t.is_flag);
  CHECK_FALSE(t.integer);
  CHECK(app::knob_role(t.key) == app::KnobRole::apiserver);
  CHECK(app::parse_knob("concurrent-endpoint-syncs").upper == 100);  // a default knob by name
  CHECK(app::parse_knob("--kube-api-burst=1..9").key == "kube-api-burst");
  CHECK_THROWS_AS(app::parse_knob("kube-api-qps=0..10"), app::InputError);      // 1/x needs > 0
  CHECK_THROWS_AS(app::parse_knob("kube-api-qps=50..10"), app::InputError);     // reversed
  CHECK_THROWS_AS(app::parse_knob("kube-api-qps=a..10"), app::InputError);
  CHECK_THROWS_AS(app::parse_knob("kube-api-qps=10"), app::InputError);         // not a range
  CHECK_THROWS_AS(app::parse_knob("seed=1..10"), app::InputError);             // not a rate
  CHECK_THROWS_AS(app::parse_knob("kube-api-qpz=1..10"), app::InputError);     // neither flag nor path
  CHECK_THROWS_AS(app::parse_knob("sync-rate-limit"), app::InputError);        // no default range
}

TEST_CASE("tune: an integer knob's grid holds every integer from bound to bound") {
  const auto ints = app::knob_grid(app::parse_knob("kube-api-burst=10..300"));
  CHECK(ints.size() == 291);
  CHECK(ints.front() == 10);
  CHECK(ints.back() == 300);
  const auto reals = app::knob_grid(app::parse_knob("clusters[idc].apiServer.mutatingThroughput=1.5..2000"));
  CHECK(reals.front() == 1.5);
  CHECK(reals.back() == 2000);
  CHECK(std::is_sorted(reals.begin(), reals.end()));
  CHECK(std::adjacent_find(reals.begin(), reals.end()) == reals.end());
}

TEST_CASE("tune: the surface recovers a storm drained by the slowest stage") {
  const SyntheticStorm s;
  app::ResponseSurface surface({app::KnobRole::qps, app::KnobRole::burst, app::KnobRole::workers}, {"max_window_s"});
  // Two runs per regime, as tune's first design and search would give.
  std::vector<app::SurfaceSample> samples{s.sample(5, 300, 100), s.sample(8, 10, 100),
                                          s.sample(1000, 300, 1),  s.sample(1000, 300, 2),
                                          s.sample(1000, 300, 100), s.sample(500, 20, 90)};
  surface.fit(samples);
  CHECK(surface.model_features().at("client_bucket") == std::vector<std::string>{"1/x0", "burst/qps"});
  CHECK(surface.model_features().at("endpoints_workers") == std::vector<std::string>{"1/x2"});
  CHECK(surface.model_features().at("apiserver") == std::vector<std::string>{"1"});
  // Unseen points in each regime and near the corners between them.
  for (const auto& p : std::vector<std::array<double, 3>>{{30, 150, 50}, {60, 30, 3}, {200, 100, 20}, {12, 250, 7}}) {
    const double expected = std::max({s.bucket(p[0], p[1]), s.workers(p[2]), s.server()});
    const auto predicted = surface.predict({p[0], p[1], p[2]});
    CHECK(predicted.at("storm_s") == doctest::Approx(expected).epsilon(1e-9));
    CHECK(predicted.at("max_window_s") == doctest::Approx(7 + 0.5 * expected).epsilon(1e-9));
  }
  CHECK(surface.r_squared("storm_s", samples) == doctest::Approx(1.0));
}

TEST_CASE("tune: with qps fixed the bucket's burst term is linear beside a constant") {
  const SyntheticStorm s;
  app::ResponseSurface surface({app::KnobRole::burst}, {});
  auto at_burst = [&](double b) {
    app::SurfaceSample sample = s.sample(20, b, 100);
    sample.knobs = {b};
    return sample;
  };
  surface.fit({at_burst(10), at_burst(300)});
  CHECK(surface.model_features().at("client_bucket") == std::vector<std::string>{"1", "x0"});
  CHECK(surface.predict({150}).at("storm_s") == doctest::Approx(s.bucket(20, 150)).epsilon(1e-9));
}

TEST_CASE("tune: the least qps that meets the goal, confirmed by a run, and one less misses it") {
  // The bucket binds below the server's 45 writes/s: (1300 - burst)/qps <= 100
  // needs qps >= (1300 - 300)/100 = 10 at the largest burst, give or take the
  // drain's tail; the search must land within one of that.
  const app::TuneResult r = app::tune(small_spec("storm_s <= 100"));
  REQUIRE(r.feasible);
  const app::TuneRun& best = r.runs.at(r.recommendation);
  const double qps = best.knobs[0], burst = best.knobs[1], workers = best.knobs[2];
  CHECK(std::abs(qps - 10) <= 1);
  CHECK(best.meets);
  CHECK(best.run.measures.at("storm_s") <= 100);
  // Minimal in priority order: one less of each knob, others as recommended
  // (later knobs at their upper bounds while an earlier one was searched).
  CHECK(run_small(qps - 1, 300, 100).at("storm_s") > 100);
  if (burst > 10) CHECK(run_small(qps, burst - 1, 100).at("storm_s") > 100);
  if (workers > 1) CHECK(run_small(qps, burst, workers - 1).at("storm_s") > 100);
  // The recommendation's own run, redone, gives the same storm (determinism).
  CHECK(run_small(qps, burst, workers).at("storm_s") == best.run.measures.at("storm_s"));
  CHECK(r.runs.size() <= 25);  // few simulations: a grid of the three knobs would be millions
  CHECK(r.r_squared.at("storm_s") > 0.9);
}

TEST_CASE("tune: no setting meets a goal below the API server's throughput, and it says what it takes") {
  // ~1300 writes at 45/s take ~29 s whatever the controller does; 20 s needs
  // the storm's writes / 20 s.
  const app::TuneResult r = app::tune(small_spec("storm_s <= 20"));
  CHECK_FALSE(r.feasible);
  CHECK(r.runs.size() == 6);  // the first design alone: the upper bounds already miss
  CHECK(r.infeasible_reason.find("no kube-controller-manager setting") != std::string::npos);
  CHECK(r.infeasible_reason.find("the API server completes ~45 writes/s") != std::string::npos);
  const auto& most = r.runs.at(1).run.measures;  // the first design run: every knob at its upper bound
  CHECK(most.at("storm_puts") >= 1300);
  CHECK(r.infeasible_reason.find(fmt::format("it needs ≥ {:.0f}/s", std::ceil(most.at("storm_puts") / 20))) !=
        std::string::npos);
  CHECK(r.infeasible_reason.find("Kubernetes ≥ 1.17.13 (#94112)") != std::string::npos);
  CHECK(app::tune_text(r).find(r.infeasible_reason) != std::string::npos);
}

TEST_CASE("tune: the same result for any number of jobs") {
  auto one = small_spec("storm_s <= 100");
  one.jobs = 1;
  CHECK(app::tune_json(app::tune(one)) == app::tune_json(app::tune(small_spec("storm_s <= 100"))));
}

TEST_CASE("tune: the flags it prints are a run that meets the goal (the CLI end to end)") {
  const auto small = epsim::test::shell_quoted(kSmall);
  const auto tuned = epsim::test::run_epsim("tune " + small + " --goal 'storm_s <= 100' --format json");
  REQUIRE(tuned.exit_code == 0);
  const auto j = nlohmann::json::parse(tuned.out);
  REQUIRE(j["feasible"].get<bool>());
  const std::string flags = j["recommendation"]["flags"].get<std::string>();
  // Pasting the recommendation into `epsim run` meets the goal (exit 0 with
  // the goal as the negated gate), and gives the confirming run's digest.
  const auto run = epsim::test::run_epsim("run " + small + " " + flags + " --format json --fail-if 'storm_s > 100'");
  CHECK(run.exit_code == 0);
  CHECK(nlohmann::json::parse(run.out)["digest"] == j["recommendation"]["digest"]);
  // A goal below the API server's throughput: exit 3, the reason printed.
  const auto none = epsim::test::run_epsim("tune " + small + " --goal 'storm_s <= 20'");
  CHECK(none.exit_code == 3);
  CHECK(none.out.find("the API server completes") != std::string::npos);
}

TEST_CASE("tune: bad goals and knobs are one message and exit 2") {
  const auto small = epsim::test::shell_quoted(kSmall);
  for (const std::string& args :
       {std::string("--goal 'strom_s < 1'"), std::string("--goal 'storm_s < 1' --knob kube-api-qps=0..4"),
        std::string("--goal 'storm_s < 1' --kube-api-qps 50 --knob kube-api-qps=1..4"),
        std::string("--goal 'storm_s < 1' --knob kube-api-qps=1..4 --knob kube-api-qps=2..5"),
        std::string("--goal 'storm_s < 1' --max-simulations 3"), std::string("--knob kube-api-qps=1..4")}) {
    CAPTURE(args);
    const auto r = epsim::test::run_epsim("tune " + small + " " + args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("epsim: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.empty());
  }
}

TEST_CASE("tune: a flag sets every business cluster, so the scenario's own run is not a point of the search") {
  // idc-a runs qps 6, idc-b (twice the Services) qps 20: as it is, the longest
  // storm is idc-a's (300 - 30)/6 = 45 s, within the goal; --kube-api-qps 6
  // gives idc-b (600 - 30)/6 = 95 s. The least flag value is
  // ceil((600 - 30)/60) = 10 (give or take the drain's tail).
  const epsim::test::ScratchDir dir("tune_clusters");
  const std::string path = dir.write("two.yaml", R"(name: two-clusters
seed: 1
duration: 1h15m
clusterDefaults:
  apiServer: {requestLatency: {median: 20ms, p99: 100ms}, mutatingThroughput: 1000}
clusters:
  - name: idc-a
    kubernetesVersion: "1.17.3"
    controllerManager: {kubeAPIQPS: 6, kubeAPIBurst: 30, resyncPeriod: 1h}
    services: [{count: 300, namePrefix: a-, headless: true, pods: 1}]
  - name: idc-b
    kubernetesVersion: "1.17.3"
    controllerManager: {kubeAPIQPS: 20, kubeAPIBurst: 30, resyncPeriod: 1h}
    services: [{count: 600, namePrefix: b-, headless: true, pods: 1}]
)");
  app::TuneSpec spec;
  spec.base.path = path;
  spec.knobs = {app::parse_knob("kube-api-qps=1..100")};
  spec.goals.push_back(app::Threshold::parse("storm_s <= 60", app::measure_names(), "--goal"));
  spec.jobs = 2;
  const app::TuneResult r = app::tune(spec);
  CHECK_FALSE(r.now.at(0).has_value());  // the clusters differ: no one "now"
  REQUIRE(r.feasible);
  const app::TuneRun& best = r.runs.at(r.recommendation);
  CHECK(best.phase != "as-is");
  CHECK(best.meets);
  CHECK(std::abs(best.knobs[0] - 10) <= 1);
  app::ScenarioOptions base;
  base.path = path;
  const auto at = [&](double qps) {
    return app::run_point(app::resolve_point(base, app::ScenarioFiles(path),
                                             {{"kube-api-qps", true, std::to_string(std::llround(qps))}}))
        .measures.at("storm_s");
  };
  CHECK(at(best.knobs[0]) <= 60);
  CHECK(at(best.knobs[0] - 1) > 60);
}

TEST_CASE("tune: a real knob is searched to 3 significant digits") {
  // [5.00, 9.99] is 500 values, [10.0, 99.9] and [100, 999] 900 each, and 1000.
  const auto grid = app::knob_grid(app::parse_knob("kube-api-qps=5.0..1000"));
  CHECK(grid.size() == 2301);
  for (std::size_t i = 1; i < grid.size(); ++i) {
    // Neighbours are one unit of the third significant digit apart.
    const double unit = std::pow(10.0, std::floor(std::log10(grid[i - 1])) - 2);
    CHECK(grid[i] - grid[i - 1] == doctest::Approx(unit));
  }
}

TEST_CASE("tune: --max-simulations stops the search with a setting that meets the goals, and says so") {
  auto spec = small_spec("storm_s <= 100");
  spec.max_simulations = 8;  // the design is 6 runs
  const app::TuneResult r = app::tune(spec);
  REQUIRE(r.feasible);
  CHECK(r.budget_exhausted);
  CHECK(r.runs.size() == 8);
  CHECK(r.runs.at(r.recommendation).meets);
  CHECK(app::tune_text(r).find("stopped at the limit of 8 simulations") != std::string::npos);
}
