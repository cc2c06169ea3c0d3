#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "app/pipeline.h"
#include "app/report.h"
#include "app/scenario.h"

using epsim::app::Pipeline;

namespace {

// The incident at 1/10 scale and 1/10 rate: 1,300 headless services, qps 2
// burst 3, so a resync storm lasts (1300 - 3) / 2 ≈ 650 s as at full scale.
std::string small_incident(const std::string& version, const std::string& extra_deploys = "") {
  return R"(name: small-incident
seed: 1
duration: 2h
clusters:
  - name: idc
    kubernetesVersion: ")" + version + R"("
    apiServer: {requestLatency: {median: 20ms, p99: 100ms}, mutatingThroughput: 45}
    controllerManager: {kubeAPIQPS: 2, kubeAPIBurst: 3, resyncPeriod: 1h}
    services:
      - {count: 1300, namePrefix: web-, headless: true, pods: 3, rps: 20}
    deploys:
      - {service: default/web-00001, at: {after: resync, offset: 2m}}
      - {service: default/web-00002, at: 20m}
)" + extra_deploys + R"(  - name: access
    role: access
traffic: {mode: fluid, deadIP: blackhole}
sync: {from: [idc], to: access}
ingress: {cluster: access, version: 1.3.1}
)";
}

nlohmann::ordered_json run(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("epsim_dp_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << text;
  const auto scenario = epsim::app::load_scenario(path.string());
  std::filesystem::remove(path);
  Pipeline p(scenario);
  p.run();
  return epsim::app::build_report(p);
}

const nlohmann::ordered_json* window_of(const nlohmann::ordered_json& report, const std::string& service) {
  const nlohmann::ordered_json* longest = nullptr;
  for (const auto& w : report["windows"]) {
    if (w["service"] == service && (!longest || w["duration_s"] > (*longest)["duration_s"])) longest = &w;
  }
  return longest;
}

}  // namespace

TEST_CASE("a deploy two minutes into a resync storm gives a window of minutes caused by the workqueue") {
  const auto r = run(small_incident("1.17.3"));
  const auto* w = window_of(r, "default/web-00001");
  REQUIRE(w != nullptr);
  CHECK((*w)["duration_s"].get<double>() >= 300);
  CHECK((*w)["requests_504"].get<std::int64_t>() > 0);
  const auto& cause = (*w)["cause"];
  const double queue = cause["workqueue_wait_s"].get<double>() + cause["client_throttle_s"].get<double>();
  double others = 0;
  for (const char* k : {"apiserver_s", "sync_component_s", "mirroring_s", "ingress_s", "nginx_worker_s"}) {
    others += cause[k].get<double>();
  }
  CHECK(queue > 0.8 * (*w)["duration_s"].get<double>());
  CHECK(queue > others);
  CHECK(r["summary"]["max_window_s"].get<double>() >= 300);
  // The deploy far from the storm: no window longer than 10 s.
  const auto* far = window_of(r, "default/web-00002");
  if (far != nullptr) CHECK((*far)["duration_s"].get<double>() <= 10);
}

TEST_CASE("with the fix the same deploys give no window longer than 10 s") {
  const auto r = run(small_incident("1.17.13"));
  for (const auto& w : r["windows"]) {
    CAPTURE(w.dump());
    CHECK(w["duration_s"].get<double>() <= 10);
  }
  CHECK(r["summary"]["propagation_p99_s"].get<double>() < 15);
}

TEST_CASE("refused dead IPs turn the storm window into 502s at once") {
  std::string text = small_incident("1.17.3");
  text.replace(text.find("deadIP: blackhole"), 17, "deadIP: refused");
  const auto r = run(text);
  const auto* w = window_of(r, "default/web-00001");
  REQUIRE(w != nullptr);
  CHECK((*w)["requests_502"].get<std::int64_t>() > 0);
  CHECK((*w)["requests_504"].get<std::int64_t>() == 0);
}
