#include "app/svg_charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>
#include <vector>

namespace epsim::app {

namespace {

using json = nlohmann::ordered_json;

constexpr double kWidth = 1200;
constexpr double kLeft = 84;    // room for y tick labels
constexpr double kRight = 24;
constexpr double kPlotW = kWidth - kLeft - kRight;
constexpr int kPixels = static_cast<int>(kPlotW);
constexpr double kPanelH = 120;
constexpr double kPanelGap = 40;  // panel title and legend above each plot
constexpr double kLabelRowH = 15;
constexpr std::size_t kMaxSeriesPerPanel = 8;
// Further series of a panel; none repeats a panel's first colour or a band's.
constexpr std::array<const char*, 6> kPalette = {"#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f", "#393b79"};
constexpr const char* kWindowColor = "#d62728";
constexpr const char* kResyncColor = "#ff7f0e";
constexpr const char* kStartupColor = "#6a3d9a";

struct PanelSpec {
  const char* suffix;  // column names end with this
  const char* title;
  bool per_second;     // a count per interval, drawn as a rate
  const char* color;   // the first series' colour (null: the palette)
};

constexpr std::array<PanelSpec, 5> kPanels = {{
    {"workqueue_depth", "Endpoints controller workqueue depth (keys queued or in processing)", false, "#1f77b4"},
    {"endpoint_puts", "Endpoints PUTs per second", true, "#2ca02c"},
    {"apiserver_mutating_inflight", "API server mutating requests in flight", false, "#9467bd"},
    {"requests_504", "504 responses per second", true, kWindowColor},
    {"requests_5xx", "5xx responses per second", true, "#e6550d"},
}};


bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// 12989 → "12,989"; 0.25 → "0.25"; 1.5e6 → "1.5M".
std::string human_number(double v) {
  const double a = std::abs(v);
  if (a >= 1e6) return fmt::format("{:g}M", std::round(v / 1e5) / 10);
  if (std::abs(v - std::round(v)) < 1e-9) {
    std::string digits = fmt::format("{}", static_cast<long long>(std::llround(a)));
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
      if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
      out += digits[i];
    }
    return (v < 0 ? "-" : "") + out;
  }
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.1f}", v);
  return fmt::format("{:.2g}", v);
}

// Tick label, in one unit per axis: up to 12000 → "5k", "10k", "15k".
std::string tick_number(double v, double axis_max) {
  if (v == 0) return "0";
  if (axis_max >= 1e6) return fmt::format("{:g}M", v / 1e6);
  if (axis_max >= 1e4) return fmt::format("{:g}k", v / 1e3);
  return fmt::format("{:g}", v);
}

// 59100 → "16h25m", 3600 → "1h", 90 → "1m30s".
std::string clock_label(double seconds) {
  const long long total = std::llround(seconds);
  const long long h = total / 3600, m = total % 3600 / 60, s = total % 60;
  std::string out;
  if (h > 0) out += fmt::format("{}h", h);
  if (m > 0 || (h > 0 && s > 0)) out += h > 0 ? fmt::format("{:02}m", m) : fmt::format("{}m", m);
  if (s > 0) out += (h > 0 || m > 0) ? fmt::format("{:02}s", s) : fmt::format("{}s", s);
  return out.empty() ? "0" : out;
}

// A step of 1, 2, 2.5 or 5 × 10^k giving at most `ticks` intervals up to max.
double nice_step(double max, int ticks) {
  const double raw = max / ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * mag >= raw) return m * mag;
  }
  return 10 * mag;
}

double time_step(double span_s) {
  static constexpr std::array<double, 20> steps = {1,    2,    5,    10,    15,    30,    60,    120,   300,   600,
                                                   900,  1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400, 172800};
  for (const double s : steps) {
    if (span_s / s <= 12) return s;
  }
  return std::ceil(span_s / 12 / 86400) * 86400;
}

struct Series {
  std::string label;
  const char* color;
  std::vector<std::pair<double, double>> points;  // (x px within the plot, value)
  double peak = 0;
};

struct Band {
  double x0, x1;  // px within the plot
  std::string label;
  const char* color;
};

class Svg {
 public:
  template <typename... Args>
  void add(fmt::format_string<Args...> f, Args&&... args) {
    fmt::format_to(std::back_inserter(out_), f, std::forward<Args>(args)...);
    out_ += '\n';
  }
  std::string& text() { return out_; }

 private:
  std::string out_;
};

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string svg_charts(const sim::TimeSeriesSampler& sampler, const json& report) {
  const auto& times = sampler.times();
  const double interval_s = sampler.interval().seconds_f();
  double t0 = 0;
  double t1 = report.value("virtual_duration_s", 0.0);
  if (!times.empty()) {
    t0 = std::min(t0, times.front().seconds_f());
    t1 = std::max(t1, times.back().seconds_f());
  }
  if (!(t1 > t0)) t1 = t0 + 1;
  const auto x_of = [&](double t) { return std::clamp((t - t0) / (t1 - t0), 0.0, 1.0) * kPlotW; };

  // Series per panel, reduced to the max per pixel column.
  struct Panel {
    const PanelSpec* spec;
    std::vector<Series> series;
    std::size_t hidden = 0;
    double y_max = 1;
  };
  std::vector<Panel> panels;
  for (const PanelSpec& spec : kPanels) {
    Panel panel{&spec, {}, 0, 1};
    for (std::size_t col = 0; col < sampler.names().size(); ++col) {
      const std::string& name = sampler.names()[col];
      if (!ends_with(name, spec.suffix)) continue;
      if (panel.series.size() == kMaxSeriesPerPanel) {
        ++panel.hidden;
        continue;
      }
      Series s;
      std::string label = name.substr(0, name.size() - std::string_view(spec.suffix).size());
      while (!label.empty() && (label.back() == '/' || label.back() == '_' || label.back() == '.')) label.pop_back();
      s.label = label.empty() ? name : label;
      s.color = (panel.series.empty() && spec.color != nullptr) ? spec.color
                                                                 : kPalette[(panel.series.size() - (spec.color != nullptr ? 1 : 0)) % kPalette.size()];
      const auto& v = sampler.values()[col];
      const double scale = spec.per_second && interval_s > 0 ? 1.0 / interval_s : 1.0;
      const std::size_t n = std::min(v.size(), times.size());
      if (n <= static_cast<std::size_t>(kPixels)) {
        for (std::size_t i = 0; i < n; ++i) s.points.emplace_back(x_of(times[i].seconds_f()), v[i] * scale);
      } else {
        std::vector<double> column_max(static_cast<std::size_t>(kPixels), -HUGE_VAL);
        for (std::size_t i = 0; i < n; ++i) {
          const int px = std::min(kPixels - 1, static_cast<int>(x_of(times[i].seconds_f())));
          column_max[static_cast<std::size_t>(px)] = std::max(column_max[static_cast<std::size_t>(px)], v[i] * scale);
        }
        for (int px = 0; px < kPixels; ++px) {
          const double m = column_max[static_cast<std::size_t>(px)];
          if (m != -HUGE_VAL) s.points.emplace_back(px + 0.5, m);
        }
      }
      for (const auto& p : s.points) {
        if (std::isfinite(p.second)) s.peak = std::max(s.peak, p.second);
      }
      panel.series.push_back(std::move(s));
    }
    const bool optional = std::string_view(spec.suffix).starts_with("requests_");
    if (panel.series.empty() && optional) continue;
    // Every 5xx a 504 (the default, blackholed dead IPs): the 504 panel says it all.
    if (optional && !panels.empty() && panels.back().series.size() == panel.series.size() &&
        std::equal(panel.series.begin(), panel.series.end(), panels.back().series.begin(),
                   [](const Series& a, const Series& b) { return a.points == b.points; })) {
      continue;
    }
    double peak = 0;
    for (const auto& s : panel.series) peak = std::max(peak, s.peak);
    panel.y_max = peak > 0 ? std::ceil(peak / nice_step(peak, 4) - 1e-9) * nice_step(peak, 4) : 1;
    panels.push_back(std::move(panel));
  }

  // 504 windows, merged where they touch on screen.
  std::vector<std::pair<double, double>> windows;
  std::size_t window_count = 0;
  if (report.contains("windows") && report["windows"].is_array()) {
    for (const auto& w : report["windows"]) {
      if (!w.contains("start_s") || !w.contains("end_s")) continue;
      ++window_count;
      const double a = x_of(w["start_s"].get<double>());
      const double b = std::max(x_of(w["end_s"].get<double>()), a + 2);  // visible however short
      windows.emplace_back(a, b);
    }
  }
  std::sort(windows.begin(), windows.end());
  std::vector<std::pair<double, double>> merged;
  for (const auto& w : windows) {
    if (!merged.empty() && w.first <= merged.back().second + 0.5) {
      merged.back().second = std::max(merged.back().second, w.second);
    } else {
      merged.push_back(w);
    }
  }

  // Storm bands with their labels, laid out in rows so labels never overlap.
  std::vector<Band> bands;
  if (report.contains("clusters") && report["clusters"].is_array()) {
    for (const auto& c : report["clusters"]) {
      const std::string cluster = c.value("name", std::string());
      for (const char* kind : {"resyncs", "startups"}) {
        if (!c.contains(kind) || !c[kind].is_array()) continue;
        for (const auto& e : c[kind]) {
          if (!e.contains("at_s") || !e.contains("duration_s")) continue;
          const double at = e["at_s"].get<double>();
          const double dur = e["duration_s"].get<double>();
          const bool resync = std::string_view(kind) == "resyncs";
          std::string label = fmt::format("{} {} at {}: {} min", cluster, resync ? "resync storm" : "controller start",
                                          clock_label(at), human_number(std::round(dur / 6) / 10));
          if (e.contains("puts")) label += fmt::format(", {} PUTs", human_number(e["puts"].get<double>()));
          if (e.value("unfinished", false)) label += " (unfinished at the end)";
          const double a = x_of(at);
          bands.push_back(Band{a, std::max(x_of(at + dur), a + 2), label, resync ? kResyncColor : kStartupColor});
        }
      }
    }
  }
  std::sort(bands.begin(), bands.end(), [](const Band& a, const Band& b) { return a.x0 < b.x0; });
  struct Placed {
    double text_x;
    const char* anchor;
    int row;
  };
  std::vector<Placed> placed;
  std::vector<double> row_end;  // rightmost px used per label row
  for (const Band& b : bands) {
    const double w = 6.2 * static_cast<double>(b.label.size()) + 8;
    const double mid = (b.x0 + b.x1) / 2;
    double left = mid - 4;  // text starts just left of the band centre
    const char* anchor = "start";
    double text_x = left;
    if (left + w > kPlotW) {  // would spill off the right edge: end at the band
      left = mid + 4 - w;
      anchor = "end";
      text_x = mid + 4;
    }
    left = std::max(left, -kLeft + 4);
    int row = 0;
    while (row < static_cast<int>(row_end.size()) && row_end[static_cast<std::size_t>(row)] > left) ++row;
    if (row == static_cast<int>(row_end.size())) row_end.push_back(0);
    row_end[static_cast<std::size_t>(row)] = left + w;
    placed.push_back(Placed{text_x, anchor, row});
  }

  const std::string scenario =
      report.contains("scenario") ? report["scenario"].value("name", std::string("scenario")) : "scenario";
  const std::string seed = report.contains("seed") ? report["seed"].dump() : "?";
  const double label_top = 62;
  const double first_panel = label_top + kLabelRowH * static_cast<double>(std::max<std::size_t>(row_end.size(), 1)) +
                             kPanelGap - 8;
  const double height =
      first_panel + static_cast<double>(panels.size()) * (kPanelH + kPanelGap) - kPanelGap + 48;
  const auto panel_top = [&](std::size_t i) { return first_panel + static_cast<double>(i) * (kPanelH + kPanelGap); };

  Svg svg;
  svg.add(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{:.0f}" height="{:.0f}" viewBox="0 0 {:.0f} {:.0f}" )"
          R"(font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">)",
          kWidth, height, kWidth, height);
  svg.add(R"(<title>epsim {} seed {}</title>)", xml_escape(scenario), xml_escape(seed));
  svg.add(R"(<rect x="0" y="0" width="{:.0f}" height="{:.0f}" fill="#ffffff"/>)", kWidth, height);
  svg.add(R"(<text x="{:.0f}" y="26" font-size="17" font-weight="bold" fill="#222">epsim · {} · seed {}</text>)", kLeft,
          xml_escape(scenario), xml_escape(seed));
  const std::size_t samples = times.size();
  svg.add(R"(<text x="{:.0f}" y="44" fill="#555">{} of virtual time · {} samples per series, drawn as the maximum )"
          R"(per pixel column · <tspan fill="{}">■</tspan> 504 windows ({}) · <tspan fill="{}">■</tspan> resync )"
          R"(storms · <tspan fill="{}">■</tspan> controller starts</text>)",
          kLeft, clock_label(t1 - t0), human_number(static_cast<double>(samples)), kWindowColor, window_count,
          kResyncColor, kStartupColor);

  svg.add(R"svg(<g transform="translate({:.0f},0)">)svg", kLeft);
  // Storm labels, with a dashed leader down to the first panel.
  for (std::size_t i = 0; i < bands.size(); ++i) {
    const double y = label_top + kLabelRowH * (placed[i].row + 1) - 4;
    const double mid = (bands[i].x0 + bands[i].x1) / 2;
    svg.add(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="{}" fill="{}" font-weight="bold">{}</text>)", placed[i].text_x,
            y, placed[i].anchor, bands[i].color, xml_escape(bands[i].label));
    if (!panels.empty()) {
      svg.add(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" stroke-dasharray="3,2"/>)", mid,
              y + 3, mid, panel_top(0), bands[i].color);
    }
  }

  const double step = time_step(t1 - t0);
  for (std::size_t pi = 0; pi < panels.size(); ++pi) {
    const Panel& panel = panels[pi];
    const double top = panel_top(pi);
    const double bottom = top + kPanelH;
    const auto y_of = [&](double v) {
      return bottom - std::clamp(std::isfinite(v) ? v : 0.0, 0.0, panel.y_max) / panel.y_max * kPanelH;
    };
    svg.add(R"(<g class="panel" id="panel-{}">)", panel.spec->suffix);
    svg.add(R"(<text x="0" y="{:.1f}" font-size="13" font-weight="bold" fill="#222">{}</text>)", top - 8,
            xml_escape(panel.spec->title));
    // Legend, right-aligned: one entry per series with its peak.
    double lx = kPlotW;
    for (std::size_t si = panel.series.size(); si-- > 0;) {
      const Series& s = panel.series[si];
      const std::string text = fmt::format("{} (peak {})", s.label, human_number(s.peak));
      svg.add(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="end" fill="#333">{}</text>)", lx, top - 8, xml_escape(text));
      lx -= 6.2 * static_cast<double>(text.size()) + 4;
      svg.add(R"(<rect x="{:.1f}" y="{:.1f}" width="10" height="10" fill="{}"/>)", lx - 10, top - 17, s.color);
      lx -= 22;
    }
    if (panel.hidden > 0) {
      svg.add(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="end" fill="#777">+{} more not drawn</text>)", lx, top - 8,
              panel.hidden);
    }
    svg.add(R"(<rect x="0" y="{:.1f}" width="{:.0f}" height="{:.0f}" fill="#fcfcfc" stroke="none"/>)", top, kPlotW,
            kPanelH);
    // Shading first, so the data draws on top.
    for (const auto& [a, b] : merged) {
      svg.add(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.0f}" fill="{}" fill-opacity="0.28"/>)", a, top,
              b - a, kPanelH, kWindowColor);
    }
    for (const Band& b : bands) {
      svg.add(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.0f}" fill="{}" fill-opacity="0.22"/>)", b.x0,
              top, b.x1 - b.x0, kPanelH, b.color);
    }
    // Grid and y ticks.
    const double ystep = nice_step(panel.y_max, 4);
    for (double v = 0; v <= panel.y_max * (1 + 1e-9); v += ystep) {
      const double y = y_of(v);
      svg.add(R"(<line x1="0" y1="{:.1f}" x2="{:.0f}" y2="{:.1f}" stroke="#e3e3e3"/>)", y, kPlotW, y);
      svg.add(R"(<text x="-6" y="{:.1f}" text-anchor="end" fill="#444">{}</text>)", y + 4, tick_number(v, panel.y_max));
    }
    for (double t = std::ceil(t0 / step) * step; t <= t1 + 1e-9; t += step) {
      const double x = x_of(t);
      svg.add(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#eeeeee"/>)", x, top, x, bottom);
      svg.add(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#666"/>)", x, bottom, x, bottom + 4);
      if (pi + 1 == panels.size()) {
        svg.add(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" fill="#444">{}</text>)", x, bottom + 16,
                clock_label(t));
      }
    }
    // Data: a light area under a line, per series.
    for (const Series& s : panel.series) {
      if (s.points.empty()) continue;
      std::string line;
      for (const auto& [x, v] : s.points) {
        fmt::format_to(std::back_inserter(line), "{}{:.1f},{:.1f}", line.empty() ? "M" : " L", x, y_of(v));
      }
      svg.add(R"(<path d="M{:.1f},{:.1f} {} L{:.1f},{:.1f} Z" fill="{}" fill-opacity="0.15" stroke="none"/>)",
              s.points.front().first, bottom, std::string_view(line).substr(1), s.points.back().first, bottom, s.color);
      svg.add(R"(<path d="{}" fill="none" stroke="{}" stroke-width="1.2" stroke-linejoin="round"/>)", line, s.color);
    }
    svg.add(R"(<rect x="0" y="{:.1f}" width="{:.0f}" height="{:.0f}" fill="none" stroke="#999"/>)", top, kPlotW,
            kPanelH);
    svg.add("</g>");
  }
  if (!panels.empty()) {
    svg.add(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" fill="#444">virtual time since the scenario start)"
            R"( (hours and minutes)</text>)",
            kPlotW / 2, panel_top(panels.size() - 1) + kPanelH + 36);
  }
  svg.add("</g>");
  svg.add("</svg>");
  return std::move(svg.text());
}

}  // namespace epsim::app
