// The text report says what report.json holds, in a form that adds up: the
// Endpoints write line, resyncs with and without PUTs, `run --limit`, what
// --out wrote, and `explain --format json` against the report's windows.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "run_epsim.h"

using epsim::test::run_epsim;

namespace {

// 12989 -> "12,989", written out here rather than taken from the report code.
std::string with_commas(std::uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::uint64_t u(const nlohmann::json& v) { return v.get<std::uint64_t>(); }

// The rows of the text report's window table (after its header line).
std::vector<std::string> window_rows(const std::string& text) {
  std::vector<std::string> rows;
  std::istringstream in(text.substr(text.find("mostly waiting in\n") + 18));
  std::string line;
  while (std::getline(in, line) && !line.empty()) rows.push_back(line);
  return rows;
}

}  // namespace

TEST_CASE("the Endpoints write line adds up and names the 409s and retries") {
  const auto json = run_epsim("run --format json");
  const auto text = run_epsim("run");
  REQUIRE(json.exit_code == 0);
  REQUIRE(text.exit_code == 0);
  const auto idc = nlohmann::json::parse(json.out)["clusters"][0];
  const auto& w = idc["endpoint_writes"];
  REQUIRE(u(w["conflicts_409"]) > 0);
  CHECK(u(w["changed"]) + u(w["noop"]) + u(w["conflicts_409"]) + u(w["other_errors"]) == u(w["total"]));
  CHECK(text.out.find("  Endpoints writes: " + with_commas(u(w["total"])) + " = " + with_commas(u(w["changed"])) +
                      " changed storage + " + with_commas(u(w["noop"])) + " no-op +\n    " +
                      with_commas(u(w["conflicts_409"])) + " got 409 Conflict") != std::string::npos);
  const auto& r = idc["endpoint_retries"];
  CHECK(text.out.find("  retries: " + with_commas(u(r["requeued"])) + " requeued, " + with_commas(u(r["dropped"])) +
                      " dropped after 15, ") != std::string::npos);
  CHECK(epsim::test::widest_line(text.out) <= 80);
}

TEST_CASE("a resync that PUT nothing is a resync with no PUTs, not a storm") {
  const std::string scenario = epsim::test::shell_quoted(epsim::test::source_path("scenarios/multi-cluster.yaml"));
  const auto report = nlohmann::json::parse(run_epsim("run " + scenario + " --format json").out);
  const auto text = run_epsim("run " + scenario).out;
  std::size_t storms = 0, quiet = 0;
  for (const auto& c : report["clusters"]) {
    for (const auto& e : c["resyncs"]) ++(u(e["puts"]) > 0 ? storms : quiet);
  }
  REQUIRE(storms > 0);
  REQUIRE(quiet > 0);  // idc-b runs 1.22, whose resyncs PUT nothing (#94112 fixed)
  std::size_t storm_rows = 0, quiet_rows = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    storm_rows += line.rfind("  resync storm ", 0) == 0 ? 1 : 0;
    quiet_rows += line.rfind("  resync (no PUTs) ", 0) == 0 ? 1 : 0;
  }
  CHECK(storm_rows == storms);
  CHECK(quiet_rows == quiet);
  const auto explained = run_epsim("explain " + scenario + " --cluster idc-b").out;
  CHECK(explained.find("resync (no PUTs) in idc-b") != std::string::npos);
  CHECK(explained.find("resync storm in idc-b") == std::string::npos);
}

TEST_CASE("run --limit N lists the N longest windows, 0 all of them") {
  const auto report = nlohmann::json::parse(run_epsim("run --format json").out);
  const std::size_t windows = report["windows"].size();
  REQUIRE(windows > 3);
  std::vector<double> lengths;
  for (const auto& w : report["windows"]) lengths.push_back(w["duration_s"].get<double>());
  std::sort(lengths.rbegin(), lengths.rend());
  for (const std::size_t limit : {std::size_t{1}, std::size_t{3}, std::size_t{0}}) {
    CAPTURE(limit);
    const auto text = run_epsim("run --limit " + std::to_string(limit));
    REQUIRE(text.exit_code == 0);
    const auto rows = window_rows(text.out);
    const std::size_t expected = limit == 0 ? windows : std::min(limit, windows);
    REQUIRE(rows.size() == expected);
    // Longest first: the last row shown has the expected-th longest length.
    char length[32];
    std::snprintf(length, sizeof length, " %.1fs ", lengths[expected - 1]);
    CHECK(rows.back().find(length) != std::string::npos);
  }
  CHECK(run_epsim("run --limit -1").exit_code == 2);
}

TEST_CASE("--out says on stderr which files it wrote, and stdout stays the report") {
  epsim::test::ScratchDir scratch("wrote");
  const std::string out = (scratch.dir / "out").string();
  const auto run = run_epsim("run --duration 1h --format json --out " + epsim::test::shell_quoted(out));
  REQUIRE(run.exit_code == 0);
  CHECK(nlohmann::json::accept(run.out));
  REQUIRE(run.err.find("epsim: wrote ") != std::string::npos);
  std::size_t listed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    CAPTURE(entry.path().filename().string());
    CHECK(run.err.find("  " + entry.path().filename().string() + " ") != std::string::npos);
    ++listed;
  }
  CHECK(run.err.find("wrote " + std::to_string(listed) + " files to ") != std::string::npos);
}

TEST_CASE("explain --format json gives each window's chain in time order, as the report has it") {
  const auto report = nlohmann::json::parse(run_epsim("run --format json").out);
  const auto run = run_epsim("explain --format json --limit 0");
  REQUIRE(run.exit_code == 0);
  const auto j = nlohmann::json::parse(run.out);
  CHECK(j["digest"] == report["digest"]);
  REQUIRE(j["windows_total"].get<std::size_t>() == report["windows"].size());
  REQUIRE(j["windows"].size() == report["windows"].size());
  for (const auto& w : j["windows"]) {
    CAPTURE(w["service"].get<std::string>());
    const auto same = std::find_if(report["windows"].begin(), report["windows"].end(), [&](const auto& r) {
      return r["service"] == w["service"] && r["start_s"] == w["start_s"];
    });
    REQUIRE(same != report["windows"].end());
    CHECK(w["end_s"] == (*same)["end_s"]);
    CHECK(w["requests_504"] == (*same)["requests_504"]);
    REQUIRE(!w["chain"].empty());
    double previous = -1;
    bool opens = false, closes = false;
    for (const auto& step : w["chain"]) {
      CHECK(step["at_s"].get<double>() >= previous);
      previous = step["at_s"].get<double>();
      opens = opens || (step["event"] == "window_opens" && step["at_s"] == w["start_s"]);
      closes = closes || (step["event"] == "window_closes" && step["at_s"] == w["end_s"]);
    }
    CHECK(opens);
    CHECK(closes);
    // The stage it mostly waited in is the report's largest cause.
    std::string largest;
    double most = 0;
    for (const auto& [key, value] : (*same)["cause"].items()) {
      if (value.get<double>() > most) {
        most = value.get<double>();
        largest = key;
      }
    }
    CHECK(w["mostly"]["stage"] == largest);
  }
  const auto text = run_epsim("explain --format yaml");
  CHECK(text.exit_code == 2);
}
