// The subcommands and flags beyond `run SCENARIO`: --set, --sync-rate-limit,
// validate, explain and topology, through the epsim binary.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "app/input_error.h"
#include "app/pipeline.h"
#include "app/canonical_scenario.h"
#include "app/scenario.h"
#include "run_epsim.h"

using epsim::test::run_epsim;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("--set changes one key and wins over the file and its includes") {
  const auto loaded = epsim::app::load_scenario(
      "", {"clusters[idc].controllerManager.kubeAPIQPS=100", "clusters[idc].apiServer.mutatingThroughput=500",
           "duration=2h", "clusters[idc].services[*].pods=3"});
  const auto& idc = loaded.clusters.at(0);
  CHECK(idc.name == "idc");
  CHECK(idc.controller_manager.endpoints.kube_api_qps == 100);
  CHECK(idc.api_server.mutating_throughput == 500);  // set in the included apiserver-calibrated.yaml
  CHECK(loaded.duration == epsim::sim::Duration::hours(2));
  for (const auto& g : idc.services) CHECK(g.workload.replicas == 3);
  // The digest covers the assignments: a changed scenario is a different scenario.
  CHECK(epsim::app::scenario_digest(loaded) != epsim::app::scenario_digest(epsim::app::load_scenario("")));
}

TEST_CASE("--set can create maps and select clusters by index or all") {
  const auto loaded = epsim::app::load_scenario(
      epsim::test::source_path("scenarios/multi-cluster.yaml"),
      {"clusters[*].controllerManager.kubeAPIBurst=77", "clusters[0].kubernetesVersion=1.17.13",
       "ingress.config.proxy-connect-timeout=2", "clusterDefaults.apiServer.watchDelay=250ms"});
  for (const auto& c : loaded.clusters) {
    CAPTURE(c.name);
    CHECK(c.controller_manager.endpoints.kube_api_burst == 77);
    CHECK(c.api_server.watch_delay == epsim::sim::Duration::milliseconds(250));
  }
  CHECK(loaded.clusters.at(0).kubernetes_version == "1.17.13");
  CHECK(loaded.traffic.proxy_connect_timeout == epsim::sim::Duration::seconds(2));
}

TEST_CASE("what if qps were 100 is one flag or one --set") {
  const auto by_flag = run_epsim("run --format json --kube-api-qps 100 --duration 17h");
  const auto by_set = run_epsim("run --format json --set 'clusters[idc].controllerManager.kubeAPIQPS=100' --duration 17h");
  REQUIRE(by_flag.exit_code == 0);
  REQUIRE(by_set.exit_code == 0);
  CHECK(by_flag.out.find("\"kube_api_qps\": 100.0") != std::string::npos);
  CHECK(by_set.out.find("\"kube_api_qps\": 100.0") != std::string::npos);
  // Faster client, same API server bound (45 writes/s): the storm drains in ~290 s, not 646 s.
  CHECK(by_flag.out.find("\"duration_s\": 290.") != std::string::npos);
}

TEST_CASE("--sync-rate-limit sets ingress-nginx's sync rate") {
  auto loaded = epsim::app::load_scenario(epsim::test::source_path("scenarios/multi-cluster.yaml"));
  epsim::app::Overrides o;
  o.sync_rate_limit = 2.5;
  epsim::app::apply_overrides(loaded, o);
  CHECK(loaded.ingress.config.sync_rate_limit == 2.5);
  const auto r = run_epsim("run " + epsim::test::source_path("scenarios/multi-cluster.yaml") +
                           " --sync-rate-limit 5 --duration 1h");
  CHECK(r.exit_code == 0);
}

TEST_CASE("epsim validate accepts every shipped scenario and names each") {
  const auto r = run_epsim("validate " + epsim::test::source_path("scenarios") + "/*.yaml");
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  const std::size_t shipped = epsim::test::shipped_scenarios().size();
  CHECK(shipped >= 6);
  CHECK(count(r.out, ": valid: ") == shipped);
  CHECK(r.out.find("incident-1.17.3.yaml: valid: incident-1.17.3 (2 clusters, 12989 services") != std::string::npos);
  CHECK(r.err.empty());
}

TEST_CASE("epsim validate reports each bad file and exits 2") {
  const auto r = run_epsim("validate " + epsim::test::source_path("scenarios/incident-fixed.yaml") +
                           " /nonexistent/x.yaml --set 'clusters[idc].controllerManager.kubeAPIQPS=5'");
  CHECK(r.exit_code == 2);
  CHECK(count(r.out, ": valid: ") == 1);
  CHECK(r.err.find("/nonexistent/x.yaml: cannot read scenario file") != std::string::npos);
  CHECK(run_epsim("validate").exit_code == 2);
}

TEST_CASE("epsim explain shows the stage timeline of the incident's worst window") {
  const auto r = run_epsim("explain --limit 1");
  REQUIRE(r.exit_code == 0);
  // The storm and the longest window as the JSON report has them.
  const auto j = nlohmann::json::parse(run_epsim("run --format json").out);
  const auto& storm = j["clusters"][0]["resyncs"][0];
  CHECK(r.out.find(fmt::format("resync storm in idc at 16h25m00.0s: {} PUTs,\n  the workqueue drained after {:.1f}s",
                               storm["puts"].get<int>(), storm["duration_s"].get<double>())) != std::string::npos);
  const nlohmann::json* longest = nullptr;
  for (const auto& w : j["windows"]) {
    if (longest == nullptr || w["duration_s"] > (*longest)["duration_s"]) longest = &w;
  }
  REQUIRE(longest != nullptr);
  CHECK(r.out.find(fmt::format("504 window 1 of {}: {} in cluster idc", j["windows"].size(),
                               (*longest)["service"].get<std::string>())) != std::string::npos);
  CHECK(r.out.find(fmt::format("({:.1f}s)", (*longest)["duration_s"].get<double>())) != std::string::npos);
  // The stages in pipeline order, the workqueue wait dominating.
  const std::size_t dequeued = r.out.find("endpoints controller dequeues the Service (+");
  const std::size_t stored = r.out.find("API server stores the Endpoints");
  const std::size_t synced = r.out.find("sync component writes the access copy");
  const std::size_t applied = r.out.find("ingress-nginx applies the new backends");
  const std::size_t workers = r.out.find("last nginx worker routes without it");
  CHECK(dequeued < stored);
  CHECK(stored < synced);
  CHECK(synced < applied);
  CHECK(applied < workers);
  CHECK(workers != std::string::npos);
  CHECK(r.out.find("100% of the window was spent waiting in the endpoints controller's workqueue") !=
        std::string::npos);
  CHECK(epsim::test::widest_line(r.out) <= 80);  // readable in an 80-column terminal
}

TEST_CASE("epsim explain --service picks one service and refuses unknown ones") {
  const auto r = run_epsim("explain --service web-00001");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("504 window 1 of 1: default/web-00001 in cluster idc") != std::string::npos);
  const auto j = nlohmann::json::parse(run_epsim("run --format json").out);
  for (const auto& w : j["windows"]) {
    if (w["service"] == "default/web-00001") {
      CHECK(r.out.find(fmt::format("({:.1f}s)", w["duration_s"].get<double>())) != std::string::npos);
    }
  }
  const auto fixed = run_epsim("explain " + epsim::test::source_path("scenarios/incident-fixed.yaml"));
  REQUIRE(fixed.exit_code == 0);
  CHECK(fixed.out.find("no 504 windows in this run") != std::string::npos);
  const auto unknown = run_epsim("explain --service nope");
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("--service nope: no such service") != std::string::npos);
}

TEST_CASE("multi-cluster windows have a cluster column, and explain --cluster picks one") {
  const std::string scenario = epsim::test::shell_quoted(epsim::test::source_path("scenarios/multi-cluster.yaml"));
  const auto json = nlohmann::json::parse(run_epsim("run " + scenario + " --format json").out);
  const auto text = run_epsim("run " + scenario);
  REQUIRE(text.exit_code == 0);
  std::set<std::string> window_clusters;
  for (const auto& w : json["windows"]) window_clusters.insert(w["cluster"].get<std::string>());
  REQUIRE(window_clusters.size() >= 2);  // so the table needs the cluster
  const auto table = text.out.find("  cluster ");
  REQUIRE(table != std::string::npos);
  for (const auto& w : json["windows"]) {
    // Each window's row names its own cluster, then its service.
    CAPTURE(w["cluster"].get<std::string>());
    std::string row_start = "\n  ";  // appended, not "literal" + string: GCC 12's -Wrestrict false positive
    row_start += w["cluster"].get<std::string>();
    row_start += ' ';
    const auto row = text.out.find(row_start, table);
    REQUIRE(row != std::string::npos);
    const auto line = text.out.substr(row + 1, text.out.find('\n', row + 1) - row - 1);
    std::string service = w["service"].get<std::string>();
    service += ' ';
    CHECK(line.find(service, row_start.size() - 1) != std::string::npos);
  }
  for (const std::string& cluster : window_clusters) {
    CAPTURE(cluster);
    const auto explained = run_epsim("explain " + scenario + " --cluster " + cluster + " --limit 0");
    REQUIRE(explained.exit_code == 0);
    std::size_t expected = 0;
    for (const auto& w : json["windows"]) expected += w["cluster"] == cluster ? 1 : 0;
    CHECK(count(explained.out, " in cluster " + cluster + "\n") == expected);
    CHECK(count(explained.out, "504 window ") == expected);
  }
  const auto unknown = run_epsim("explain " + scenario + " --cluster nope");
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("--cluster nope: no such business cluster") != std::string::npos);
  CHECK(unknown.err.find("idc-a") != std::string::npos);
  // A service of another cluster is no service of this one.
  const auto elsewhere = run_epsim("explain " + scenario + " --cluster idc-b --service a-00001");
  CHECK(elsewhere.exit_code == 2);
  CHECK(elsewhere.err.find("no such service in cluster idc-b") != std::string::npos);
}

TEST_CASE("epsim topology prints the pipeline as Graphviz DOT") {
  const auto r = run_epsim("topology " + epsim::test::source_path("scenarios/multi-cluster.yaml"));
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("digraph", 0) == 0);
  CHECK(r.out.find("endpoints-controller") != std::string::npos);
  CHECK(r.out.find("ingress-nginx") != std::string::npos);
  CHECK(r.out.find("->") != std::string::npos);
  CHECK(r.out.back() == '\n');
}

TEST_CASE("off a terminal a short run prints no progress") {
  const auto r = run_epsim("run --duration 2h");
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
}

TEST_CASE("background deploy entries of a cluster add up to one rate") {
  auto rollouts = [](const std::string& deploys) {
    const std::string text = "name: bg\nduration: 24h\nclusters:\n  - name: idc\n    services: [{count: 1000}]\n"
                             "    deploys: " + deploys + "\n";
    const auto scenario = epsim::app::load_scenario_text(text, "bg.yaml");
    epsim::app::Pipeline pipeline(scenario);
    pipeline.run();
    return pipeline.clusters().front()->deployments->rollouts().size();
  };
  const auto split = rollouts("[{ratePerHour: 1}, {ratePerHour: 30}]");
  CHECK(split == rollouts("[{ratePerHour: 31}]"));  // the same process at the summed rate
  CHECK(split > 24 * 31 * 8 / 10);
  CHECK(split < 24 * 31 * 12 / 10);
}

TEST_CASE("deploys on the access cluster are refused") {
  CHECK_THROWS_WITH_AS(epsim::app::load_scenario(epsim::test::source_path("scenarios/multi-cluster.yaml"),
                                                 {"clusters[access].deploys=[{ratePerHour: 1}]"}),
                       doctest::Contains("has no Deployments of its own"), epsim::app::InputError);
}

TEST_CASE("1.17.13 with pod status churn storms again: the targetRef resourceVersion compare (#108078)") {
  const auto r = run_epsim("run " + epsim::test::source_path("scenarios/incident-1.17.13-churn.yaml") + " --format json");
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  const auto& c = j["clusters"][0];
  CHECK_FALSE(c["switches"]["headlessLabelCompare"].get<bool>());  // #94112 is fixed in 1.17.13
  CHECK(c["switches"]["targetRefResourceVersionCompare"].get<bool>());
  // Each Service's pods (3 or 2) churn at 0.1/h for 16h25m before the resync:
  // a Service is untouched with probability exp(-0.1 x 16.42 x pods).
  const double hours = 59100.0 / 3600;
  const double touched = 12954 * (1 - std::exp(-0.1 * hours * 3)) + 35 * (1 - std::exp(-0.1 * hours * 2));
  const auto& storm = c["resyncs"][0];
  CHECK(storm["puts"].get<double>() > 0.97 * touched);
  CHECK(storm["puts"].get<double>() <= 12989);
  CHECK(storm["noop_puts"] == 0);  // each PUT carries a new target resourceVersion
  // The text report's note: on for the churn-free incident, off here and on 1.24.
  const std::string note = "note: pod status churn is 0";
  CHECK(run_epsim("run").out.find(note) != std::string::npos);
  CHECK(run_epsim("run " + epsim::test::source_path("scenarios/incident-1.17.13-churn.yaml")).out.find(note) ==
        std::string::npos);
  CHECK(run_epsim("run --kubernetes-version 1.24.0 --duration 1h").out.find(note) == std::string::npos);
}

TEST_CASE("--min-resync-period acts as kube-controller-manager's: periods are sampled, a pinned one dropped") {
  // Acceptance of issue 10: min 1h gives one period in [1h, 2h) for the term,
  // so at least 15 resyncs in 30 h, none at the scenario's pinned 59,100 s.
  const auto j = nlohmann::json::parse(run_epsim("run --min-resync-period 1h --duration 30h --format json").out);
  const auto& c = j["clusters"][0];
  const double period = c["resync_period_s"].get<double>();
  CHECK(period >= 3600);
  CHECK(period < 7200);
  std::vector<double> at;
  for (const auto& e : c["resyncs"]) at.push_back(e["at_s"].get<double>());
  CHECK(at.size() >= 10);
  CHECK(at.size() == static_cast<std::size_t>(30 * 3600 / period));
  for (std::size_t i = 0; i < at.size(); ++i) {
    CHECK(at[i] != 59100.0);
    // JSON seconds carry milliseconds: the period's rounding adds up.
    CHECK(std::abs(at[i] - period * static_cast<double>(i + 1)) <= 0.001 * static_cast<double>(i + 2));
  }
  // --resync-period (epsim's flag) pins it again.
  const auto pinned = nlohmann::json::parse(
      run_epsim("run --min-resync-period 1h --resync-period 90m --duration 5h --format json").out);
  CHECK(pinned["clusters"][0]["resync_period_s"] == 5400.0);
  CHECK(pinned["clusters"][0]["resyncs"].size() == 3);
}

TEST_CASE("--set PATH=null removes a key, so its default applies") {
  // The pinned period goes: sampled from the default 12h minimum, [12h, 24h).
  const auto j = nlohmann::json::parse(
      run_epsim("run --set 'clusters[idc].controllerManager.resyncPeriod=null' --format json").out);
  const double period = j["clusters"][0]["resync_period_s"].get<double>();
  CHECK(period >= 12 * 3600.0);
  CHECK(period < 24 * 3600.0);
  CHECK(period != 59100.0);
  // A key set in an include is removed there too: no throughput limit (0).
  const auto unbounded = nlohmann::json::parse(
      run_epsim("run --set clusterDefaults.apiServer.mutatingThroughput=~ --duration 1h --format json").out);
  CHECK(unbounded["clusters"][0]["apiserver_mutating_throughput"] == 0.0);
  // Entries of a list are not keys.
  const auto bad = run_epsim("run --set 'clusters[idc]=null'");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("cannot be removed") != std::string::npos);
}
