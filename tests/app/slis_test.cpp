// The SIG Scalability SLIs of the report against what else the report and
// metrics.prom say: with ingress-nginx the only programmer, the network
// programming p99 is the report's propagation p99; the SLI breaks only
// during and after the storm; every mutating call answered is in the API
// latency SLI's counts.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <sstream>
#include <string>

#include "run_epsim.h"

namespace {

// The sum of a metrics.prom family's samples whose labels hold all of `labels`.
double prom_sum(const std::string& prom, const std::string& name, const std::vector<std::string>& labels) {
  std::istringstream in(prom);
  double sum = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line.rfind(name + "{", 0) != 0) continue;
    bool all = true;
    for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
    if (all) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace

TEST_CASE("the incident's SLIs: network programming broken by the storm, API calls within 1s") {
  epsim::test::ScratchDir scratch("slis");
  const std::string out = (scratch.dir / "out").string();
  const auto run = epsim::test::run_epsim("run --format json --out " + epsim::test::shell_quoted(out));
  REQUIRE(run.exit_code == 0);
  const auto report = nlohmann::json::parse(run.out);
  const auto& network = report["slis"]["network_programming_latency"];
  REQUIRE(network.size() == 1);  // one business cluster, one day
  const auto& idc = network[0];
  CHECK(idc["cluster"] == "idc");
  // ingress-nginx is the only programmer: the same changes as the propagation quantiles.
  CHECK(idc["programmings"] == report["summary"]["propagation_changes"]);
  CHECK(idc["p99_s"] == report["summary"]["propagation_p99_s"]);
  CHECK(idc["met"] == (idc["p99_s"].get<double>() <= 30));
  // Broken only while the storm's backlog delays programming: from the
  // storm's start to at most a p99 after its end.
  const auto& storm = report["clusters"][0]["resyncs"][0];
  const double from = storm["at_s"].get<double>();
  const double to = from + storm["duration_s"].get<double>() + idc["p99_s"].get<double>() + 300;
  REQUIRE(idc["sli_broken_s"].get<double>() > 0);
  double total = 0;
  for (const auto& b : idc["sli_broken"]) {
    CHECK(b[0].get<double>() >= from);
    CHECK(b[1].get<double>() <= to);
    total += b[1].get<double>() - b[0].get<double>();
  }
  CHECK(total == idc["sli_broken_s"].get<double>());
  // Every answered mutating call of idc's API server is in one (resource, verb) entry.
  const std::string prom = epsim::test::read_file(out + "/metrics.prom");
  double calls = 0;
  for (const auto& e : report["slis"]["mutating_api_call_latency"]) {
    if (e["cluster"] != "idc") continue;
    calls += e["calls"].get<double>();
    CHECK(e["met"] == (e["p99_s"].get<double>() <= 1));
  }
  CHECK(calls == prom_sum(prom, "apiserver_request_duration_seconds_count", {"cluster=\"idc\""}));
  // The text report says it beside the windows.
  const auto text = epsim::test::run_epsim("run");
  CHECK(text.out.find("idc day 1: network programming p99 ") != std::string::npos);
  CHECK(text.out.find("SLO 30s: missed") != std::string::npos);
}

TEST_CASE("without a storm the network programming SLO is met and never broken") {
  const auto run = epsim::test::run_epsim(
      "run " + epsim::test::shell_quoted(epsim::test::source_path("scenarios/incident-fixed.yaml")) + " --format json");
  REQUIRE(run.exit_code == 0);
  const auto report = nlohmann::json::parse(run.out);
  for (const auto& e : report["slis"]["network_programming_latency"]) {
    CHECK(e["met"] == true);
    CHECK(e["sli_broken_s"] == 0);
  }
}
