// report.html through the epsim binary: self-contained, every storm and window
// (with its explain chain) in its data, the charts' samples reduced without
// losing a peak or the detail of a storm, and --from/--to. What a browser makes
// of it is tests/browser/html_report_test.py.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "run_epsim.h"

namespace {

using json = nlohmann::json;

// The JSON the page embeds in <script type="application/json" id="epsim-data">.
json embedded_data(const std::string& html) {
  const std::string open = R"(<script type="application/json" id="epsim-data">)";
  const std::size_t a = html.find(open);
  REQUIRE(a != std::string::npos);
  const std::size_t b = html.find("</script>", a);
  REQUIRE(b != std::string::npos);
  return json::parse(html.substr(a + open.size(), b - a - open.size()));
}

// One column of timeseries.csv.
std::vector<double> csv_column(const std::string& csv, const std::string& name) {
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  std::size_t index = 0, col = std::string::npos;
  std::istringstream header(line);
  for (std::string cell; std::getline(header, cell, ','); ++index) {
    if (cell == name) col = index;
  }
  REQUIRE(col != std::string::npos);
  std::vector<double> out;
  while (std::getline(lines, line)) {
    std::istringstream cells(line);
    std::string cell;
    for (std::size_t i = 0; i <= col; ++i) std::getline(cells, cell, ',');
    out.push_back(std::stod(cell));
  }
  return out;
}

const json& chart(const json& data, const std::string& id) {
  for (const auto& c : data["charts"]) {
    if (c["id"] == id) return c;
  }
  FAIL("no chart " << id);
  static const json none;
  return none;
}

}  // namespace

TEST_CASE("report.html is one self-contained page with every storm, window and chain") {
  const epsim::test::ScratchDir dir("html_report");
  const std::string out = (dir.dir / "out").string();
  REQUIRE(epsim::test::run_epsim("run --out " + epsim::test::shell_quoted(out)).exit_code == 0);
  const std::string html = epsim::test::read_file(out + "/report.html");
  const json report = json::parse(epsim::test::read_file(out + "/report.json"));
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.size() < 2'000'000);
  // Nothing fetched: no external script, style sheet, font or image.
  for (const char* ref : {"<script src", "<link", "@import", "url(http", "<img"}) {
    CHECK_MESSAGE(html.find(ref) == std::string::npos, ref);
  }
  CHECK(html.find("Dygraph") != std::string::npos);  // the library, inlined

  const json data = embedded_data(html);
  CHECK(data["digest"] == report["digest"]);
  std::size_t storms = 0;
  for (const auto& c : report["clusters"]) storms += c["resyncs"].size() + c["startups"].size();
  REQUIRE(data["storms"].size() == storms);
  for (const auto& s : data["storms"]) CHECK(s["limited_by"].get<std::string>().find('%') != std::string::npos);
  const auto& windows = report["windows"];
  REQUIRE(data["windows"].size() == windows.size());
  REQUIRE(!windows.empty());
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const std::string heading = "504 window " + std::to_string(i + 1) + " of " + std::to_string(windows.size()) +
                                ": " + windows[i]["service"].get<std::string>() + " in cluster " +
                                windows[i]["cluster"].get<std::string>();
    const std::string chain = data["windows"][i]["chain"].get<std::string>();
    CHECK(chain.rfind(heading, 0) == 0);
    CHECK(chain.find("the window opens") != std::string::npos);
    CHECK(data["windows"][i]["start_s"] == windows[i]["start_s"]);
  }

  // The charts: rows in time order, one value per label after the time.
  REQUIRE(data["charts"].size() >= 3);
  for (const auto& c : data["charts"]) {
    REQUIRE(!c["rows"].empty());
    CHECK(c["colors"].size() + 1 == c["labels"].size());
    double last = -1;
    for (const auto& row : c["rows"]) {
      CHECK(row.size() == c["labels"].size());
      CHECK(row[0].get<double>() > last);
      last = row[0].get<double>();
    }
  }
  // 86,401 samples a column, reduced: the peak survives, and within the storm
  // (and the margin around it) every second is there.
  const json& depth = chart(data, "workqueue");
  CHECK(depth["rows"].size() < 10'000);
  const std::vector<double> csv = csv_column(epsim::test::read_file(out + "/timeseries.csv"), "idc/workqueue_depth");
  double peak = 0;
  for (const auto& row : depth["rows"]) peak = std::max(peak, row[1].get<double>());
  CHECK(peak == *std::max_element(csv.begin(), csv.end()));
  const auto& storm = report["clusters"][0]["resyncs"][0];
  const double at = storm["at_s"].get<double>(), end = at + storm["duration_s"].get<double>();
  std::size_t inside = 0;
  for (const auto& row : depth["rows"]) inside += row[0].get<double>() >= at && row[0].get<double>() <= end ? 1 : 0;
  CHECK(inside == static_cast<std::size_t>(std::floor(end) - std::ceil(at)) + 1);  // one sample a second
}

TEST_CASE("--from and --to restrict the charts of report.html and charts.svg") {
  const epsim::test::ScratchDir dir("html_range");
  const std::string out = (dir.dir / "out").string();
  REQUIRE(epsim::test::run_epsim("run --from 16h20m --to 16h40m --out " + epsim::test::shell_quoted(out)).exit_code ==
          0);
  const json data = embedded_data(epsim::test::read_file(out + "/report.html"));
  const double from = 16 * 3600 + 20 * 60, to = 16 * 3600 + 40 * 60;
  CHECK(data["range"] == json::array({from, to}));
  for (const auto& c : data["charts"]) {
    // 1,201 seconds: few enough to keep them all.
    CHECK(c["rows"].size() == 1201);
    CHECK(c["rows"].front()[0] == from);
    CHECK(c["rows"].back()[0] == to);
  }
  const std::string svg = epsim::test::read_file(out + "/charts.svg");
  CHECK(svg.find(">16h20m<") != std::string::npos);  // the first x tick
  CHECK(svg.find(">16h40m<") != std::string::npos);  // the last
  CHECK(svg.find(">12h<") == std::string::npos);     // a tick of the whole day

  for (const char* bad : {"--from 16h40m --to 16h20m", "--from 25h", "--to -1m", "--from 16 --to 17h"}) {
    const auto r = epsim::test::run_epsim(std::string("run ") + bad + " --out " + epsim::test::shell_quoted(out));
    CHECK_MESSAGE(r.exit_code == 2, bad);
    CHECK_MESSAGE(r.err.find("--") != std::string::npos, bad);
  }
  const auto no_out = epsim::test::run_epsim("run --from 1h");
  CHECK(no_out.exit_code == 2);
  CHECK(no_out.err.find("--out") != std::string::npos);
}

TEST_CASE("a scenario name holding </script> and <!-- stays text in report.html") {
  const epsim::test::ScratchDir dir("html_escape");
  const std::string out = (dir.dir / "out").string();
  const std::string name = "a</script><!--<b>x";
  REQUIRE(epsim::test::run_epsim("run --duration 1m --set 'name=" + name + "' --out " +
                                 epsim::test::shell_quoted(out))
              .exit_code == 0);
  const std::string html = epsim::test::read_file(out + "/report.html");
  // The data ends at the first </script> after it starts: the name did not end it.
  CHECK(embedded_data(html)["scenario"] == name);
  CHECK(html.find("<title>epsim · a&lt;/script&gt;&lt;!--&lt;b&gt;x · seed 1</title>") != std::string::npos);
  CHECK(html.find(name) == std::string::npos);
  CHECK(html.find("<!--<b>") == std::string::npos);  // no comment opened inside the script either
}
