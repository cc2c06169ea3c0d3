// scenarios/kube-proxy.yaml: two consumers of the business cluster's
// endpoints. On 1.17.3 both see windows during the storm; on 1.19.2 (the
// headless-label bug still on, fixed in 1.19.3) kube-proxy reads
// EndpointSlices from the EndpointSlice controller, whose queue the resync
// leaves empty, so only ingress-nginx (< 1.4 reads Endpoints) does.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "app/scenario.h"
#include "run_epsim.h"

using epsim::test::run_epsim;

namespace {

std::string scenario() { return epsim::test::shell_quoted(epsim::test::source_path("scenarios/kube-proxy.yaml")); }

nlohmann::json run_json(const std::string& args) {
  const auto r = run_epsim("run " + scenario() + " --format json " + args);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

std::set<std::string> consumers(const nlohmann::json& report) {
  std::set<std::string> out;
  for (const auto& w : report["windows"]) out.insert(w["consumer"].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("on 1.17.3 both consumers see the storm: ingress-nginx and kube-proxy windows") {
  const auto report = run_json("");
  const auto spec = epsim::app::load_scenario(epsim::test::source_path("scenarios/kube-proxy.yaml"));
  CHECK(consumers(report) == std::set<std::string>{"ingress-nginx/access", "kube-proxy/idc"});
  // In-cluster connections: every services entry's inClusterRps, for every
  // Service of it, over the whole run.
  double expected = 0;
  for (const auto& g : spec.clusters.at(0).services) expected += g.in_cluster_rps * g.count;
  expected *= spec.duration.seconds_f();
  CHECK(report["summary"]["in_cluster_connections"].get<double>() == doctest::Approx(expected));
  const double storm_at = report["clusters"][0]["resyncs"][0]["at_s"].get<double>();
  const double storm_end = storm_at + report["clusters"][0]["resyncs"][0]["duration_s"].get<double>();
  double failed = 0;
  std::size_t kube_proxy_windows = 0;
  for (const auto& w : report["windows"]) {
    if (w["consumer"] != "kube-proxy/idc") continue;
    ++kube_proxy_windows;
    CAPTURE(w["service"].get<std::string>());
    // Only the api- Services have in-cluster clients, and their windows lie
    // in the storm: the Endpoints write waited in the workqueue.
    CHECK(w["service"].get<std::string>().rfind("default/api-", 0) == 0);
    CHECK(w["start_s"].get<double>() >= storm_at);
    CHECK(w["end_s"].get<double>() <= storm_end + 5);
    CHECK(w["cause"]["workqueue_wait_s"].get<double>() > 0.9 * w["duration_s"].get<double>());
    CHECK(w["requests_504"] == 0);
    // At most the peak share of the window's connections failed.
    CHECK(w["failed"].get<double>() > 0);
    CHECK(w["failed"].get<double>() <= w["requests"].get<double>() * w["peak_fail_fraction"].get<double>() + 1);
    failed += w["failed"].get<double>();
  }
  CHECK(kube_proxy_windows >= 1);
  CHECK(std::abs(failed - report["summary"]["in_cluster_connections_failed"].get<double>()) <= kube_proxy_windows);
  // explain follows the kube-proxy chain: the controller's write, then the last node.
  const auto explained = run_epsim("explain " + scenario() + " --format json --limit 0");
  REQUIRE(explained.exit_code == 0);
  const auto chains = nlohmann::json::parse(explained.out);
  std::size_t followed = 0;
  for (const auto& w : chains["windows"]) {
    if (w["consumer"] != "kube-proxy/idc") continue;
    bool stored = false, last_node = false;
    for (const auto& step : w["chain"]) {
      stored = stored || step["event"] == "apiserver_stored";
      last_node = last_node || step["event"] == "last_node";
    }
    followed += stored && last_node ? 1 : 0;
  }
  CHECK(followed == kube_proxy_windows);
}

TEST_CASE("on 1.19.2 kube-proxy reads EndpointSlices and sees no window, while ingress-nginx still does") {
  const auto report = run_json("--kubernetes-version 1.19.2");
  REQUIRE(report["clusters"][0]["resyncs"][0]["puts"].get<std::uint64_t>() > 0);  // the storm is still there
  CHECK(consumers(report) == std::set<std::string>{"ingress-nginx/access"});
  // The same release with kube-proxy on Endpoints (EndpointSliceProxying off): windows again.
  const auto endpoints = run_json("--kubernetes-version 1.19.2 --set clusters[idc].kubeProxy.endpointSliceProxying=false");
  CHECK(consumers(endpoints).count("kube-proxy/idc") == 1);
}

TEST_CASE("in-cluster clients need a ClusterIP Service kube-proxy can program") {
  // --print-scenario loads and checks the scenario without running it.
  const auto run_with = [&](const std::string& sets) {
    return run_epsim("run " + scenario() + " --print-scenario " + sets);
  };
  CHECK(run_with("").exit_code == 0);
  const auto headless = run_with("--set 'clusters[idc].services[0].inClusterRps=5'");
  CHECK(headless.exit_code == 2);
  CHECK(headless.err.find("headless Service") != std::string::npos);
  const auto off = run_with("--set clusters[idc].kubernetesVersion=1.19.2 "
                            "--set clusters[idc].controllerManager.endpointSliceController=false");
  CHECK(off.exit_code == 2);
  CHECK(off.err.find("EndpointSlice controller is off") != std::string::npos);
  // 1,000 nodes x 12,989 Services: over the 50,000,000 node-Services a run may track.
  const auto big = run_with("--set clusters[idc].kubeProxy.nodes=1000 --set clusters[idc].services[0].count=60000");
  CHECK(big.exit_code == 2);
  CHECK(big.err.find("simulate fewer nodes") != std::string::npos);
}
