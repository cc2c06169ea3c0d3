#include "app/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string_view>
#include <vector>

#include "app/chart_colors.h"
#include "app/explain.h"
#include "app/html_report_assets.h"
#include "app/limits.h"
#include "app/report.h"
#include "app/svg_charts.h"

namespace epsim::app {

namespace {

using json = nlohmann::ordered_json;

// Outside the storms, windows and broken SLI intervals each column keeps its
// extremes per bucket; this many buckets over the charted range (about a pixel column each).
constexpr std::size_t kOverviewBuckets = 1000;
// Every sample is kept within this margin around a storm or a window, so a
// zoom to one shows the same detail as timeseries.csv.
constexpr double kDetailMargin_s = 180;

struct ChartSpec {
  const char* suffix;  // column names end with this
  const char* id;
  const char* title;
  bool per_second;  // a count per sampling interval, drawn as a rate
};

constexpr std::array<ChartSpec, 5> kCharts = {{
    {"/workqueue_depth", "workqueue", "Endpoints controller workqueue depth (keys queued or in processing)", false},
    {"/endpoint_puts", "puts", "Endpoints PUTs per second", true},
    {"/apiserver_mutating_inflight", "inflight", "API server mutating requests in flight", false},
    {"/requests_504", "r504", "504 responses per second", true},
    {"/requests_5xx", "r5xx", "5xx responses per second", true},
}};

double rounded(double v, double unit) { return std::round(v / unit) * unit; }

// "16h25m0s" for a storm's start (whole seconds, as the text report prints it).
std::string clock_text(double seconds) {
  return sim::format_duration(sim::Duration::seconds(std::llround(seconds)));
}

struct Interval {
  double from_s, to_s;
};

// The sample indices a chart keeps: all of them within `detail`, and the
// smallest and the largest of each column per overview bucket elsewhere.
std::vector<std::size_t> kept_samples(const std::vector<double>& times_s, std::size_t first, std::size_t last,
                                      const std::vector<const std::vector<double>*>& columns,
                                      const std::vector<Interval>& detail) {
  std::vector<std::size_t> kept;
  if (first > last) return kept;
  const std::size_t n = last - first + 1;
  if (n <= 3 * kOverviewBuckets) {
    for (std::size_t i = first; i <= last; ++i) kept.push_back(i);
    return kept;
  }
  std::vector<bool> keep(n, false);
  for (const Interval& d : detail) {
    const auto a = std::lower_bound(times_s.begin() + static_cast<std::ptrdiff_t>(first),
                                    times_s.begin() + static_cast<std::ptrdiff_t>(last) + 1, d.from_s);
    const auto b = std::upper_bound(a, times_s.begin() + static_cast<std::ptrdiff_t>(last) + 1, d.to_s);
    for (auto it = a; it != b; ++it) keep[static_cast<std::size_t>(it - times_s.begin()) - first] = true;
  }
  keep.front() = keep.back() = true;
  for (std::size_t bucket = 0; bucket < kOverviewBuckets; ++bucket) {
    const std::size_t a = bucket * n / kOverviewBuckets, b = (bucket + 1) * n / kOverviewBuckets;
    if (a >= b) continue;
    for (const auto* column : columns) {
      std::size_t lo = a, hi = a;
      for (std::size_t i = a; i < b; ++i) {
        const double v = (*column)[first + i];
        if (v < (*column)[first + lo]) lo = i;
        if (v > (*column)[first + hi]) hi = i;
      }
      keep[lo] = keep[hi] = true;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (keep[i]) kept.push_back(first + i);
  }
  return kept;
}

json storms_json(const json& report, const std::vector<std::string>& clusters) {
  json storms = json::array();
  for (const auto& c : report["clusters"]) {
    const std::string name = c["name"].get<std::string>();
    const auto at = std::find(clusters.begin(), clusters.end(), name);
    const char* color = cluster_color(static_cast<std::size_t>(at - clusters.begin()));
    for (const char* kind : {"resyncs", "startups"}) {
      for (const auto& e : c[kind]) {
        const bool resync = std::string_view(kind) == "resyncs";
        json s;
        s["cluster"] = name;
        s["color"] = color;
        s["kind"] = !resync ? "controller start" : e["puts"].get<std::uint64_t>() == 0 ? "resync (no PUTs)"
                                                                                      : "resync storm";
        s["band_color"] = resync ? kResyncColor : kStartupColor;
        s["at_s"] = e["at_s"];
        s["at"] = clock_text(e["at_s"].get<double>());
        s["duration_s"] = e["duration_s"];
        s["end_s"] = rounded(e["at_s"].get<double>() + e["duration_s"].get<double>(), 0.001);
        s["enqueued"] = e["enqueued"];
        s["puts"] = e["puts"];
        s["noop_puts"] = e["noop_puts"];
        s["max_queue_depth"] = e["max_queue_depth"];
        s["unfinished"] = e.value("unfinished", false);
        s["limited_by"] = limited_by_text(e["limited_by"], c);
        storms.push_back(s);
      }
    }
  }
  std::stable_sort(storms.begin(), storms.end(),
                   [](const json& a, const json& b) { return a["at_s"].get<double>() < b["at_s"].get<double>(); });
  return storms;
}

json windows_json(const Pipeline& pipeline, const json& report, const std::vector<std::string>& clusters) {
  const std::vector<std::string> chains = window_chains(pipeline);
  json windows = json::array();
  std::size_t i = 0;
  for (const auto& w : report["windows"]) {
    const std::string cluster = w["cluster"].get<std::string>();
    const auto at = std::find(clusters.begin(), clusters.end(), cluster);
    json out;
    out["service"] = w["service"];
    out["cluster"] = cluster;
    out["color"] = cluster_color(static_cast<std::size_t>(at - clusters.begin()));
    out["start_s"] = w["start_s"];
    out["start"] = clock_text(w["start_s"].get<double>());
    out["end_s"] = w["end_s"];
    out["duration_s"] = w["duration_s"];
    out["requests_504"] = w["requests_504"];
    out["requests_502"] = w["requests_502"];
    out["consumer"] = w["consumer"];  // ingress-nginx/ACCESS or kube-proxy/CLUSTER
    out["failed"] = w["failed"];
    out["cause"] = w["cause"];
    for (const auto& c : report["clusters"]) {
      if (c["name"] == cluster) out["limited_by"] = limited_by_text(w["limited_by"], c);
    }
    out["chain"] = i < chains.size() ? chains[i] : std::string();
    ++i;
    windows.push_back(out);
  }
  return windows;
}

json charts_json(const Pipeline& pipeline, const json& storms, const json& windows, const json& sli_broken,
                 const std::vector<std::string>& clusters, const ChartRange& range) {
  const sim::TimeSeriesSampler& sampler = pipeline.time_series();
  const double interval_s = sampler.interval().seconds_f();
  std::vector<double> times_s;
  times_s.reserve(sampler.times().size());
  for (const sim::Time t : sampler.times()) times_s.push_back(t.seconds_f());
  json charts = json::array();
  if (times_s.empty()) return charts;
  const double to_s = range.to_s > range.from_s ? range.to_s : times_s.back();
  const std::size_t first =
      static_cast<std::size_t>(std::lower_bound(times_s.begin(), times_s.end(), range.from_s) - times_s.begin());
  const std::size_t end =
      static_cast<std::size_t>(std::upper_bound(times_s.begin(), times_s.end(), to_s) - times_s.begin());
  if (first >= end) return charts;
  std::vector<Interval> detail;
  for (const auto& s : storms) {
    detail.push_back({s["at_s"].get<double>() - kDetailMargin_s, s["end_s"].get<double>() + kDetailMargin_s});
  }
  for (const auto& w : windows) {
    detail.push_back({w["start_s"].get<double>() - kDetailMargin_s, w["end_s"].get<double>() + kDetailMargin_s});
  }
  for (const auto& b : sli_broken) {
    detail.push_back({b["from_s"].get<double>() - kDetailMargin_s, b["to_s"].get<double>() + kDetailMargin_s});
  }
  const json* previous_rows = nullptr;
  for (const ChartSpec& spec : kCharts) {
    std::vector<std::size_t> columns;
    for (std::size_t col = 0; col < sampler.names().size(); ++col) {
      if (sampler.names()[col].ends_with(spec.suffix)) columns.push_back(col);
    }
    if (columns.empty()) continue;
    const double scale = spec.per_second && interval_s > 0 ? 1.0 / interval_s : 1.0;
    std::vector<std::vector<double>> expanded;  // one value per row, out of the stored runs
    for (const std::size_t col : columns) expanded.push_back(sampler.column(col));
    std::vector<const std::vector<double>*> values;
    for (const auto& e : expanded) values.push_back(&e);
    json chart;
    chart["id"] = spec.id;
    chart["title"] = spec.title;
    json labels = json::array({"virtual time"});
    json colors = json::array();
    for (const std::size_t col : columns) {
      // A series is named by its prefix (a cluster, "ingress"), as in charts.svg;
      // dygraphs needs the labels of a chart to differ.
      const std::string& name = sampler.names()[col];
      const std::string prefix = name.substr(0, name.find('/'));
      const bool taken = std::find(labels.begin(), labels.end(), prefix) != labels.end();
      labels.push_back(taken ? name : prefix);
      colors.push_back(column_color(name, clusters));
    }
    chart["labels"] = labels;
    chart["colors"] = colors;
    json rows = json::array();
    for (const std::size_t i : kept_samples(times_s, first, end - 1, values, detail)) {
      json row = json::array({rounded(times_s[i], 0.001)});
      for (const auto* v : values) row.push_back(rounded((*v)[i] * scale, 0.001));
      rows.push_back(std::move(row));
    }
    // Every 5xx a 504 (the default, blackholed dead IPs): the 504 chart says it all.
    if (std::string_view(spec.id) == "r5xx" && previous_rows != nullptr && *previous_rows == rows) continue;
    chart["rows"] = std::move(rows);
    charts.push_back(std::move(chart));
    previous_rows = &charts.back()["rows"];
  }
  return charts;
}

// The SIG Scalability SLOs (report.json "slis", app/slis.h) per cluster-day,
// as the text report puts them: the mutating API call p99 of the worst
// (resource, verb), the network programming p99, and the minutes the 5-minute
// SLI was over its SLO, whose intervals the page lists as rows to zoom to.
json slis_rows(const json& report, const std::vector<std::string>& clusters) {
  json rows = json::array();
  if (!report.contains("slis")) return rows;
  const auto color = [&](const std::string& cluster) {
    const auto at = std::find(clusters.begin(), clusters.end(), cluster);
    return at == clusters.end() ? std::string("#7f7f7f")  // the access cluster
                                : std::string(cluster_color(static_cast<std::size_t>(at - clusters.begin())));
  };
  const auto row = [&](const json& e) -> json& {
    for (json& r : rows) {
      if (r["cluster"] == e["cluster"] && r["day"] == e["day"]) return r;
    }
    rows.push_back({{"cluster", e["cluster"]}, {"color", color(e["cluster"].get<std::string>())}, {"day", e["day"]}});
    return rows.back();
  };
  for (const auto& e : report["slis"]["mutating_api_call_latency"]) {
    json& r = row(e);
    if (!r.contains("api") || e["p99_s"].get<double>() > r["api"]["p99_s"].get<double>()) {
      r["api"] = {{"resource", e["resource"]}, {"verb", e["verb"]}, {"calls", e["calls"]},
                  {"p99_s", e["p99_s"]},       {"slo_s", e["slo_s"]}, {"met", e["met"]}};
    }
  }
  for (const auto& e : report["slis"]["network_programming_latency"]) {
    json& r = row(e);
    r["network"] = {{"programmings", e["programmings"]}, {"p99_s", e["p99_s"]},
                    {"slo_s", e["slo_s"]},               {"met", e["met"]},
                    {"sli_broken_s", e["sli_broken_s"]}, {"sli_broken", e["sli_broken"]}};
  }
  return rows;
}

json sli_broken_json(const json& slis) {
  json out = json::array();
  for (const auto& r : slis) {
    if (!r.contains("network")) continue;
    for (const auto& interval : r["network"]["sli_broken"]) {
      const double from_s = interval[0].get<double>(), to_s = interval[1].get<double>();
      out.push_back({{"cluster", r["cluster"]},
                     {"color", r["color"]},
                     {"day", r["day"]},
                     {"from_s", from_s},
                     {"to_s", to_s},
                     {"from", clock_text(from_s)},
                     {"to", clock_text(to_s)},
                     {"duration_s", rounded(to_s - from_s, 0.001)}});
    }
  }
  return out;
}

// Replaces each "@@NAME@@" of `page` by its value, in one pass: nothing
// inserted is searched again.
std::string fill(std::string_view page, const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t at = 0;
  while (true) {
    const std::size_t open = page.find("@@", at);
    const std::size_t close = open == std::string_view::npos ? open : page.find("@@", open + 2);
    if (close == std::string_view::npos) break;
    const auto it = values.find(std::string(page.substr(open + 2, close - open - 2)));
    if (it == values.end()) {
      out.append(page.substr(at, open + 2 - at));
      at = open + 2;
      continue;
    }
    out.append(page.substr(at, open - at));
    out += it->second;
    at = close + 2;
  }
  out.append(page.substr(at));
  return out;
}

// JSON inside <script>: "</script" would end the element early and "<!--"
// change how the browser reads the rest, so every '<' (only ever inside a
// JSON string) becomes the equivalent escape "\u003c".
std::string script_safe(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

// What the page embeds.
json html_report_data(const Pipeline& pipeline, const json& report, const ChartRange& range) {
  std::vector<std::string> clusters;  // business clusters, in report order: their colours
  for (const auto& c : report["clusters"]) {
    if (c["role"] == "business") clusters.push_back(c["name"].get<std::string>());
  }
  json data;
  data["scenario"] = report["scenario"]["name"];
  data["seed"] = report["seed"];
  data["virtual_duration_s"] = report["virtual_duration_s"];
  data["range"] = json::array({range.from_s, range.to_s > range.from_s ? range.to_s
                                                                       : report["virtual_duration_s"].get<double>()});
  data["summary"] = report["summary"];
  data["digest"] = report["digest"];
  data["text_report"] = format_text_report(report);
  json cluster_list = json::array();
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    cluster_list.push_back({{"name", clusters[i]}, {"color", cluster_color(i)}});
  }
  data["clusters"] = cluster_list;
  data["colors"] = {{"window", kWindowColor}, {"resync", kResyncColor}, {"startup", kStartupColor}};
  data["storms"] = storms_json(report, clusters);
  data["windows"] = windows_json(pipeline, report, clusters);
  data["slis"] = slis_rows(report, clusters);
  data["sli_broken"] = sli_broken_json(data["slis"]);
  data["charts"] = charts_json(pipeline, data["storms"], data["windows"], data["sli_broken"], clusters, range);
  return data;
}

}  // namespace

std::string html_report(const Pipeline& pipeline, const json& report, const ChartRange& range) {
  const json data = html_report_data(pipeline, report, range);
  const std::string title =
      fmt::format("epsim · {} · seed {}", report["scenario"]["name"].get<std::string>(), report["seed"].dump());
  return fill(html_report_template(),
              {{"TITLE", xml_escape(title)},
               {"DYGRAPHS_CSS", std::string(dygraphs_css())},
               {"DYGRAPHS_JS", std::string(dygraphs_js())},
               {"DATA", script_safe(data.dump(-1, ' ', false, json::error_handler_t::replace))}});
}

}  // namespace epsim::app
