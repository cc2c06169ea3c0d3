// The scenario digest is the resolved scenario (README "Reliability",
// docs/scenario.md "The resolved scenario"): every spelling of one scenario
// (its path, the embedded default or the file, a flag or the --set it stands
// for, a redundant switch override) gives one canonical text and one digest,
// and the canonical text is itself a scenario that resolves to the same text.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "app/canonical_scenario.h"
#include "app/cli_options.h"
#include "app/scenario.h"
#include "app/sha256.h"
#include "run_epsim.h"

namespace fs = std::filesystem;
using epsim::app::canonical_scenario_yaml;
using epsim::app::load_scenario;
using epsim::app::Scenario;
using epsim::app::scenario_digest;
using epsim::test::shell_quoted;

namespace {

const std::string& incident_path() {
  static const std::string path = epsim::test::source_path("scenarios/incident-1.17.3.yaml");
  return path;
}

// The scenario after the flags of `epsim run`, as the command resolves it.
Scenario with_flags(const std::string& path, const std::vector<std::string>& sets,
                    void (*set_flags)(epsim::app::Overrides&)) {
  epsim::app::ScenarioOptions options;
  options.path = path;
  options.sets = sets;
  set_flags(options.overrides);
  return epsim::app::load_with_options(options);
}

}  // namespace

TEST_CASE("every shipped scenario prints a canonical scenario that resolves to the same text") {
  const auto scenarios = epsim::test::shipped_scenarios();
  REQUIRE(scenarios.size() >= 6);
  for (const std::string& path : scenarios) {
    CAPTURE(path);
    const std::string text = canonical_scenario_yaml(load_scenario(path));
    const Scenario again = epsim::app::load_scenario_text(text, "canonical.yaml");
    CHECK(canonical_scenario_yaml(again) == text);
    // Nothing of the source's spelling is left: no include, no clusterDefaults.
    CHECK(text.find("include:") == std::string::npos);
    CHECK(text.find("clusterDefaults:") == std::string::npos);
  }
}

TEST_CASE("path spellings and the embedded default give one digest") {
  const std::string expected = scenario_digest(load_scenario(incident_path()));
  const fs::path scenarios_dir = fs::path(incident_path()).parent_path();
  std::vector<std::string> spellings = {
      "",  // the embedded default is this file
      (scenarios_dir / "." / "incident-1.17.3.yaml").string(),
      (scenarios_dir / "common" / ".." / "incident-1.17.3.yaml").string(),
      fs::relative(incident_path()).string(),
  };
  // The same files elsewhere, the scenario reformatted: comments and key order
  // are not the scenario.
  epsim::test::ScratchDir scratch("canonical_paths");
  const std::string original = epsim::test::read_file(incident_path());
  scratch.write("common/apiserver-calibrated.yaml",
                epsim::test::read_file((scenarios_dir / "common" / "apiserver-calibrated.yaml").string()));
  std::string reformatted = "# reformatted\n";
  std::string rest;
  for (std::size_t start = 0; start < original.size();) {
    std::size_t end = original.find('\n', start);
    if (end == std::string::npos) end = original.size();
    const std::string line = original.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    // name and description move after the clusters list.
    if (line.rfind("name:", 0) == 0 || line.rfind("description:", 0) == 0) {
      rest += line + "   # moved\n";
    } else {
      reformatted += line + "\n";
    }
  }
  REQUIRE(rest.find("name:") != std::string::npos);
  spellings.push_back(scratch.write("moved.yaml", reformatted + rest));
  for (const std::string& path : spellings) {
    CAPTURE(path);
    CHECK(scenario_digest(load_scenario(path)) == expected);
  }
  // A real change is another scenario.
  CHECK(scenario_digest(load_scenario(incident_path(), {"seed=2"})) != expected);
}

TEST_CASE("a flag and the --set it stands for give one digest") {
  const std::string base = scenario_digest(load_scenario(incident_path()));
  const auto none = [](epsim::app::Overrides&) {};
  struct Spelling {
    const char* what;
    std::vector<std::string> sets;
    void (*flags)(epsim::app::Overrides&);
  };
  const std::vector<std::vector<Spelling>> groups = {
      {{"--kube-api-qps 100", {}, [](auto& o) { o.kube_api_qps = 100; }},
       {"--set by name", {"clusters[idc].controllerManager.kubeAPIQPS=100"}, none},
       {"--set by index", {"clusters[0].controllerManager.kubeAPIQPS=100.0"}, none},
       {"--set 1e2", {"clusters[idc].controllerManager.kubeAPIQPS=1e2"}, none}},
      {{"--seed 7", {}, [](auto& o) { o.seed = 7; }}, {"--set seed", {"seed=7"}, none}},
      {{"--duration 90m", {}, [](auto& o) { o.duration = epsim::sim::Duration::minutes(90); }},
       {"--set duration", {"duration=1h30m"}, none},
       {"--set duration in seconds", {"duration=5400s"}, none}},
      {{"--min-resync-period 1h", {}, [](auto& o) { o.min_resync_period = epsim::sim::Duration::hours(1); }},
       {"--set minResyncPeriod, resyncPeriod removed",
        {"clusters[idc].controllerManager.minResyncPeriod=60m", "clusters[idc].controllerManager.resyncPeriod=null"},
        none}},
      {{"--kubernetes-version 1.17.13", {}, [](auto& o) { o.kubernetes_version = "1.17.13"; }},
       {"--set kubernetesVersion", {"clusters[idc].kubernetesVersion=1.17.13"}, none}},
      // A switch set to its version's preset value changes nothing.
      {{"no override", {}, none},
       {"headlessLabelCompare as 1.17.3 presets it",
        {"clusters[idc].controllerManager.switches.headlessLabelCompare=true"},
        none}},
  };
  for (const auto& group : groups) {
    const std::string first = scenario_digest(with_flags(incident_path(), group[0].sets, group[0].flags));
    for (const Spelling& s : group) {
      CAPTURE(s.what);
      CHECK(scenario_digest(with_flags(incident_path(), s.sets, s.flags)) == first);
    }
    if (std::string(group[0].what) != "no override") CHECK(first != base);
  }
  CHECK(scenario_digest(load_scenario(
            incident_path(), {"clusters[idc].controllerManager.switches.headlessLabelCompare=false"})) != base);
}

TEST_CASE("percentages and free text read back exactly") {
  const std::vector<std::string> percents = {"25%", "33.3%", "0.1%", "12.345678%", "100%", "7%", "99.99999%"};
  for (const std::string& p : percents) {
    CAPTURE(p);
    const Scenario s = load_scenario(
        incident_path(), {"clusters[idc].services[0].maxSurge=" + p, "clusters[idc].services[0].maxUnavailable=" + p});
    const Scenario again = epsim::app::load_scenario_text(canonical_scenario_yaml(s), "canonical.yaml");
    CHECK(again.clusters[0].services[0].workload.max_surge_fraction ==
          s.clusters[0].services[0].workload.max_surge_fraction);
    CHECK(again.clusters[0].services[0].workload.max_unavailable_fraction ==
          s.clusters[0].services[0].workload.max_unavailable_fraction);
  }
  const std::string description = "a \"quoted\" #not-a-comment, back\\slash: {x} [y] & é\tand\nnew line";
  const Scenario s = epsim::app::load_scenario_text(
      "description: \"a \\\"quoted\\\" #not-a-comment, back\\\\slash: {x} [y] & é\\tand\\nnew line\"\n"
      "clusters: [{name: idc, services: [{count: 1}]}]\n",
      "text.yaml");
  REQUIRE(s.description == description);
  const Scenario again = epsim::app::load_scenario_text(canonical_scenario_yaml(s), "canonical.yaml");
  CHECK(again.description == description);
}

TEST_CASE(
    "run --print-scenario prints what the report's scenario.sha256 hashes, and running it gives the same report") {
  const auto printed = epsim::test::run_epsim("run --kube-api-qps 100 --print-scenario");
  REQUIRE(printed.exit_code == 0);
  CHECK(printed.err.empty());
  const auto report = epsim::test::run_epsim("run --kube-api-qps 100 --format json");
  REQUIRE(report.exit_code == 0);
  const auto report_json = nlohmann::json::parse(report.out);
  CHECK(report_json["scenario"]["sha256"] == epsim::app::sha256_hex(printed.out));
  // The printed scenario, read from the standard input, is the same run.
  epsim::test::ScratchDir scratch("print_scenario");
  const std::string path = scratch.write("resolved.yaml", printed.out);
  const auto rerun = epsim::test::run_epsim("run - --format json", path);
  REQUIRE(rerun.exit_code == 0);
  CHECK(nlohmann::json::parse(rerun.out)["digest"] == report_json["digest"]);
  CHECK(report_json["digest"].get<std::string>().size() == 64);
  // --print-scenario runs nothing, so it takes no output options.
  const std::string out_dir = (scratch.dir / "out").string();
  const auto with_out = epsim::test::run_epsim("run --print-scenario --out " + shell_quoted(out_dir));
  CHECK(with_out.exit_code == 2);
  CHECK(with_out.err.find("excludes --print-scenario") != std::string::npos);
  CHECK_FALSE(fs::exists(out_dir));
}

TEST_CASE("the scale scenarios are the incident and its storm at 1x, 10x and 100x") {
  const Scenario incident = load_scenario(incident_path());
  const auto& idc = incident.clusters.at(0);
  std::uint64_t headless = 0, services = 0;
  for (const auto& g : idc.services) {
    services += g.count;
    headless += g.headless ? g.count : 0;
  }
  const auto& ep = idc.controller_manager.endpoints;
  for (const std::uint64_t k : {1, 10, 100}) {
    CAPTURE(k);
    const auto scale = [&](const std::string& kind) {
      return load_scenario(epsim::test::source_path(fmt::format("scenarios/scale/{}-x{}.yaml", kind, k)));
    };
    // The incident: k times its Services, the same everything else but, at
    // 100x, the resync period: the storm must end before the run, and the run
    // before the next resync (which would merge into a storm still running).
    const Scenario big = scale("incident");
    REQUIRE(big.clusters.size() == incident.clusters.size());
    const auto& b = big.clusters[0];
    REQUIRE(b.services.size() == idc.services.size());
    for (std::size_t g = 0; g < b.services.size(); ++g) CHECK(b.services[g].count == k * idc.services[g].count);
    CHECK(b.deploys.size() == idc.deploys.size());
    CHECK(b.deploys.back().rate_per_hour == idc.deploys.back().rate_per_hour);
    const double storm_s = (static_cast<double>(k * headless) - ep.kube_api_burst) / ep.kube_api_qps;
    REQUIRE(b.controller_manager.resync_period.has_value());
    const double resync_s = b.controller_manager.resync_period->seconds_f();
    CHECK(resync_s + storm_s < big.duration.seconds_f());
    CHECK(big.duration.seconds_f() < 2 * resync_s);
    if (k < 100) CHECK(b.controller_manager.resync_period == idc.controller_manager.resync_period);
    if (k == 1) {
      // Under another name, the incident itself.
      auto renamed = big;
      renamed.name = incident.name;
      renamed.description = incident.description;
      CHECK(canonical_scenario_yaml(renamed) == canonical_scenario_yaml(incident));
    }
    // The storm alone: one pod per Service, no deploys, no data plane; the
    // storm ends before the run, and the run before the next resync.
    const Scenario storm = scale("storm");
    REQUIRE(storm.clusters.size() == 1);
    const auto& s = storm.clusters[0];
    std::uint64_t storm_services = 0;
    for (const auto& g : s.services) {
      storm_services += g.count;
      CHECK(g.workload.replicas == 1);
    }
    CHECK(storm_services == k * services);
    CHECK(s.deploys.empty());
    CHECK_FALSE(storm.sync.present);
    REQUIRE(s.controller_manager.resync_period.has_value());
    const double period_s = s.controller_manager.resync_period->seconds_f();
    CHECK(period_s + storm_s < storm.duration.seconds_f());
    CHECK(storm.duration.seconds_f() < 2 * period_s);
    CHECK(s.api_server.mutating_throughput == idc.api_server.mutating_throughput);
  }
}
