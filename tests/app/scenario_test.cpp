#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "app/input_error.h"
#include "app/scenario.h"
#include "run_epsim.h"

using epsim::app::InputError;
using epsim::app::load_scenario;
using epsim::sim::Duration;

namespace {

// A scratch directory with files written from strings.
struct Scratch : epsim::test::ScratchDir {
  Scratch() : ScratchDir("scenario_test") {}
};

const char* const kMinimal = R"(name: t
duration: 1h
clusters:
  - name: idc
    services:
      - {count: 3, namePrefix: web-, headless: true, pods: 2}
)";

std::string load_error(const std::string& path) {
  try {
    load_scenario(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a minimal scenario gets the upstream defaults") {
  Scratch s;
  const auto scenario = load_scenario(s.write("min.yaml", kMinimal));
  REQUIRE(scenario.clusters.size() == 1);
  const auto& c = scenario.clusters[0];
  CHECK(c.kubernetes_version == "1.17.3");
  CHECK(c.controller_manager.endpoints.concurrent_endpoint_syncs == 5);
  CHECK(c.controller_manager.endpoints.kube_api_qps == 20);
  CHECK(c.controller_manager.endpoints.kube_api_burst == 30);
  CHECK(c.controller_manager.min_resync_period == Duration::hours(12));
  CHECK_FALSE(c.controller_manager.resync_period.has_value());
  CHECK(c.controller_manager.endpoints.endpoint_updates_batch_period == Duration::zero());
  CHECK(c.api_server.max_mutating_requests_inflight == 200);
  CHECK(c.services[0].workload.termination_grace_period == Duration::seconds(30));
  CHECK(c.services[0].workload.max_surge_fraction == 0.25);
  CHECK(scenario.duration == Duration::hours(1));
}

TEST_CASE("unknown keys are rejected with file line column and the closest valid key") {
  Scratch s;
  const auto path = s.write("typo.yaml", std::string(kMinimal) + "    controllerManager: {kubeApiQps: 50}\n");
  const std::string e = load_error(path);
  CHECK(e.find(path + ":7:25") != std::string::npos);
  CHECK(e.find("unknown key \"kubeApiQps\"") != std::string::npos);
  CHECK(e.find("did you mean \"kubeAPIQPS\"") != std::string::npos);
}

TEST_CASE("type and range errors carry the position of the value") {
  Scratch s;
  CHECK(load_error(s.write("a.yaml", std::string(kMinimal) + "    controllerManager: {kubeAPIQPS: 0}\n"))
            .find(":7:37: kubeAPIQPS = 0 is out of range") != std::string::npos);
  CHECK(load_error(s.write("b.yaml", std::string(kMinimal) + "    controllerManager: {concurrentEndpointSyncs: -1}\n"))
            .find("concurrentEndpointSyncs = -1 is out of range") != std::string::npos);
  CHECK(load_error(s.write("c.yaml", std::string(kMinimal) + "    controllerManager: {kubeAPIBurst: lots}\n"))
            .find("kubeAPIBurst must be an integer, got \"lots\"") != std::string::npos);
  CHECK(load_error(s.write("d.yaml", std::string(kMinimal) + "    controllerManager: {minResyncPeriod: 12}\n"))
            .find("missing unit") != std::string::npos);
  CHECK(load_error(s.write("e.yaml", std::string(kMinimal) + "    kubernetesVersion: \"1.12\"\n"))
            .find("unknown kubernetesVersion \"1.12\"") != std::string::npos);
  CHECK(load_error(s.write("f.yaml", "name: t\nduration: 99999999h\nclusters: []\n")).find("does not fit") !=
        std::string::npos);
  CHECK(load_error(s.write("g.yaml", "name: t\nclusters:\n  - name: x\n    services: [{count: 1000000000}]\n"))
            .find("out of range") != std::string::npos);
}

TEST_CASE("includes apply clusterDefaults under each cluster and detect cycles") {
  Scratch s;
  s.write("common/base.yaml", "clusterDefaults:\n  apiServer: {mutatingThroughput: 45}\n  controllerManager: {kubeAPIQPS: 7}\n");
  const auto path = s.write("main.yaml", std::string("include: [common/base.yaml]\n") + kMinimal +
                                             "    controllerManager: {kubeAPIBurst: 9}\n");
  const auto scenario = load_scenario(path);
  CHECK(scenario.clusters[0].api_server.mutating_throughput == 45);
  CHECK(scenario.clusters[0].controller_manager.endpoints.kube_api_qps == 7);
  CHECK(scenario.clusters[0].controller_manager.endpoints.kube_api_burst == 9);

  s.write("x.yaml", "include: [y.yaml]\n");
  s.write("y.yaml", "include: [x.yaml]\n");
  CHECK(load_error((s.dir / "x.yaml").string()).find("include cycle") != std::string::npos);
  CHECK(load_error(s.write("m.yaml", "include: [missing.yaml]\n")).find("cannot read included file") !=
        std::string::npos);
}

TEST_CASE("malformed YAML is a syntax error with its position") {
  Scratch s;
  const auto e = load_error(s.write("bad.yaml", "name: [unclosed\nclusters: []\n"));
  CHECK(e.find("YAML syntax error") != std::string::npos);
  CHECK(e.find("bad.yaml:") != std::string::npos);
  const auto tab = load_error(s.write("tab.yaml", "name: t\nclusters:\n\t- name: x\n"));
  CHECK(tab.find("YAML syntax error") != std::string::npos);
}

TEST_CASE("every shipped scenario and the embedded default load") {
  for (const char* name : {"incident-1.17.3.yaml", "incident-fixed.yaml", "incident-tuned.yaml"}) {
    CAPTURE(name);
    const auto scenario = load_scenario(epsim::test::source_path(std::string("scenarios/") + name));
    CHECK(scenario.clusters.at(0).api_server.mutating_throughput == 45);
  }
  const auto embedded = load_scenario("");
  CHECK(embedded.name == "incident-1.17.3");
  CHECK(embedded.clusters.at(0).controller_manager.resync_period == Duration::seconds(59100));
}
