// epsim calibrate: fit parameters, the observations file, the depth CSV, and
// fits that must recover an API server throughput the test chose itself.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "app/calibrate.h"
#include "app/input_error.h"
#include "app/pipeline.h"
#include "app/report.h"
#include "app/measures.h"
#include "app/scenario.h"
#include "app/sweep.h"
#include "run_epsim.h"

namespace app = epsim::app;
namespace fs = std::filesystem;

namespace {

const std::string kSource = EPSIM_SOURCE_DIR;
const std::string kSmall = kSource + "/tests/data/sweep-small.yaml";


std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const app::InputError& e) {
    return e.what();
  }
  return "";
}

// The small scenario with its controller out of the way (qps 100, 30
// workers): the API server's throughput alone sets the storm.
app::Scenario small_at_throughput(double throughput) {
  app::ScenarioOptions o;
  o.path = kSmall;
  o.sets = {fmt::format("clusters[*].apiServer.mutatingThroughput={}", throughput)};
  return app::resolve_point(o, app::ScenarioFiles(kSmall),
                            {{"kube-api-qps", true, "100"}, {"concurrent-endpoint-syncs", true, "30"}});
}

// One observation: the storm at qps 100 and 30 workers (the server's alone).
app::ObservationFile tuned_storm(double storm_s, double sigma) {
  app::ObservationFile observed;
  observed.path = "synthetic";
  app::Observation o;
  o.name = "tuned";
  o.flags = {{"kube-api-qps", "100"}, {"concurrent-endpoint-syncs", "30"}};
  o.measured = {{"storm_s", storm_s, sigma}};
  observed.observations = {o};
  return observed;
}

app::CalibrateSpec small_spec(const app::ObservationFile& observed) {
  app::CalibrateSpec spec;
  spec.base.path = kSmall;
  spec.observed = observed;
  spec.parameters = {app::parse_fit_parameter("apiServer.mutatingThroughput=5..500")};
  spec.jobs = 2;
  return spec;
}

}  // namespace

TEST_CASE("calibrate: fit parameters name API server keys, with ranges and units") {
  const app::FitParameter t = app::parse_fit_parameter("apiServer.mutatingThroughput");
  CHECK(t.path.empty());  // every business cluster
  CHECK_FALSE(t.duration);
  const app::FitParameter m = app::parse_fit_parameter("clusters[idc].apiServer.requestLatency.median=2ms..1s");
  CHECK(m.path == "clusters[idc].apiServer.requestLatency.median");
  CHECK(m.duration);
  CHECK(m.lower == doctest::Approx(0.002));
  CHECK(m.upper == doctest::Approx(1.0));
  CHECK(app::fit_value_text(m, 0.0234) == "23.4ms");
  // A whole number a 2% finite-difference step cannot move is not fittable.
  CHECK(error_of([] { app::parse_fit_parameter("apiServer.maxMutatingRequestsInflight"); })
            .find("not an API server parameter a fit can move") != std::string::npos);
  CHECK(error_of([] { app::parse_fit_parameter("kube-api-qps"); }).find("API server parameters") != std::string::npos);
  CHECK(error_of([] { app::parse_fit_parameter("apiServer.noopUpdateElision"); }).find("not an API server parameter") !=
        std::string::npos);
  CHECK(error_of([] { app::parse_fit_parameter("apiServer.watchDelay=5..10"); }).find("durations") !=
        std::string::npos);  // durations need units
  CHECK(error_of([] { app::parse_fit_parameter("apiServer.mutatingThroughput=0..10"); }).find("0 < LOW") !=
        std::string::npos);
}

TEST_CASE("calibrate: the shipped observations of the incident") {
  const auto f = app::load_observations(kSource + "/scenarios/observed/incident-1.17.3.yaml");
  REQUIRE(f.observations.size() == 2);
  CHECK(f.observations[0].name == "defaults");
  CHECK(f.observations[0].flags.empty());
  CHECK(f.observations[0].measured.at(0).measure == "storm_s");
  CHECK(f.observations[0].measured.at(0).value == 648);  // 10.8 min
  CHECK(f.observations[1].flags.size() == 3);
  CHECK(f.observations[1].measured.at(0).value == 300);  // about 5 min
  CHECK(f.observations[1].measured.at(0).sigma == 30);
}

TEST_CASE("calibrate: bad observation files say where") {
  const epsim::test::ScratchDir dir("calibrate");
  auto error = [&](const std::string& text) {
    const std::string path = dir.write("o.yaml", text);
    return error_of([&] { app::load_observations(path); });
  };
  CHECK(error("observations:\n  - {name: a, measured: {strom_s: 5}}\n").find("o.yaml:2:") != std::string::npos);
  CHECK(error("observations:\n  - {name: a, measured: {strom_s: 5}}\n").find("did you mean storm_s") !=
        std::string::npos);
  CHECK(error("observations:\n  - {name: a, flags: {kube-api-qpz: 5}, measured: {storm_s: 5}}\n")
            .find("did you mean kube-api-qps") != std::string::npos);
  CHECK(error("observations:\n  - {measured: {storm_s: 5}}\n").find("needs a name") != std::string::npos);
  CHECK(error("observations:\n  - {name: a}\n").find("measures nothing") != std::string::npos);
  CHECK(error("observations:\n  - {name: a, measured: {storm_s: 5}}\n  - {name: a, measured: {storm_s: 6}}\n")
            .find("a second observation named a") != std::string::npos);
  CHECK(error("observations:\n  - {name: a, measured: {storm_s: {value: 5, sigma: 0}}}\n").find("o.yaml:2:") !=
        std::string::npos);
  CHECK(error("observations: [\n").find("YAML syntax error") != std::string::npos);
  CHECK(error("observations:\n  - {name: a, measured: {storm_s: 5}}\n---\nx: 1\n").find("o.yaml:3:1: a second YAML "
                                                                                      "document") != std::string::npos);
  CHECK(error_of([] { app::load_observations("/nonexistent/o.yaml"); }).find("cannot read") != std::string::npos);
  // A value without a sigma is known to 5%.
  const auto f = app::load_observations(dir.write("ok.yaml", "observations:\n  - {name: a, measured: {storm_s: 200}}\n"));
  CHECK(f.observations[0].measured[0].sigma == doctest::Approx(10));
}

TEST_CASE("calibrate: depth CSVs take seconds or timestamps") {
  const epsim::test::ScratchDir dir("calibrate");
  const auto d = app::read_depth_csv(dir.write("d.csv", "time,depth\n100,0\n110,50\n120,40\n"), "d.csv");
  CHECK(d.time_s == std::vector<double>{100, 110, 120});
  CHECK(d.sigma == doctest::Approx(2.5));  // 5% of the peak
  const auto t = app::read_depth_csv(
      dir.write("t.csv", "\"Time\",\"Value\"\n2020-09-01 17:20:00,0\n2020-09-01T17:20:30Z,7\n"), "t.csv");
  CHECK(t.time_s[1] - t.time_s[0] == doctest::Approx(30));
  CHECK(error_of([&] { app::read_depth_csv(dir.write("b.csv", "t,d\n1,0\n1,5\n"), "b.csv"); }).find("b.csv:3:") !=
        std::string::npos);
  CHECK(error_of([&] { app::read_depth_csv(dir.write("b.csv", "t,d\n1,0\nnoon,5\n"), "b.csv"); })
            .find("neither seconds nor a timestamp") != std::string::npos);
  CHECK(error_of([&] { app::read_depth_csv(dir.write("b.csv", "t,d\n1,0\n2,0\n"), "b.csv"); }).find("no storm") !=
        std::string::npos);
}

TEST_CASE("calibrate: depth files may be Prometheus range-query answers") {
  const epsim::test::ScratchDir dir("calibrate_prometheus");
  const std::string ok = dir.write(
      "q.json",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"name":"endpoint"},)"
      R"("values":[[1600000000,"0"],[1600000015,"12954"],[1600000030.5,"12000"]]}]}})");
  const auto d = app::read_depth_file(ok, "q.json");
  CHECK(d.time_s == std::vector<double>{1600000000, 1600000015, 1600000030.5});
  CHECK(d.depth == std::vector<double>{0, 12954, 12000});
  CHECK(d.sigma == doctest::Approx(0.05 * 12954));
  CHECK(app::read_depth_file(dir.write("c.csv", "t,d\n0,0\n5,9\n"), "c.csv").depth.back() == 9);  // CSV still
  auto error = [&](const std::string& json) {
    return error_of([&] { app::read_depth_file(dir.write("b.json", json), "b.json"); });
  };
  CHECK(error(R"({"status":"error","errorType":"bad_data"})").find("query_range") != std::string::npos);
  CHECK(error(R"({"status":"success","data":{"resultType":"vector","result":[]}})").find("matrix") !=
        std::string::npos);
  CHECK(error(R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"1"]]},)"
              R"({"values":[[1,"2"]]}]}})")
            .find("sum(workqueue_depth") != std::string::npos);
  CHECK(error(R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"NaN"],[2,"1"]]}]}})")
            .find("value 1") != std::string::npos);
  CHECK(error(R"({"status": "success", )").find("not valid JSON") != std::string::npos);
}

TEST_CASE("calibrate: a storm length measured at a known throughput gives that throughput back") {
  // The "cluster" is the small scenario at 30 writes/s; the scenario to
  // calibrate says 45. One observation, one parameter: the fit must land on
  // the storm, and its standard error is sigma / |d storm / d throughput|,
  // about sigma x throughput / storm for a storm of W / throughput.
  const double storm_at_30 = app::run_point(small_at_throughput(30)).measures.at("storm_s");
  const app::ObservationFile observed = tuned_storm(storm_at_30, 2.0);
  const app::CalibrateResult r = app::calibrate(small_spec(observed));
  REQUIRE(r.scenario_values.at(0).has_value());
  CHECK(*r.scenario_values[0] == 45);
  CHECK(r.fit.parameters[0] == doctest::Approx(30).epsilon(0.02));
  CHECK(std::abs(r.observations[0].simulated[0] - storm_at_30) < 2.0);
  const double expected_se = 2.0 * 30 / storm_at_30;
  CHECK(r.fit.standard_errors[0] == doctest::Approx(expected_se).epsilon(0.3));
  CHECK(r.fit.converged);
}

TEST_CASE("calibrate: a workqueue depth curve on another clock gives the throughput back") {
  // Export the depth of a run at 30 writes/s with times shifted to Unix time
  // (as a Prometheus export would be), every 5 s.
  const app::Scenario cluster = small_at_throughput(30);
  app::Pipeline pipeline(cluster);
  pipeline.run();
  const auto& series = pipeline.time_series();
  const auto& names = series.names();
  const auto column = static_cast<std::size_t>(std::find(names.begin(), names.end(), "idc/workqueue_depth") -
                                               names.begin());
  REQUIRE(column < names.size());
  std::string csv = "time,workqueue_depth\n";
  const std::vector<double> depth = series.column(column);
  for (std::size_t i = 0; i < series.rows(); i += 5) {
    csv += fmt::format("{},{}\n", 1'600'000'000 + series.time(i).seconds_f(), depth[i]);
  }
  const epsim::test::ScratchDir dir("calibrate");
  dir.write("depth.csv", csv);
  const std::string path = dir.write(
      "observed.yaml",
      "observations:\n  - name: storm\n    flags: {kube-api-qps: 100, concurrent-endpoint-syncs: 30}\n"
      "    workqueueDepth: {file: depth.csv, sigma: 20}\n");
  const app::CalibrateResult r = app::calibrate(small_spec(app::load_observations(path)));
  CHECK(r.fit.parameters[0] == doctest::Approx(30).epsilon(0.03));
  CHECK(r.observations[0].depth_samples > 100);
  CHECK(r.observations[0].depth_rms_sigmas < 1.0);
}

TEST_CASE("calibrate: --write gives an include file a scenario reads back with the fitted value") {
  app::CalibrateResult r;
  r.scenario_name = "s";
  r.observed_path = "o.yaml";
  r.parameters = {app::parse_fit_parameter("apiServer.mutatingThroughput")};
  r.fit.parameters = {43.35};
  r.fit.standard_errors = {4.3};
  r.fit.at_bound = {false};
  r.fitted_api_server.mutating_throughput = 43.35;
  r.fitted_api_server.latency_median = epsim::sim::Duration::milliseconds(20);
  r.fitted_api_server.latency_p99 = epsim::sim::Duration::milliseconds(250);
  const epsim::test::ScratchDir dir("calibrate");
  dir.write("calibrated.yaml", app::calibrated_include_yaml(r));
  const std::string scenario = dir.write(
      "s.yaml", "name: s\ninclude: [calibrated.yaml]\nclusters:\n  - name: idc\n    services: [{count: 1}]\n");
  const app::Scenario s = app::load_scenario(scenario);
  CHECK(s.clusters[0].api_server.mutating_throughput == 43.35);
  CHECK(s.clusters[0].api_server.latency_p99 == epsim::sim::Duration::milliseconds(250));
}

TEST_CASE("calibrate: the incident's observations agree with the shipped calibration") {
  app::CalibrateSpec spec;
  spec.observed = app::load_observations(kSource + "/scenarios/observed/incident-1.17.3.yaml");
  spec.parameters = {app::parse_fit_parameter("apiServer.mutatingThroughput")};
  spec.jobs = 2;
  const app::CalibrateResult r = app::calibrate(spec);
  // The tuned storm is the API server's: its writes in ~300 s; the defaults'
  // storm is the bucket's and says nothing about the server.
  app::ScenarioOptions tuned;
  const auto tuned_run = app::run_point(app::resolve_point(tuned, app::ScenarioFiles(""),
                                                           {{"kube-api-qps", true, "100"},
                                                            {"kube-api-burst", true, "120"},
                                                            {"concurrent-endpoint-syncs", true, "30"}}));
  CHECK(r.fit.parameters[0] == doctest::Approx(tuned_run.measures.at("storm_puts") / 300).epsilon(0.03));
  REQUIRE(r.scenario_values[0].has_value());
  CHECK(*r.scenario_values[0] == 45);  // scenarios/common/apiserver-calibrated.yaml
  CHECK(std::abs(45 - r.fit.parameters[0]) <= 2 * r.fit.standard_errors[0]);
  // And by χ²: at 45/s the observations are the plain run and the tuned run.
  REQUIRE(r.scenario_chi_squared.has_value());
  const double defaults_45 = (app::run_point(app::load_scenario("")).measures.at("storm_s") - 648) / 6;
  const double tuned_45 = (tuned_run.measures.at("storm_s") - 300) / 30;
  CHECK(*r.scenario_chi_squared == doctest::Approx(defaults_45 * defaults_45 + tuned_45 * tuned_45).epsilon(1e-9));
  CHECK(*r.scenario_chi_squared - r.fit.cost < 3.84);
  CHECK(calibrate_text(r).find("value agrees with the observations") != std::string::npos);
}

TEST_CASE("calibrate: a parameter the observations do not move is reported not identified, and --write keeps it") {
  // The small scenario's storm is the server's 45 writes/s; a watch delay of
  // 0.1 ms or 60 s changes when the last write is seen, not how fast they go.
  const double storm = app::run_point(small_at_throughput(45)).measures.at("storm_s");
  const app::ObservationFile observed = tuned_storm(storm, 30.0);
  app::CalibrateSpec spec = small_spec(observed);
  spec.parameters = {app::parse_fit_parameter("apiServer.watchDelay")};
  const app::CalibrateResult r = app::calibrate(spec);
  CHECK(r.scan_chi_squared_range < 1);
  CHECK(std::isnan(r.fit.standard_errors[0]));
  CHECK(r.fitted_api_server.watch_delay == app::load_scenario(kSmall).clusters[0].api_server.watch_delay);
  CHECK(app::calibrated_include_yaml(r).find("Not identified") != std::string::npos);
}

TEST_CASE("calibrate: median and p99 are not fitted together; an observation's own error names it") {
  app::ObservationFile observed;
  observed.path = "synthetic";
  app::Observation o;
  o.name = "bad-set";
  o.origin = "o.yaml:3:5";
  o.sets = {"clusters[zzz].apiServer.watchDelay=1s"};
  o.measured = {{"storm_s", 100, 10}};
  observed.observations = {o};
  auto spec = small_spec(observed);
  spec.parameters = {app::parse_fit_parameter("apiServer.requestLatency.median"),
                     app::parse_fit_parameter("apiServer.requestLatency.p99")};
  CHECK(error_of([&] { app::calibrate(spec); }).find("cannot be fitted at once") != std::string::npos);
  spec.parameters = {app::parse_fit_parameter("apiServer.mutatingThroughput=5..500")};
  const std::string e = error_of([&] { app::calibrate(spec); });
  CHECK(e.rfind("o.yaml:3:5: observation bad-set:", 0) == 0);
  CHECK(e.find("zzz") != std::string::npos);
}

TEST_CASE("calibrate: the same fit for any number of jobs") {
  const app::ObservationFile observed = tuned_storm(40.0, 2.0);
  auto one = small_spec(observed);
  one.jobs = 1;
  auto three = small_spec(observed);
  three.jobs = 3;
  CHECK(app::calibrate_json(app::calibrate(one)) == app::calibrate_json(app::calibrate(three)));
}

TEST_CASE("calibrate: the CLI writes an include file that a scenario runs with, and bad input exits 2") {
  const epsim::test::ScratchDir dir("calibrate_cli");
  const std::string out = (dir.dir / "fitted.yaml").string();
  // Observed: the small scenario's storm at 30 writes/s, qps 100, 30 workers.
  const double storm = app::run_point(small_at_throughput(30)).measures.at("storm_s");
  const std::string observed = (dir.dir / "observed.yaml").string();
  std::ofstream(observed) << fmt::format(
      "observations:\n  - name: tuned\n    flags: {{kube-api-qps: 100, concurrent-endpoint-syncs: 30}}\n"
      "    measured: {{storm_s: {{value: {}, sigma: 2}}}}\n",
      storm);
  const auto r = epsim::test::run_epsim(fmt::format("calibrate {} --observed {} --fit apiServer.mutatingThroughput=5..500 "
                                                    "--write {}",
                                                    epsim::test::shell_quoted(kSmall), epsim::test::shell_quoted(observed),
                                                    epsim::test::shell_quoted(out)));
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("apiServer.mutatingThroughput") != std::string::npos);
  // The include file, used by a copy of the small scenario without its own apiServer.
  std::string text = epsim::test::read_file(kSmall);
  const std::string own = "    apiServer: {requestLatency: {median: 20ms, p99: 100ms}, mutatingThroughput: 45}\n";
  REQUIRE(text.find(own) != std::string::npos);
  text.replace(text.find(own), own.size(), "");
  text.replace(text.find("clusters:"), 9, "include: [fitted.yaml]\nclusters:");
  const std::string scenario = (dir.dir / "small.yaml").string();
  std::ofstream(scenario) << text;
  const app::Scenario loaded = app::load_scenario(scenario);
  CHECK(loaded.clusters[0].api_server.mutating_throughput == doctest::Approx(30).epsilon(0.02));
  CHECK(loaded.clusters[0].api_server.latency_median == epsim::sim::Duration::milliseconds(20));  // kept

  for (const std::string& args :
       {fmt::format("--observed {}", epsim::test::shell_quoted(observed + ".missing")),
        fmt::format("--observed {} --fit apiServer.noopUpdateElision", epsim::test::shell_quoted(observed)),
        fmt::format("--observed {} --fit kube-api-qps", epsim::test::shell_quoted(observed)),
        fmt::format("--observed {} --write /proc/epsim/x.yaml", epsim::test::shell_quoted(observed)),
        std::string("--fit apiServer.mutatingThroughput")}) {
    CAPTURE(args);
    const auto bad = epsim::test::run_epsim("calibrate " + epsim::test::shell_quoted(kSmall) + " " + args);
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.rfind("epsim: ", 0) == 0);
    CHECK(bad.out.empty());
  }
}
