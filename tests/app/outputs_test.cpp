// The --out report files: Prometheus text, CSV time series, Chrome trace JSON,
// SVG charts, and their atomic writing through the epsim binary.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <cctype>
#include <map>
#include <set>
#include <vector>

#include "app/atomic_files.h"
#include "app/input_error.h"
#include "app/pipeline.h"
#include "app/prometheus_text.h"
#include "app/svg_charts.h"
#include "app/timeseries_csv.h"
#include "app/trace_events.h"
#include "run_epsim.h"
#include "sim/metrics.h"
#include "sim/simulator.h"
#include "sim/span_recorder.h"
#include "sim/time_series.h"

namespace fs = std::filesystem;
using epsim::sim::Duration;
using epsim::sim::Time;

namespace {

std::string temp_dir(const std::string& tag) {
  const std::string d = "/tmp/epsim_outputs_test_" + std::to_string(::getpid()) + "_" + tag;
  fs::remove_all(d);
  return d;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Every element the SVG opens is closed, in order (no XML parser needed).
// A plain scanner, not std::regex: libstdc++'s regex recurses per character
// and overflows the stack on the long point lists of a day-long chart.
bool tags_balanced(const std::string& svg, std::string* problem) {
  std::vector<std::string> stack;
  std::size_t pos = 0;
  while ((pos = svg.find('<', pos)) != std::string::npos) {
    const std::size_t close = svg.find('>', pos);
    if (close == std::string::npos) {
      *problem = "unterminated tag";
      return false;
    }
    const bool closing = pos + 1 < svg.size() && svg[pos + 1] == '/';
    std::size_t name_start = pos + (closing ? 2 : 1);
    std::size_t name_end = name_start;
    while (name_end < close && std::isalnum(static_cast<unsigned char>(svg[name_end]))) ++name_end;
    const std::string name = svg.substr(name_start, name_end - name_start);
    const bool self_closing = svg[close - 1] == '/';
    pos = close + 1;
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0])) || self_closing) continue;
    if (closing) {
      if (stack.empty() || stack.back() != name) {
        *problem = "unexpected </" + name + ">";
        return false;
      }
      stack.pop_back();
    } else {
      stack.push_back(name);
    }
  }
  if (!stack.empty()) *problem = "unclosed <" + stack.back() + ">";
  return stack.empty();
}

// A sampler over `seconds` seconds with the columns the charts look for.
struct SmallRun {
  epsim::sim::Simulator simulator;
  epsim::sim::TimeSeriesSampler sampler{simulator, Duration::seconds(1)};
  double depth = 0;
  double puts = 0;
  double failed = 0;
};

void fill(SmallRun& run, int seconds, bool with_504) {
  using Kind = epsim::sim::TimeSeriesSampler::Kind;
  run.sampler.add_series("idc/workqueue_depth", Kind::level, [&run] { return run.depth; });
  run.sampler.add_series("idc/endpoint_puts", Kind::delta, [&run] { return run.puts; });
  run.sampler.add_series("idc/apiserver_mutating_inflight", Kind::level, [] { return 2.0; });
  if (with_504) run.sampler.add_series("idc/requests_504", Kind::delta, [&run] { return run.failed; });
  for (int s = 0; s < seconds; ++s) {
    run.simulator.schedule_at(Time::zero() + Duration::milliseconds(s * 1000 + 500), [&run, s, seconds] {
      run.depth = s % 7 == 0 ? 1000.0 - s : 3;
      run.puts += 20;
      if (s > seconds / 2) run.failed += 1.5;
    });
  }
  run.sampler.start(Time::zero(), Time::zero() + Duration::seconds(seconds));
  run.simulator.run_until(Time::zero() + Duration::seconds(seconds));
}

nlohmann::ordered_json small_report(double duration_s) {
  nlohmann::ordered_json r;
  r["scenario"] = {{"name", "tiny <&> \"test\""}, {"sha256", "x"}};
  r["seed"] = 42;
  r["virtual_duration_s"] = duration_s;
  r["clusters"] = nlohmann::ordered_json::array();
  r["clusters"].push_back({{"name", "idc"},
                           {"resyncs", {{{"at_s", 60.0}, {"duration_s", 30.5}, {"puts", 600}}}},
                           {"startups", {{{"at_s", 0.0}, {"duration_s", 5.0}, {"puts", 10}}}}});
  r["windows"] = nlohmann::ordered_json::array();
  r["windows"].push_back({{"service", "default/web-00001"}, {"cluster", "idc"}, {"start_s", 70.0}, {"end_s", 95.25}});
  r["windows"].push_back({{"service", "default/web-00002"}, {"cluster", "idc"}, {"start_s", 80.0}, {"end_s", 100.0}});
  return r;
}

}  // namespace

TEST_CASE("Prometheus text of a small registry matches the exposition format exactly") {
  epsim::sim::MetricsRegistry r;
  r.counter("rest_client_requests_total", "Number of HTTP requests, partitioned by status code, method, and host.",
            {{"method", "PUT"}, {"code", "200"}})
      .inc(12954);
  r.counter("rest_client_requests_total", "", {{"method", "PUT"}, {"code", "409"}}).inc(3);
  r.gauge("workqueue_depth", "Current depth of workqueue", {{"name", "endpoint"}}).set(12989);
  r.gauge("weird", "help with \\ and\nnewline", {{"path", "a\"b\\c\nd"}}).set(0.5);
  auto& h = r.histogram("workqueue_queue_duration_seconds", "How long in seconds an item stays in workqueue",
                        epsim::sim::Histogram::exponential_buckets(1e-8, 10, 3), {{"name", "endpoint"}});
  h.observe(5e-9);
  h.observe(1e-7);
  h.observe(646.5);
  r.counter("empty_family_total", "no series yet");  // created with one series at {}
  const std::string expected =
      "# HELP empty_family_total no series yet\n"
      "# TYPE empty_family_total counter\n"
      "empty_family_total 0\n"
      "# HELP rest_client_requests_total Number of HTTP requests, partitioned by status code, method, and host.\n"
      "# TYPE rest_client_requests_total counter\n"
      "rest_client_requests_total{code=\"200\",method=\"PUT\"} 12954\n"
      "rest_client_requests_total{code=\"409\",method=\"PUT\"} 3\n"
      "# HELP weird help with \\\\ and\\nnewline\n"
      "# TYPE weird gauge\n"
      "weird{path=\"a\\\"b\\\\c\\nd\"} 0.5\n"
      "# HELP workqueue_depth Current depth of workqueue\n"
      "# TYPE workqueue_depth gauge\n"
      "workqueue_depth{name=\"endpoint\"} 12989\n"
      "# HELP workqueue_queue_duration_seconds How long in seconds an item stays in workqueue\n"
      "# TYPE workqueue_queue_duration_seconds histogram\n"
      "workqueue_queue_duration_seconds_bucket{name=\"endpoint\",le=\"1e-08\"} 1\n"
      "workqueue_queue_duration_seconds_bucket{name=\"endpoint\",le=\"1e-07\"} 2\n"
      "workqueue_queue_duration_seconds_bucket{name=\"endpoint\",le=\"1e-06\"} 2\n"
      "workqueue_queue_duration_seconds_bucket{name=\"endpoint\",le=\"+Inf\"} 3\n"
      "workqueue_queue_duration_seconds_sum{name=\"endpoint\"} 646.500000105\n"
      "workqueue_queue_duration_seconds_count{name=\"endpoint\"} 3\n";
  CHECK(epsim::app::prometheus_text(r) == expected);
}

TEST_CASE("Prometheus floats are printed as the Go clients print them") {
  using epsim::app::prometheus_float;
  CHECK(prometheus_float(0) == "0");
  CHECK(prometheus_float(1) == "1");
  CHECK(prometheus_float(12954) == "12954");
  CHECK(prometheus_float(999999) == "999999");
  CHECK(prometheus_float(1e6) == "1e+06");
  CHECK(prometheus_float(2256000) == "2.256e+06");
  CHECK(prometheus_float(0.0001) == "0.0001");
  CHECK(prometheus_float(0.00005) == "5e-05");
  CHECK(prometheus_float(1e-8) == "1e-08");
  CHECK(prometheus_float(0.25) == "0.25");
  CHECK(prometheus_float(-3.5) == "-3.5");
  CHECK(prometheus_float(HUGE_VAL) == "+Inf");
  CHECK(prometheus_float(-HUGE_VAL) == "-Inf");
  CHECK(prometheus_float(std::nan("")) == "NaN");
}

TEST_CASE("the CSV time series has a header and one exact row per sample") {
  epsim::sim::Simulator sim;
  epsim::sim::TimeSeriesSampler sampler(sim, Duration::seconds(1));
  double level = 0;
  double total = 0;
  sampler.add_series("idc/workqueue_depth", epsim::sim::TimeSeriesSampler::Kind::level, [&] { return level; });
  sampler.add_series("needs,quoting", epsim::sim::TimeSeriesSampler::Kind::delta, [&] { return total; });
  sim.schedule_at(Time::zero() + Duration::milliseconds(500), [&] {
    level = 12989;
    total = 2.5;
  });
  sim.schedule_at(Time::zero() + Duration::milliseconds(1500), [&] {
    level = 0.1;
    total = 42.5;
  });
  sampler.start(Time::zero(), Time::zero() + Duration::seconds(3));
  sim.run_until(Time::zero() + Duration::seconds(3));
  CHECK(epsim::app::timeseries_csv(sampler) ==
        "time_s,idc/workqueue_depth,\"needs,quoting\"\n"
        "0,0,0\n"
        "1,12989,2.5\n"
        "2,0.1,40\n"
        "3,0.1,0\n");
}

TEST_CASE("the trace is Chrome trace-event JSON with one named thread per track") {
  epsim::sim::SpanRecorder spans;
  const auto controller = spans.track("idc endpoints controller");
  const auto deploys = spans.track("idc deployments");
  const auto storm = spans.name("resync storm");
  const auto rollout = spans.name("rollout");
  spans.record(controller, storm, Time::zero() + Duration::seconds(60), Time::zero() + Duration::milliseconds(90500));
  spans.record(deploys, rollout, Time::zero() + Duration::seconds(10), Time::zero() + Duration::seconds(40));
  // Overlaps the first rollout without nesting: a second lane.
  spans.record(deploys, rollout, Time::zero() + Duration::seconds(30), Time::zero() + Duration::nanoseconds(50'000'001'500));
  const auto report = small_report(120);

  const auto trace = nlohmann::json::parse(epsim::app::trace_events_json(spans, report));
  REQUIRE(trace.contains("traceEvents"));
  CHECK(trace["displayTimeUnit"] == "ms");
  std::map<int, std::string> threads;
  std::vector<nlohmann::json> complete;
  for (const auto& e : trace["traceEvents"]) {
    REQUIRE(e["pid"].is_number_integer());
    REQUIRE(e["tid"].is_number_integer());
    CHECK(e["pid"] == 1);
    if (e["ph"] == "M" && e["name"] == "thread_name") threads[e["tid"].get<int>()] = e["args"]["name"];
    if (e["ph"] == "X") {
      CHECK(e["ts"].is_number());
      CHECK(e["dur"].is_number());
      CHECK(e["dur"].get<double>() >= 0);
      complete.push_back(e);
    }
  }
  CHECK(threads == std::map<int, std::string>{{1, "idc endpoints controller"},
                                              {2, "idc deployments"},
                                              {3, "idc deployments #2"},
                                              {4, "504 windows"},
                                              {5, "504 windows #2"}});
  REQUIRE(complete.size() == 5);
  CHECK(complete[0]["name"] == "resync storm");
  CHECK(complete[0]["ts"] == 60000000);
  CHECK(complete[0]["dur"] == 30500000);
  CHECK(complete[2]["tid"] == 3);
  CHECK(complete[2]["dur"].get<double>() == doctest::Approx(20000001.5));
  CHECK(complete[3]["name"] == "default/web-00001");
  CHECK(complete[3]["ts"] == 70000000);
  CHECK(complete[3]["dur"] == 25250000);
  CHECK(complete[3]["args"]["cluster"] == "idc");
  CHECK(complete[4]["tid"] == 5);
}

TEST_CASE("the SVG charts are well formed and hold every panel storm and window") {
  SmallRun run;
  fill(run, 120, true);
  const std::string svg = epsim::app::svg_charts(run.sampler, small_report(120));
  CHECK(svg.rfind("<svg", 0) == 0);
  std::string problem;
  CHECK_MESSAGE(tags_balanced(svg, &problem), problem);
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(svg.find("@font-face") == std::string::npos);
  CHECK(svg.find("id=\"panel-workqueue_depth\"") != std::string::npos);
  CHECK(svg.find("id=\"panel-endpoint_puts\"") != std::string::npos);
  CHECK(svg.find("id=\"panel-apiserver_mutating_inflight\"") != std::string::npos);
  CHECK(svg.find("id=\"panel-requests_504\"") != std::string::npos);
  CHECK(svg.find("tiny &lt;&amp;&gt; &quot;test&quot;") != std::string::npos);  // escaped title
  CHECK(svg.find("seed 42") != std::string::npos);
  CHECK(svg.find("idc resync storm at 1m: 0.5 min, 600 PUTs") != std::string::npos);
  CHECK(svg.find("idc controller start at 0") != std::string::npos);
  CHECK(svg.find("504 windows (2)") != std::string::npos);
  CHECK(svg.find("<tspan") != std::string::npos);
  CHECK(svg == epsim::app::svg_charts(run.sampler, small_report(120)));  // deterministic

  // Without 504 columns, windows or storms the optional parts are left out.
  SmallRun plain;
  fill(plain, 30, false);
  nlohmann::ordered_json bare = {{"scenario", {{"name", "bare"}}}, {"seed", 1}};
  const std::string svg2 = epsim::app::svg_charts(plain.sampler, bare);
  CHECK(tags_balanced(svg2, &problem));
  CHECK(svg2.find("id=\"panel-requests_504\"") == std::string::npos);
  CHECK(svg2.find("id=\"panel-workqueue_depth\"") != std::string::npos);
}

// The y of every <text> of `svg` whose opening tag holds `attr`, with its text.
std::vector<std::pair<double, std::string>> texts_with(const std::string& svg, const std::string& attr) {
  std::vector<std::pair<double, std::string>> out;
  for (std::size_t pos = 0; (pos = svg.find("<text ", pos)) != std::string::npos; ++pos) {
    const std::size_t close = svg.find('>', pos);
    const std::string tag = svg.substr(pos, close - pos);
    if (tag.find(attr) == std::string::npos) continue;
    const std::size_t y = tag.find(" y=\"");
    out.emplace_back(std::stod(tag.substr(y + 4)), svg.substr(close + 1, svg.find("</text>", close) - close - 1));
  }
  return out;
}

TEST_CASE("charts.svg with five clusters: legends under the titles, one colour per cluster, a zoom per storm") {
  epsim::sim::Simulator simulator;
  epsim::sim::TimeSeriesSampler sampler{simulator, Duration::seconds(1)};
  using Kind = epsim::sim::TimeSeriesSampler::Kind;
  const std::vector<std::string> clusters = {"business-a", "business-b", "business-c", "business-d", "business-e"};
  double level = 0;
  for (const auto& c : clusters) {
    sampler.add_series(c + "/workqueue_depth", Kind::level, [&level] { return level; });
    sampler.add_series(c + "/endpoint_puts", Kind::delta, [&level] { return level * 3; });
  }
  for (int s = 0; s < 600; ++s) {
    simulator.schedule_at(Time::zero() + Duration::milliseconds(s * 1000 + 500), [&level, s] { level = s % 50; });
  }
  sampler.start(Time::zero(), Time::zero() + Duration::seconds(600));
  simulator.run_until(Time::zero() + Duration::seconds(600));
  nlohmann::ordered_json report = small_report(600);
  report["clusters"] = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    // The last cluster's resync PUTs nothing: 1.17.13, the fix.
    const int puts = i + 1 == clusters.size() ? 0 : 100;
    report["clusters"].push_back({{"name", clusters[i]},
                                  {"role", "business"},
                                  {"resyncs", {{{"at_s", 100.0 * static_cast<double>(i) + 20}, {"duration_s", 30.0},
                                                {"puts", puts}}}},
                                  {"startups", nlohmann::ordered_json::array()}});
  }
  const std::string svg = epsim::app::svg_charts(sampler, report);
  std::string problem;
  CHECK_MESSAGE(tags_balanced(svg, &problem), problem);

  // Per panel of the whole-run view: every legend entry below the title's row.
  for (const char* panel : {"workqueue_depth", "endpoint_puts"}) {
    const std::size_t a = svg.find(std::string("id=\"panel-") + panel + "\"");
    REQUIRE(a != std::string::npos);
    const std::string group = svg.substr(a, svg.find("</g>", a) - a);
    const auto titles = texts_with(group, "font-size=\"13\"");
    REQUIRE(titles.size() == 1);
    const auto legend = texts_with(group, "fill=\"#333\"");
    REQUIRE(legend.size() == clusters.size());
    for (const auto& [y, text] : legend) CHECK_MESSAGE(y >= titles[0].first + 12, text);
  }
  // A cluster's colour: the rect just before its legend text, the same in every
  // panel (whole run and zooms), different from every other cluster's.
  std::map<std::string, std::set<std::string>> colors;
  for (std::size_t pos = 0; (pos = svg.find("<rect ", pos)) != std::string::npos; ++pos) {
    const std::size_t fill_at = svg.find("fill=\"", pos);
    const std::string fill = svg.substr(fill_at + 6, 7);
    const std::size_t text_open = svg.find("<text ", pos);
    if (svg.find('\n', pos) > text_open) continue;  // not on the line just above a text
    const std::size_t start = svg.find('>', text_open) + 1;
    const std::string text = svg.substr(start, svg.find("</text>", start) - start);
    for (const auto& c : clusters) {
      if (text.rfind(c + " (peak", 0) == 0) colors[c].insert(fill);
    }
  }
  std::set<std::string> all;
  for (const auto& c : clusters) {
    CHECK_MESSAGE(colors[c].size() == 1, c);
    if (!colors[c].empty()) all.insert(*colors[c].begin());
  }
  CHECK(all.size() == clusters.size());
  // A zoomed view per storm; the resync without PUTs is not called a storm
  // and has no zoomed view.
  std::size_t zooms = 0;
  for (std::size_t pos = 0; (pos = svg.find(">Zoom: ", pos)) != std::string::npos; ++pos) ++zooms;
  CHECK(zooms == clusters.size() - 1);
  CHECK(svg.find(">Zoom: business-e") == std::string::npos);
  CHECK(svg.find("business-e resync (no PUTs) at 7m: 0.5 min<") != std::string::npos);
  CHECK(svg.find("business-e resync storm") == std::string::npos);
  CHECK(svg.find("business-a resync storm at 20s: 0.5 min, 100 PUTs") != std::string::npos);
}

TEST_CASE("a day of samples is downsampled to a small SVG") {
  SmallRun run;
  fill(run, 86400, true);
  const std::string svg = epsim::app::svg_charts(run.sampler, small_report(86400));
  CHECK(svg.size() < 1'000'000);
  std::string problem;
  CHECK(tags_balanced(svg, &problem));
  CHECK(svg.find(">24h<") != std::string::npos);  // the last x tick
}

TEST_CASE("atomic writing creates parents and leaves nothing behind on failure") {
  const std::string dir = temp_dir("atomic") + "/a/b";
  epsim::app::write_files_atomically(dir, {{"one.txt", "1\n"}, {"two.txt", "2\n"}});
  CHECK(files_in(dir) == std::vector<std::string>{"one.txt", "two.txt"});
  CHECK(epsim::test::read_file(dir + "/two.txt") == "2\n");

  // A directory in the way of the second file: refused before anything is written.
  const std::string dir2 = temp_dir("atomic_fail");
  fs::create_directories(dir2 + "/two.txt/blocker");
  CHECK_THROWS_AS(epsim::app::write_files_atomically(dir2, {{"one.txt", "1\n"}, {"two.txt", "2\n"}}),
                  epsim::app::InputError);
  CHECK(files_in(dir2) == std::vector<std::string>{"two.txt"});

  const std::string file = temp_dir("atomic_file");
  std::ofstream(file) << "x";
  CHECK_THROWS_AS(epsim::app::check_output_dir(file), epsim::app::InputError);
  CHECK_THROWS_AS(epsim::app::write_files_atomically(file + "/sub", {{"one.txt", "1\n"}}), epsim::app::InputError);
  fs::remove_all(temp_dir("atomic"));
  fs::remove_all(dir2);
  fs::remove(file);
}

TEST_CASE("epsim run --out writes every report file") {
  const std::string dir = temp_dir("run") + "/nested/out";
  const auto r = epsim::test::run_epsim("run --format json --out " + dir);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.rfind("epsim: wrote ", 0) == 0);  // the list of what it wrote, nothing else
  CHECK(r.err.find("error") == std::string::npos);
  CHECK(files_in(dir) ==
        std::vector<std::string>{"charts.svg", "metrics.om", "metrics.prom", "report.html", "report.json", "timeseries.csv",
                                 "trace.json"});

  // report.json is what --format json prints; only wall_s may differ from another run.
  const std::string written = epsim::test::read_file(dir + "/report.json");
  CHECK(written == r.out);
  auto without_wall = [](const std::string& text) {
    auto j = nlohmann::ordered_json::parse(text);
    j.erase("wall_s");
    return j;
  };
  const auto again = epsim::test::run_epsim("run --format json");
  CHECK(without_wall(written) == without_wall(again.out));

  const std::string csv = epsim::test::read_file(dir + "/timeseries.csv");
  CHECK(csv.rfind("time_s,idc/workqueue_depth,", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 86402);  // header + samples at 0..86400 s
  const std::string header = csv.substr(0, csv.find('\n')) + ",";
  for (const char* column : {"idc/workqueue_adds", "idc/endpoint_puts", "idc/apiserver_writes",
                             "idc/apiserver_latency_mean_s", "access/apiserver_writes", "sync/queue_depth",
                             "ingress/syncs", "ingress/requests", "ingress/requests_5xx", "ingress/requests_504"}) {
    CHECK_MESSAGE(header.find(std::string(",") + column + ",") != std::string::npos, column);
  }
  // The storm's deploys fail requests: the 504 panel is drawn from ingress/requests_504.
  const std::string svg_text = epsim::test::read_file(dir + "/charts.svg");
  CHECK(svg_text.find("504 responses per second") != std::string::npos);
  const std::string prom = epsim::test::read_file(dir + "/metrics.prom");
  CHECK(prom.find("# TYPE workqueue_depth gauge") != std::string::npos);
  CHECK(prom.find("le=\"+Inf\"") != std::string::npos);
  const std::string om = epsim::test::read_file(dir + "/metrics.om");
  CHECK(om.find("# TYPE nginx_ingress_controller_requests unknown\n") != std::string::npos);
  CHECK(om.size() >= 6);
  CHECK(om.substr(om.size() - 6) == "# EOF\n");
  const auto trace = nlohmann::json::parse(epsim::test::read_file(dir + "/trace.json"));
  CHECK(trace["traceEvents"].size() > 2);
  const std::string svg = epsim::test::read_file(dir + "/charts.svg");
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.size() < 1'000'000);
  CHECK(svg.find("incident-1.17.3") != std::string::npos);

  // Same seed, same files (report.json aside, which carries wall_s).
  const std::string dir2 = temp_dir("run2");
  REQUIRE(epsim::test::run_epsim("run --out " + dir2).exit_code == 0);
  for (const char* f : {"timeseries.csv", "metrics.prom", "metrics.om", "trace.json", "charts.svg", "report.html"}) {
    CHECK_MESSAGE(epsim::test::read_file(dir + "/" + f) == epsim::test::read_file(dir2 + "/" + f), f);
  }
  fs::remove_all(temp_dir("run"));
  fs::remove_all(dir2);
}

TEST_CASE("epsim run --out to an unusable place exits 2 and writes nothing") {
  const std::string file = temp_dir("blocker");
  std::ofstream(file) << "not a directory\n";
  const auto r = epsim::test::run_epsim("run --out " + file + "/reports");
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("--out") != std::string::npos);
  CHECK(r.err.find("is not a directory") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(fs::is_regular_file(file));
  CHECK(epsim::test::read_file(file) == "not a directory\n");

  const auto same = epsim::test::run_epsim("run --out " + file);
  CHECK(same.exit_code == 2);
  CHECK(same.err.find("is not a directory") != std::string::npos);
  fs::remove(file);
}

TEST_CASE("--out refuses a non-empty directory without epsim output unless --force") {
  // Before: --out / dropped five files into /.
  const std::string dir = temp_dir("foreign");
  fs::create_directories(dir);
  std::ofstream(dir + "/notes.txt") << "mine\n";
  const auto r = epsim::test::run_epsim("run --duration 1m --out " + dir);
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("not empty and holds no earlier epsim output") != std::string::npos);
  CHECK(r.err.find("--force") != std::string::npos);
  CHECK(files_in(dir) == std::vector<std::string>{"notes.txt"});
  const auto root = epsim::test::run_epsim("run --duration 1m --out /");
  CHECK(root.exit_code == 2);
  CHECK_FALSE(fs::exists("/report.json"));
  const auto sweep = epsim::test::run_epsim("sweep --duration 1m --vary kube-api-qps=20 --out " + dir);
  CHECK(sweep.exit_code == 2);
  REQUIRE(epsim::test::run_epsim("run --duration 1m --force --out " + dir).exit_code == 0);
  CHECK(files_in(dir) == std::vector<std::string>{"charts.svg", "metrics.om", "metrics.prom", "notes.txt", "report.html",
                                                  "report.json", "timeseries.csv", "trace.json"});
  // Now it holds epsim output: no --force needed, and the user's file stays.
  CHECK(epsim::test::run_epsim("run --duration 1m --out " + dir).exit_code == 0);
  CHECK(epsim::test::read_file(dir + "/notes.txt") == "mine\n");
  fs::remove_all(dir);
}

TEST_CASE("a failed --out write leaves the earlier run's files as they were") {
  // Before: the rollback deleted the files it had already replaced, so a
  // failure destroyed the earlier run.
  const std::string dir = temp_dir("earlier");
  REQUIRE(epsim::test::run_epsim("run --duration 1m --seed 1 --out " + dir).exit_code == 0);
  const std::string report = epsim::test::read_file(dir + "/report.json");
  const std::string csv = epsim::test::read_file(dir + "/timeseries.csv");
  fs::remove(dir + "/metrics.prom");
  fs::create_directories(dir + "/metrics.prom/in-the-way");
  const auto r = epsim::test::run_epsim("run --duration 1m --seed 2 --out " + dir);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("metrics.prom exists and is not a regular file") != std::string::npos);
  CHECK(epsim::test::read_file(dir + "/report.json") == report);
  CHECK(epsim::test::read_file(dir + "/timeseries.csv") == csv);
  CHECK(files_in(dir) ==
        std::vector<std::string>{"charts.svg", "metrics.om", "metrics.prom", "report.html", "report.json", "timeseries.csv",
                                 "trace.json"});

  // In the library: an earlier file is kept under a backup name while the
  // new one is renamed in, and the backup goes once the swap is done.
  const std::string lib = temp_dir("earlier_lib");
  epsim::app::write_files_atomically(lib, {{"a.txt", "old a\n"}, {"b.txt", "old b\n"}});
  epsim::app::write_files_atomically(lib, {{"a.txt", "new a\n"}, {"b.txt", "new b\n"}});
  CHECK(files_in(lib) == std::vector<std::string>{"a.txt", "b.txt"});
  CHECK(epsim::test::read_file(lib + "/a.txt") == "new a\n");
  fs::remove_all(dir);
  fs::remove_all(lib);
}

TEST_CASE("a swap that fails half-way puts back every file it had already replaced") {
  // Earlier a, b, c; the new set a, d (new), b, c fails before its fourth
  // swap, when a, d and b are already in place: a and b come back, d goes,
  // c was never touched, and no temp or backup is left.
  const std::string dir = temp_dir("half_way");
  epsim::app::write_files_atomically(dir, {{"a.txt", "old a\n"}, {"b.txt", "old b\n"}, {"c.txt", "old c\n"}});
  const std::vector<epsim::app::OutputFile> next = {
      {"a.txt", "new a\n"}, {"d.txt", "new d\n"}, {"b.txt", "new b\n"}, {"c.txt", "new c\n"}};
  for (std::size_t fail_at = 0; fail_at < next.size(); ++fail_at) {
    CAPTURE(fail_at);
    std::size_t swapped = 0;
    const auto hook = [&](std::size_t index) {
      if (index == fail_at) throw epsim::app::InputError("injected failure");
      swapped = index + 1;
    };
    CHECK_THROWS_WITH_AS(epsim::app::write_files_atomically(dir, next, hook), "injected failure",
                         epsim::app::InputError);
    CHECK(swapped == fail_at);
    CHECK(files_in(dir) == std::vector<std::string>{"a.txt", "b.txt", "c.txt"});
    CHECK(epsim::test::read_file(dir + "/a.txt") == "old a\n");
    CHECK(epsim::test::read_file(dir + "/b.txt") == "old b\n");
    CHECK(epsim::test::read_file(dir + "/c.txt") == "old c\n");
  }
  // And without a failure the whole new set is in place.
  epsim::app::write_files_atomically(dir, next);
  CHECK(files_in(dir) == std::vector<std::string>{"a.txt", "b.txt", "c.txt", "d.txt"});
  CHECK(epsim::test::read_file(dir + "/d.txt") == "new d\n");
  fs::remove_all(dir);
}

TEST_CASE("temp files of a killed run are removed: by the signal, or at the next write") {
  // Before: hidden .NAME.tmp.XXXXXX files (up to 12 MB) stayed forever.
  const std::string dir = temp_dir("stale");
  fs::create_directories(dir);
  for (const char* stale : {".report.json.tmp.AbC123", ".charts.svg.old.x1Y2z3", ".notes.txt.tmp.AbC123"}) {
    std::ofstream(dir + "/" + stale) << "left by a killed run\n";
  }
  std::ofstream(dir + "/report.json") << "{}\n";  // an earlier run's
  REQUIRE(epsim::test::run_epsim("run --duration 1m --out " + dir).exit_code == 0);
  // Ours are gone; a name epsim does not write is not touched.
  CHECK(files_in(dir) == std::vector<std::string>{".notes.txt.tmp.AbC123", "charts.svg", "metrics.om", "metrics.prom",
                                                  "report.html", "report.json", "timeseries.csv", "trace.json"});
  fs::remove_all(dir);


  // A signal while the temps are written: a child process writes 400 MB (long
  // enough to be caught in the act); once its temp file exists it gets
  // SIGTERM, and must die of it with the temp removed.
  for (int sig : {SIGTERM, SIGINT}) {
    CAPTURE(sig);
    const std::string big_dir = temp_dir("signalled");
    fs::create_directories(big_dir);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      try {
        epsim::app::write_files_atomically(big_dir, {{"big.bin", std::string(std::size_t{400} << 20, 'x')}});
      } catch (...) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    bool seen = false;
    for (int i = 0; i < 20000 && !seen; ++i) {  // up to ~10 s
      for (const auto& e : fs::directory_iterator(big_dir)) {
        seen = seen || e.path().filename().string().rfind(".big.bin.tmp.", 0) == 0;
      }
      if (!seen) ::usleep(500);
    }
    CHECK(seen);
    ::kill(child, sig);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == sig);
    CHECK(files_in(big_dir).empty());
    fs::remove_all(big_dir);
  }
}

TEST_CASE("the time series samples every second up to 7 days and coarser beyond") {
  using epsim::sim::Duration;
  CHECK(epsim::app::sample_interval(Duration::hours(24)) == Duration::seconds(1));
  CHECK(epsim::app::sample_interval(Duration::hours(168)) == Duration::seconds(1));
  CHECK(epsim::app::sample_interval(Duration::hours(168) + Duration::nanoseconds(1)) == Duration::seconds(2));
  CHECK(epsim::app::sample_interval(Duration::hours(8760)) == Duration::seconds(53));
  CHECK(epsim::app::sample_interval(Duration::nanoseconds(INT64_MAX)) == Duration::seconds(15'251));  // no overflow
  CHECK(Duration::hours(8760) / epsim::app::sample_interval(Duration::hours(8760)) <= epsim::app::kMaxSamples);
}
