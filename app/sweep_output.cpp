#include "app/sweep_output.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>

#include "app/measures.h"
#include "app/svg_charts.h"

namespace epsim::app {

namespace {

double round6(double v) { return std::round(v * 1e6) / 1e6; }

std::string point_label(const SweepResult& r, std::size_t point) {
  const auto vals = point_values(r.axes, point);
  std::string out;
  for (std::size_t a = 0; a < r.axes.size(); ++a) out += fmt::format("{}{}={}", a ? " " : "", r.axes[a].key, vals[a]);
  return out.empty() ? "(the scenario as it is)" : out;
}

std::map<std::string, double> means(const SweepResult& r, std::size_t point) {
  std::map<std::string, double> m;
  for (const auto& [name, s] : point_stats(r, point)) m[name] = s.mean;
  return m;
}

// RFC 4180: a field holding a comma, quote or line break is quoted, its
// quotes doubled.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The best points: fewest 504s, then the shortest storm (ties all marked).
std::vector<bool> best_points(const SweepResult& r, std::size_t points) {
  std::vector<std::pair<double, double>> key(points);
  for (std::size_t p = 0; p < points; ++p) {
    const auto m = means(r, p);
    key[p] = {m.at("requests_504"), m.at("storm_s")};
  }
  const auto best = *std::min_element(key.begin(), key.end());
  std::vector<bool> marked(points);
  for (std::size_t p = 0; p < points; ++p) marked[p] = key[p] == best;
  return marked;
}

std::string stage_label(const std::string& stage) {
  if (stage == "apiserver") return "API server";
  if (stage == "client_bucket") return "client bucket";
  if (stage == "endpoints_workers") return "workers";
  if (stage == "other") return "other";
  return "-";
}

}  // namespace

std::vector<SweepAxis> axes_of_identity(const nlohmann::ordered_json& identity) {
  std::vector<SweepAxis> axes;
  for (const auto& a : identity["axes"]) {
    SweepAxis axis;
    axis.key = a["key"].get<std::string>();
    axis.values = a["values"].get<std::vector<std::string>>();
    axes.push_back(axis);
  }
  return axes;
}

std::map<std::string, MeasureStats> point_stats(const SweepResult& r, std::size_t point) {
  std::map<std::string, MeasureStats> stats;
  const auto n = static_cast<std::size_t>(r.seeds);
  for (const auto& name : measure_names()) {
    std::vector<double> xs;
    for (std::size_t k = 0; k < n; ++k) xs.push_back(r.runs[point * n + k].measures.at(name));
    MeasureStats s;
    double sum = 0;
    for (double x : xs) sum += x;
    s.mean = sum / static_cast<double>(n);
    s.min = *std::min_element(xs.begin(), xs.end());
    s.max = *std::max_element(xs.begin(), xs.end());
    s.ci95_low = s.ci95_high = s.mean;
    if (n > 1) {
      double ss = 0;
      for (double x : xs) ss += (x - s.mean) * (x - s.mean);
      const double sd = std::sqrt(ss / static_cast<double>(n - 1));
      const boost::math::students_t t(static_cast<double>(n - 1));
      const double half = boost::math::quantile(boost::math::complement(t, 0.025)) * sd / std::sqrt(static_cast<double>(n));
      s.ci95_low = s.mean - half;
      s.ci95_high = s.mean + half;
    }
    stats[name] = s;
  }
  return stats;
}

std::vector<std::pair<std::size_t, std::string>> failing_points(const SweepResult& r) {
  std::vector<std::pair<std::size_t, std::string>> out;
  const std::size_t points = point_count(r.axes);
  for (std::size_t p = 0; p < points && !r.fail_if.empty(); ++p) {
    const auto m = means(r, p);
    std::string reasons;
    for (const auto& t : r.fail_if) {
      if (t.holds(m)) reasons += (reasons.empty() ? "" : "; ") + t.explain(m);
    }
    if (!reasons.empty()) out.emplace_back(p, reasons);
  }
  return out;
}

std::string sweep_text(const SweepResult& r) {
  const std::size_t points = point_count(r.axes);
  const auto& id = r.identity;
  std::string out = fmt::format("epsim {} | sweep of {} | {} points x {} seed{}\n", id["epsim_version"].get<std::string>(),
                                id["scenario"]["name"].get<std::string>(), points, r.seeds, r.seeds == 1 ? "" : "s");
  for (const auto& f : id["fixed"]) out += fmt::format("fixed: {}\n", f.get<std::string>());
  out += r.seeds > 1 ? "values are means over the seeds; storm +- is the 95% interval of its mean\n\n" : "\n";
  std::vector<std::size_t> width;
  for (std::size_t a = 0; a < r.axes.size(); ++a) {
    std::size_t w = r.axes[a].key.size();
    for (const auto& v : r.axes[a].values) w = std::max(w, v.size());
    width.push_back(w);
  }
  std::string header;
  for (std::size_t a = 0; a < r.axes.size(); ++a) header += fmt::format("{:>{}}  ", r.axes[a].key, width[a]);
  header += fmt::format("{:>9}{} {:<13} {:>7} {:>7} {:>8} {:>8} {:>7}", "storm", r.seeds > 1 ? "        " : "",
                        "limited by", "PUTs", "windows", "longest", "504s", "p99");
  out += header + "\n";
  const auto best = best_points(r, points);
  const auto failing = failing_points(r);
  for (std::size_t p = 0; p < points; ++p) {
    const auto vals = point_values(r.axes, p);
    const auto stats = point_stats(r, p);
    std::string line;
    for (std::size_t a = 0; a < r.axes.size(); ++a) line += fmt::format("{:>{}}  ", vals[a], width[a]);
    const auto& storm = stats.at("storm_s");
    line += fmt::format("{:>8.1f}s", storm.mean);
    if (r.seeds > 1) line += fmt::format(" +-{:<5.1f}", (storm.ci95_high - storm.ci95_low) / 2);
    // The stage of the first seed's longest storm (the point's own run).
    const std::string& stage = r.runs[p * static_cast<std::size_t>(r.seeds)].limited_by;
    // Counts of one seed are whole; means over seeds get a decimal.
    line += fmt::format(" {:<13} {:>7.0f} {:>7.{}f} {:>7.1f}s {:>8.0f} {:>6.1f}s", stage_label(stage),
                        stats.at("storm_puts").mean, stats.at("windows").mean, r.seeds > 1 ? 1 : 0,
                        stats.at("max_window_s").mean, stats.at("requests_504").mean,
                        stats.at("propagation_p99_s").mean);
    const bool fails = std::any_of(failing.begin(), failing.end(), [p](const auto& f) { return f.first == p; });
    if (best[p]) line += "  *best";
    if (fails) line += "  FAIL";
    out += line + "\n";
  }
  out += "\n*best: fewest 504s, then the shortest storm\n";
  if (!failing.empty()) {
    out += fmt::format("{} of {} points fail --fail-if:\n", failing.size(), points);
    for (const auto& [p, why] : failing) out += fmt::format("  point {} ({}): {}\n", p + 1, point_label(r, p), why);
  }
  return out;
}

std::string sweep_json(const SweepResult& r) {
  nlohmann::ordered_json j;
  j["sweep"] = r.identity;
  nlohmann::ordered_json points = nlohmann::ordered_json::array();
  const std::size_t n = point_count(r.axes);
  const auto failing = failing_points(r);
  for (std::size_t p = 0; p < n; ++p) {
    nlohmann::ordered_json pj;
    pj["point"] = p + 1;
    nlohmann::ordered_json settings;
    const auto vals = point_values(r.axes, p);
    for (std::size_t a = 0; a < r.axes.size(); ++a) settings[r.axes[a].key] = vals[a];
    pj["settings"] = settings;
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    for (int k = 0; k < r.seeds; ++k) {
      const SweepRun& run = r.runs[p * static_cast<std::size_t>(r.seeds) + static_cast<std::size_t>(k)];
      nlohmann::ordered_json rj;
      rj["seed"] = run.seed;
      rj["digest"] = run.digest;
      rj["limited_by"] = run.limited_by;
      nlohmann::ordered_json mj;
      for (const auto& name : measure_names()) mj[name] = run.measures.at(name);
      rj["measures"] = mj;
      runs.push_back(rj);
    }
    pj["runs"] = runs;
    nlohmann::ordered_json sj;
    for (const auto& [name, s] : point_stats(r, p)) {
      sj[name] = {{"mean", round6(s.mean)},
                  {"min", s.min},
                  {"max", s.max},
                  {"ci95_low", round6(s.ci95_low)},
                  {"ci95_high", round6(s.ci95_high)}};
    }
    pj["stats"] = sj;
    for (const auto& [fp, why] : failing) {
      if (fp == p) pj["fails"] = why;
    }
    points.push_back(pj);
  }
  j["points"] = points;
  return j.dump(2) + "\n";
}

std::string sweep_csv(const SweepResult& r) {
  std::string out = "point";
  for (const auto& a : r.axes) {
    out += ',';
    out += csv_field(a.key);
  }
  out += ",seed,digest,limited_by";
  for (const auto& name : measure_names()) {
    out += ',';
    out += name;
  }
  out += "\n";
  for (const SweepRun& run : r.runs) {
    out += std::to_string(run.point + 1);
    for (const auto& v : point_values(r.axes, run.point)) {
      out += ',';  // (not "," + field: GCC 12 -Wrestrict false positive)
      out += csv_field(v);
    }
    out += fmt::format(",{},{},{}", run.seed, run.digest, run.limited_by);
    for (const auto& name : measure_names()) out += fmt::format(",{}", run.measures.at(name));
    out += "\n";
  }
  return out;
}

std::string sweep_svg(const SweepResult& r) {
  const std::size_t points = point_count(r.axes);
  std::vector<double> storm(points);
  for (std::size_t p = 0; p < points; ++p) storm[p] = means(r, p).at("storm_s");
  const double lo = *std::min_element(storm.begin(), storm.end());
  const double hi = *std::max_element(storm.begin(), storm.end());
  std::string body;
  int width = 760, height = 420;
  const std::string title =
      fmt::format("epsim sweep of {}: longest resync storm (s)", r.identity["scenario"]["name"].get<std::string>());
  if (r.axes.size() == 2) {
    // Heatmap: rows are the first axis, columns the second; darker is longer.
    const auto& rows = r.axes[0].values;
    const auto& cols = r.axes[1].values;
    const int cell_w = std::max(48, 600 / static_cast<int>(cols.size()));
    const int cell_h = 28;
    const int left = 140, top = 60;
    width = left + cell_w * static_cast<int>(cols.size()) + 40;
    height = top + cell_h * static_cast<int>(rows.size()) + 60;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      body += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", left - 8,
                          top + cell_h * static_cast<int>(i) + 19, xml_escape(rows[i]));
      for (std::size_t k = 0; k < cols.size(); ++k) {
        const std::size_t p = i * cols.size() + k;
        const double f = hi > lo ? (storm[p] - lo) / (hi - lo) : 0.0;
        const int g = static_cast<int>(std::lround(235 - 175 * f));
        body += fmt::format(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"rgb(240,{},{})\" stroke=\"#fff\"/>"
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.0f}</text>\n",
            left + cell_w * static_cast<int>(k), top + cell_h * static_cast<int>(i), cell_w, cell_h, g, g,
            left + cell_w * static_cast<int>(k) + cell_w / 2, top + cell_h * static_cast<int>(i) + 19, storm[p]);
      }
    }
    for (std::size_t k = 0; k < cols.size(); ++k) {
      body += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                          left + cell_w * static_cast<int>(k) + cell_w / 2, top + cell_h * static_cast<int>(rows.size()) + 20,
                          xml_escape(cols[k]));
    }
    body += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-weight=\"bold\">{}</text>\n", left - 8, top - 8,
                        xml_escape(r.axes[0].key));
    body += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n",
                        left + cell_w * static_cast<int>(cols.size()) / 2, top + cell_h * static_cast<int>(rows.size()) + 42,
                        xml_escape(r.axes[1].key));
  } else {
    // A line over the points (one axis: its values; otherwise the point numbers).
    const int left = 70, top = 50, plot_w = 640, plot_h = 300;
    const double span = hi > 0 ? hi * 1.1 : 1.0;
    std::string path;
    for (std::size_t p = 0; p < points; ++p) {
      const double x = left + (points > 1 ? plot_w * static_cast<double>(p) / static_cast<double>(points - 1) : plot_w / 2.0);
      const double y = top + plot_h - plot_h * storm[p] / span;
      path += fmt::format("{}{:.1f},{:.1f}", p ? " L" : "M", x, y);
      body += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"#c0392b\"/>\n", x, y);
      const std::string label = r.axes.size() == 1 ? r.axes[0].values[p] : std::to_string(p + 1);
      if (points <= 20 || p % ((points + 19) / 20) == 0) {
        body += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x, top + plot_h + 18,
                            xml_escape(label));
      }
    }
    body += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\"/>\n", path);
    body += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#333\"/>"
                        "<line x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\" stroke=\"#333\"/>\n",
                        left, top, top + plot_h, left + plot_w);
    for (int k = 0; k <= 4; ++k) {
      const double v = span * k / 4;
      body += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.0f}</text>\n", left - 6,
                          top + plot_h - plot_h * k / 4.0 + 4, v);
    }
    body += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n",
                        left + plot_w / 2, top + plot_h + 40,
                        xml_escape(r.axes.size() == 1 ? r.axes[0].key : std::string("point")));
  }
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
      "<text x=\"20\" y=\"28\" font-size=\"15\" font-weight=\"bold\">{2}</text>\n{3}</svg>\n",
      width, height, xml_escape(title), body);
}

}  // namespace epsim::app
