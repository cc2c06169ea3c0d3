// limited_by: which stage bound a resync storm, measured from the run. Each
// regime of tests/data/sweep-small.yaml (1,300 headless Services, API server
// at 45 writes/s) has a bound that follows from its settings, so the stage
// and the storm's length are derived by hand, not copied from epsim.
#include <doctest/doctest.h>

#include "app/limits.h"
#include "app/pipeline.h"
#include "app/report.h"
#include "app/scenario.h"
#include "run_epsim.h"

namespace {

nlohmann::ordered_json storm_of(const epsim::app::Overrides& overrides) {
  auto scenario = epsim::app::load_scenario(epsim::test::source_path("tests/data/sweep-small.yaml"));
  epsim::app::apply_overrides(scenario, overrides);
  epsim::app::Pipeline p(scenario);
  p.run();
  const auto report = epsim::app::build_report(p);
  REQUIRE(report["clusters"][0]["resyncs"].size() == 1);
  return report["clusters"][0]["resyncs"][0];
}

double share_sum(const nlohmann::ordered_json& l) {
  return l["apiserver"].get<double>() + l["client_bucket"].get<double>() + l["endpoints_workers"].get<double>() +
         l["other"].get<double>();
}

}  // namespace

TEST_CASE("a storm at qps 2 is limited by the client bucket and lasts (PUTs - burst) / qps") {
  epsim::app::Overrides o;  // the file's qps 2, burst 3, 5 workers
  const auto storm = storm_of(o);
  const double puts = storm["puts"].get<double>();
  CHECK(storm["duration_s"].get<double>() == doctest::Approx((puts - 3) / 2).epsilon(0.002));
  CHECK(storm["limited_by"]["stage"] == "client_bucket");
  CHECK(storm["limited_by"]["client_bucket"].get<double>() > 0.95);
  CHECK(share_sum(storm["limited_by"]) == doctest::Approx(1.0).epsilon(0.003));
}

TEST_CASE("a storm at qps 100 is limited by the API server's 45 writes/s") {
  epsim::app::Overrides o;
  o.kube_api_qps = 100;
  o.kube_api_burst = 100;
  const auto storm = storm_of(o);
  CHECK(storm["duration_s"].get<double>() == doctest::Approx(storm["puts"].get<double>() / 45).epsilon(0.02));
  CHECK(storm["limited_by"]["stage"] == "apiserver");
  CHECK(storm["limited_by"]["apiserver"].get<double>() > 0.9);
}

TEST_CASE("one worker at qps 100 is limited by the worker: each write waits for the last") {
  epsim::app::Overrides o;
  o.kube_api_qps = 100;
  o.concurrent_endpoint_syncs = 1;
  const auto storm = storm_of(o);
  // One request at a time: at least the server's 1/45 s each, plus latency.
  CHECK(storm["duration_s"].get<double>() > storm["puts"].get<double>() / 45);
  CHECK(storm["limited_by"]["stage"] == "endpoints_workers");
  CHECK(storm["limited_by"]["endpoints_workers"].get<double>() > 0.9);
}

TEST_CASE("the text report names what limited the storm with the cluster's own numbers") {
  const auto r = epsim::test::run_epsim(epsim::test::shell_quoted(epsim::test::source_path("tests/data/sweep-small.yaml")).insert(0, "run ") +
                                        " --kube-api-qps 100");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("limited by: API server writes (45/s)") != std::string::npos);
  const auto windowed = epsim::test::run_epsim("run --format json --duration 17h");
  REQUIRE(windowed.exit_code == 0);
  const auto report = nlohmann::ordered_json::parse(windowed.out);
  REQUIRE_FALSE(report["windows"].empty());
  // A window during the bucket-bound incident storm: the bucket held it back.
  CHECK(report["windows"][0]["limited_by"]["stage"] == "client_bucket");
  CHECK(report["clusters"][0]["resyncs"][0]["limited_by"]["stage"] == "client_bucket");
}
