// The outputs of one run agree with each other and with what the scenario
// implies, instead of with figures copied from an earlier run: the storm's
// PUTs and length from the scenario's Services and client bucket, the report's
// counts from metrics.prom and timeseries.csv, the run's failed requests from
// its windows.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "app/scenario.h"
#include "run_epsim.h"

namespace {

// The sum of the samples of a metrics.prom series family whose label text
// holds every one of `labels` (e.g. `cluster="idc"`).
double prom_sum(const std::string& prom, const std::string& name, const std::vector<std::string>& labels) {
  std::istringstream in(prom);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t brace = line.find('{');
    const std::size_t space = line.rfind(' ');
    if (line.substr(0, std::min(brace, space)) != name) continue;
    const std::string label_text = brace < space ? line.substr(brace, space - brace) : "";
    bool all = true;
    for (const auto& l : labels) all = all && label_text.find(l) != std::string::npos;
    if (all) sum += std::stod(line.substr(space + 1));
  }
  return sum;
}

struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<double>> rows;

  explicit Csv(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);
    header = split(line);
    while (std::getline(in, line)) {
      std::vector<double> row;
      for (const auto& cell : split(line)) row.push_back(std::stod(cell));
      rows.push_back(row);
    }
  }
  std::size_t column(const std::string& name) const {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return i;
    }
    FAIL("no column " << name);
    return 0;
  }
  // The column's sum over the rows whose time_s lies in [from_s, to_s].
  double sum(const std::string& name, double from_s = -1, double to_s = 1e18) const {
    const std::size_t c = column(name);
    double s = 0;
    for (const auto& row : rows) {
      if (row[0] >= from_s && row[0] <= to_s) s += row[c];
    }
    return s;
  }

 private:
  static std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    std::string cell;
    while (std::getline(in, cell, ',')) out.push_back(cell);
    return out;
  }
};

// Poisson noise: the report's request counts are drawn, timeseries.csv's
// request columns are their expected values (the fluid rates integrated).
bool within_4_sigma(double drawn, double expected) { return std::abs(drawn - expected) <= 4 * std::sqrt(expected) + 1; }

}  // namespace

TEST_CASE("the incident's report, metrics.prom and timeseries.csv agree with each other and with the scenario") {
  epsim::test::ScratchDir scratch("agreement");
  const std::string out = (scratch.dir / "out").string();
  const auto run = epsim::test::run_epsim("run --format json --out " + epsim::test::shell_quoted(out));
  REQUIRE(run.exit_code == 0);
  const auto report = nlohmann::json::parse(run.out);
  const std::string prom = epsim::test::read_file(out + "/metrics.prom");
  const Csv csv(epsim::test::read_file(out + "/timeseries.csv"));

  // The storm, from the scenario: every headless Service's Endpoints is PUT
  // (#94112), and with the client bucket the bound, (PUTs - burst) / qps.
  const epsim::app::Scenario scenario = epsim::app::load_scenario("");
  const auto& idc_spec = scenario.clusters.at(0);
  std::uint64_t headless = 0;
  for (const auto& g : idc_spec.services) headless += g.headless ? g.count : 0;
  const auto& idc = report["clusters"][0];
  REQUIRE(idc["name"] == idc_spec.name);
  const auto& storm = idc["resyncs"][0];
  CHECK(storm["enqueued"].get<std::uint64_t>() == idc["services"].get<std::uint64_t>());
  CHECK(storm["puts"].get<std::uint64_t>() >= headless);
  CHECK(storm["noop_puts"].get<std::uint64_t>() <= headless);
  REQUIRE(storm["limited_by"]["stage"] == "client_bucket");
  const auto& ep = idc_spec.controller_manager.endpoints;
  const double bucket_bound_s = (storm["puts"].get<double>() - ep.kube_api_burst) / ep.kube_api_qps;
  CHECK(storm["duration_s"].get<double>() == doctest::Approx(bucket_bound_s).epsilon(0.005));

  // The controller's PUTs, counted by the client, the API server and the sampler.
  const double puts = idc["endpoint_puts_total"].get<double>();
  CHECK(puts >= storm["puts"].get<double>());
  CHECK(prom_sum(prom, "rest_client_requests_total", {"cluster=\"idc\"", "method=\"PUT\""}) == puts);
  CHECK(prom_sum(prom, "rest_client_request_duration_seconds_count", {"cluster=\"idc\""}) == puts);
  CHECK(prom_sum(prom, "apiserver_request_total", {"client=\"endpoint-controller\"", "cluster=\"idc\""}) == puts);
  CHECK(csv.sum("idc/endpoint_puts") == puts);
  CHECK(csv.sum("idc/apiserver_writes") == idc["apiserver_writes_applied"].get<double>());

  // How they settled adds up to them, each outcome as the client counted it
  // by response code, and every failed write's key went back to the queue
  // or, after maxRetries, was dropped (handleErr).
  const auto& writes = idc["endpoint_writes"];
  const double conflicts = writes["conflicts_409"].get<double>();
  const double other_errors = writes["other_errors"].get<double>();
  REQUIRE(conflicts > 0);  // the storm's PUTs race the rollouts' (the 409s)
  CHECK(writes["total"].get<double>() == puts);
  CHECK(writes["changed"].get<double>() + writes["noop"].get<double>() + conflicts + other_errors == puts);
  CHECK(prom_sum(prom, "rest_client_requests_total", {"cluster=\"idc\"", "code=\"409\""}) == conflicts);
  CHECK(prom_sum(prom, "rest_client_requests_total", {"cluster=\"idc\"", "code=\"200\""}) +
            prom_sum(prom, "rest_client_requests_total", {"cluster=\"idc\"", "code=\"201\""}) ==
        writes["changed"].get<double>() + writes["noop"].get<double>());
  const auto& retries = idc["endpoint_retries"];
  CHECK(retries["requeued"].get<double>() + retries["dropped"].get<double>() == conflicts + other_errors);
  CHECK(retries["retry_after_waits"].get<double>() ==
        prom_sum(prom, "rest_client_requests_total", {"cluster=\"idc\"", "code=\"429\""}));

  // Requests: the CSV's expected counts against the report's drawn ones.
  const auto& summary = report["summary"];
  const double r502 = summary["requests_502"].get<double>();
  const double r503 = summary["requests_503"].get<double>();
  const double r504 = summary["requests_504"].get<double>();
  REQUIRE(r504 > 0);
  CHECK(within_4_sigma(r504, csv.sum("ingress/requests_504")));
  CHECK(within_4_sigma(r502 + r503 + r504, csv.sum("ingress/requests_5xx")));
  CHECK(within_4_sigma(summary["requests_total"].get<double>(), csv.sum("ingress/requests")));

  // Every failed request falls in a window, and a window's failures happened
  // while it was open.
  double w502 = 0, w503 = 0, w504 = 0;
  REQUIRE(report["windows"].size() == summary["windows"].get<std::size_t>());
  for (const auto& w : report["windows"]) {
    CAPTURE(w["service"].get<std::string>());
    w502 += w["requests_502"].get<double>();
    w503 += w["requests_503"].get<double>();
    w504 += w["requests_504"].get<double>();
    const double failed = w["requests_502"].get<double>() + w["requests_503"].get<double>() +
                          w["requests_504"].get<double>();
    CHECK(failed <= w["requests"].get<double>());
    const double start = std::floor(w["start_s"].get<double>());
    const double end = std::ceil(w["end_s"].get<double>()) + 1;
    const double expected_in_window = csv.sum("ingress/requests_5xx", start, end);
    CHECK(failed <= expected_in_window + 4 * std::sqrt(expected_in_window) + 1);
  }
  CHECK(w502 == r502);
  CHECK(w503 == r503);
  CHECK(w504 == r504);
}
