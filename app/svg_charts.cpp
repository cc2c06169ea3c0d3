#include "app/svg_charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>
#include <vector>

#include "app/chart_colors.h"

namespace epsim::app {

namespace {

using json = nlohmann::ordered_json;

constexpr double kWidth = 1200;
constexpr double kLeft = 84;    // room for y tick labels
constexpr double kRight = 24;
constexpr double kPlotW = kWidth - kLeft - kRight;
constexpr int kPixels = static_cast<int>(kPlotW);
constexpr double kPanelH = 120;      // the whole-range view
constexpr double kZoomPanelH = 80;   // a storm's zoomed view
constexpr double kPanelGap = 14;     // below a panel, before the next one's title
constexpr double kTitleRowH = 18;    // a panel's title, on its own row
constexpr double kLegendRowH = 15;   // each row of its legend, below the title
constexpr double kLabelRowH = 15;
constexpr double kCharW = 6.2;       // width of a character at font-size 11, for layout
constexpr std::size_t kMaxSeriesPerPanel = 8;
// A zoomed view shows a storm and this much before and after it; at most
// kMaxZooms storms (the longest) get one, so the file stays small.
constexpr double kZoomMargin_s = 180;
constexpr std::size_t kMaxZooms = 8;

struct PanelSpec {
  const char* suffix;  // column names end with this
  const char* title;
  bool per_second;     // a count per interval, drawn as a rate
};

// Series are coloured by their cluster (app/chart_colors.h), the same in
// every panel and in report.html.
constexpr std::array<PanelSpec, 5> kPanels = {{
    {"workqueue_depth", "Endpoints controller workqueue depth (keys queued or in processing)", false},
    {"endpoint_puts", "Endpoints PUTs per second", true},
    {"apiserver_mutating_inflight", "API server mutating requests in flight", false},
    {"requests_504", "504 responses per second", true},
    {"requests_5xx", "5xx responses per second", true},
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

// A storm: a resync or a controller start, in seconds of virtual time.
struct Storm {
  double at_s, end_s;
  std::string label;
  const char* color;
  bool no_puts;  // a resync that PUT nothing: no zoomed view
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

namespace {

struct Inputs {
  const sim::TimeSeriesSampler& sampler;
  std::vector<std::string> clusters;                 // business clusters: their colours
  std::vector<std::pair<double, double>> windows;    // start, end (s)
  std::vector<Storm> storms;                         // in start order
};

// Resyncs and controller starts of every cluster, labelled; a resync that
// PUT nothing is not a storm (1.17.13 and later) and says so.
std::vector<Storm> storms_of(const json& report) {
  std::vector<Storm> storms;
  if (!report.contains("clusters") || !report["clusters"].is_array()) return storms;
  for (const auto& c : report["clusters"]) {
    const std::string cluster = c.value("name", std::string());
    for (const char* kind : {"resyncs", "startups"}) {
      if (!c.contains(kind) || !c[kind].is_array()) continue;
      for (const auto& e : c[kind]) {
        if (!e.contains("at_s") || !e.contains("duration_s")) continue;
        const double at = e["at_s"].get<double>();
        const double dur = e["duration_s"].get<double>();
        const bool resync = std::string_view(kind) == "resyncs";
        const bool no_puts = e.contains("puts") && e["puts"].get<double>() == 0;
        const char* what = !resync ? "controller start" : no_puts ? "resync (no PUTs)" : "resync storm";
        std::string label =
            fmt::format("{} {} at {}: {} min", cluster, what, clock_label(at), human_number(std::round(dur / 6) / 10));
        if (e.contains("puts") && !no_puts) label += fmt::format(", {} PUTs", human_number(e["puts"].get<double>()));
        if (e.value("unfinished", false)) label += " (unfinished at the end)";
        storms.push_back(Storm{at, at + dur, label, resync ? kResyncColor : kStartupColor, resync && no_puts});
      }
    }
  }
  std::stable_sort(storms.begin(), storms.end(), [](const Storm& a, const Storm& b) { return a.at_s < b.at_s; });
  return storms;
}

struct Panel {
  const PanelSpec* spec;
  std::vector<Series> series;
  std::size_t hidden = 0;
  double y_max = 1;
  std::vector<std::vector<std::pair<double, const Series*>>> legend_rows;  // (x, series) per row
};

// The panels over [t0, t1], each series reduced to its maximum per pixel column.
std::vector<Panel> build_panels(const Inputs& in, double t0, double t1) {
  const auto& times = in.sampler.times();
  const double interval_s = in.sampler.interval().seconds_f();
  const auto x_of = [&](double t) { return std::clamp((t - t0) / (t1 - t0), 0.0, 1.0) * kPlotW; };
  const auto first = std::lower_bound(times.begin(), times.end(), t0,
                                      [](const sim::Time& t, double s) { return t.seconds_f() < s; });
  const auto last = std::upper_bound(first, times.end(), t1,
                                     [](double s, const sim::Time& t) { return s < t.seconds_f(); });
  const auto begin_i = static_cast<std::size_t>(first - times.begin());
  const auto end_i = static_cast<std::size_t>(last - times.begin());
  std::vector<Panel> panels;
  for (const PanelSpec& spec : kPanels) {
    Panel panel{&spec, {}, 0, 1, {}};
    for (std::size_t col = 0; col < in.sampler.names().size(); ++col) {
      const std::string& name = in.sampler.names()[col];
      if (!ends_with(name, spec.suffix)) continue;
      if (panel.series.size() == kMaxSeriesPerPanel) {
        ++panel.hidden;
        continue;
      }
      Series s;
      std::string label = name.substr(0, name.size() - std::string_view(spec.suffix).size());
      while (!label.empty() && (label.back() == '/' || label.back() == '_' || label.back() == '.')) label.pop_back();
      s.label = label.empty() ? name : label;
      s.color = column_color(name, in.clusters);
      const std::vector<double> v = in.sampler.column(col);
      const double scale = spec.per_second && interval_s > 0 ? 1.0 / interval_s : 1.0;
      const std::size_t n = std::min(v.size(), end_i);
      if (n <= begin_i + static_cast<std::size_t>(kPixels)) {
        for (std::size_t i = begin_i; i < n; ++i) s.points.emplace_back(x_of(times[i].seconds_f()), v[i] * scale);
      } else {
        std::vector<double> column_max(static_cast<std::size_t>(kPixels), -HUGE_VAL);
        for (std::size_t i = begin_i; i < n; ++i) {
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
  // Legends go on rows of their own under the title (never over it),
  // left-aligned, wrapping at the plot's width.
  for (Panel& panel : panels) {
    double x = 0;
    panel.legend_rows.emplace_back();
    for (const Series& s : panel.series) {
      const double w = 14 + kCharW * static_cast<double>(fmt::format("{} (peak {})", s.label, human_number(s.peak)).size()) + 18;
      if (x > 0 && x + w > kPlotW) {
        panel.legend_rows.emplace_back();
        x = 0;
      }
      panel.legend_rows.back().emplace_back(x, &s);
      x += w;
    }
  }
  return panels;
}

double header_height(const Panel& p) { return kTitleRowH + kLegendRowH * static_cast<double>(p.legend_rows.size()); }

// One view: storm labels, then the panels over [t0, t1], from `top`; returns
// the y below its x axis caption.
double draw_view(Svg& svg, const Inputs& in, double t0, double t1, double top, double panel_h,
                 const std::string& heading) {
  const auto x_of = [&](double t) { return std::clamp((t - t0) / (t1 - t0), 0.0, 1.0) * kPlotW; };
  const std::vector<Panel> panels = build_panels(in, t0, t1);

  // 504 windows, merged where they touch on screen.
  std::vector<std::pair<double, double>> windows;
  for (const auto& [a_s, b_s] : in.windows) {
    if (b_s < t0 || a_s > t1) continue;
    const double a = x_of(a_s);
    windows.emplace_back(a, std::max(x_of(b_s), a + 2));  // visible however short
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
  for (const Storm& s : in.storms) {
    if (s.end_s < t0 || s.at_s > t1) continue;
    const double a = x_of(s.at_s);
    bands.push_back(Band{a, std::max(x_of(s.end_s), a + 2), s.label, s.color});
  }
  struct Placed {
    double text_x;
    const char* anchor;
    int row;
  };
  std::vector<Placed> placed;
  std::vector<double> row_end;  // rightmost px used per label row
  for (const Band& b : bands) {
    const double w = kCharW * static_cast<double>(b.label.size()) + 8;
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

  svg.add(R"svg(<g transform="translate({:.0f},0)">)svg", kLeft);
  if (!heading.empty()) {
    svg.add(R"(<text x="0" y="{:.1f}" font-size="14" font-weight="bold" fill="#222">{}</text>)", top,
            xml_escape(heading));
    top += 8;
  }
  const double label_top = top;
  std::vector<double> panel_tops;
  double y = label_top + kLabelRowH * static_cast<double>(row_end.size()) + 10;
  for (const Panel& p : panels) {
    y += header_height(p);
    panel_tops.push_back(y);
    y += panel_h + kPanelGap;
  }
  // Storm labels, with a dashed leader down to the first panel.
  for (std::size_t i = 0; i < bands.size(); ++i) {
    const double ly = label_top + kLabelRowH * (placed[i].row + 1) - 4;
    const double mid = (bands[i].x0 + bands[i].x1) / 2;
    svg.add(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="{}" fill="{}" font-weight="bold">{}</text>)", placed[i].text_x,
            ly, placed[i].anchor, bands[i].color, xml_escape(bands[i].label));
    if (!panels.empty()) {
      svg.add(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" stroke-dasharray="3,2"/>)", mid,
              ly + 3, mid, panel_tops[0], bands[i].color);
    }
  }

  const double step = time_step(t1 - t0);
  for (std::size_t pi = 0; pi < panels.size(); ++pi) {
    const Panel& panel = panels[pi];
    const double ptop = panel_tops[pi];
    const double bottom = ptop + panel_h;
    const auto y_of = [&](double v) {
      return bottom - std::clamp(std::isfinite(v) ? v : 0.0, 0.0, panel.y_max) / panel.y_max * panel_h;
    };
    if (heading.empty()) {
      svg.add(R"(<g class="panel" id="panel-{}">)", panel.spec->suffix);
    } else {
      svg.add(R"(<g class="panel zoom-{}">)", panel.spec->suffix);
    }
    const double title_y = ptop - header_height(panel) + 12;
    svg.add(R"(<text x="0" y="{:.1f}" font-size="13" font-weight="bold" fill="#222">{}</text>)", title_y,
            xml_escape(panel.spec->title));
    // Legend rows under the title: one entry per series with its peak.
    for (std::size_t row = 0; row < panel.legend_rows.size(); ++row) {
      const double ly = title_y + kLegendRowH * static_cast<double>(row + 1);
      double end_x = 0;
      for (const auto& [x, s] : panel.legend_rows[row]) {
        const std::string text = fmt::format("{} (peak {})", s->label, human_number(s->peak));
        svg.add(R"(<rect x="{:.1f}" y="{:.1f}" width="10" height="10" fill="{}"/>)", x, ly - 9, s->color);
        svg.add(R"(<text x="{:.1f}" y="{:.1f}" fill="#333">{}</text>)", x + 14, ly, xml_escape(text));
        end_x = x + 14 + kCharW * static_cast<double>(text.size()) + 18;
      }
      if (panel.hidden > 0 && row + 1 == panel.legend_rows.size()) {
        svg.add(R"(<text x="{:.1f}" y="{:.1f}" fill="#777">+{} more not drawn</text>)", end_x, ly, panel.hidden);
      }
    }
    svg.add(R"(<rect x="0" y="{:.1f}" width="{:.0f}" height="{:.0f}" fill="#fcfcfc" stroke="none"/>)", ptop, kPlotW,
            panel_h);
    // Shading first, so the data draws on top.
    for (const auto& [a, b] : merged) {
      svg.add(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.0f}" fill="{}" fill-opacity="0.28"/>)", a, ptop,
              b - a, panel_h, kWindowColor);
    }
    for (const Band& b : bands) {
      svg.add(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.0f}" fill="{}" fill-opacity="0.22"/>)", b.x0,
              ptop, b.x1 - b.x0, panel_h, b.color);
    }
    // Grid and y ticks.
    const double ystep = nice_step(panel.y_max, panel_h < kPanelH ? 3 : 4);
    for (double v = 0; v <= panel.y_max * (1 + 1e-9); v += ystep) {
      const double gy = y_of(v);
      svg.add(R"(<line x1="0" y1="{:.1f}" x2="{:.0f}" y2="{:.1f}" stroke="#e3e3e3"/>)", gy, kPlotW, gy);
      svg.add(R"(<text x="-6" y="{:.1f}" text-anchor="end" fill="#444">{}</text>)", gy + 4,
              tick_number(v, panel.y_max));
    }
    for (double t = std::ceil(t0 / step) * step; t <= t1 + 1e-9; t += step) {
      const double x = x_of(t);
      svg.add(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#eeeeee"/>)", x, ptop, x, bottom);
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
    svg.add(R"(<rect x="0" y="{:.1f}" width="{:.0f}" height="{:.0f}" fill="none" stroke="#999"/>)", ptop, kPlotW,
            panel_h);
    svg.add("</g>");
  }
  double end_y = y;
  if (!panels.empty()) {
    end_y = panel_tops.back() + panel_h + 36;
    svg.add(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" fill="#444">virtual time since the scenario start)"
            R"( (hours and minutes)</text>)",
            kPlotW / 2, end_y);
  }
  svg.add("</g>");
  return end_y;
}

}  // namespace

std::string svg_charts(const sim::TimeSeriesSampler& sampler, const json& report, const ChartRange& range) {
  const auto& times = sampler.times();
  double t0 = 0;
  double t1 = report.value("virtual_duration_s", 0.0);
  if (!times.empty()) {
    t0 = std::min(t0, times.front().seconds_f());
    t1 = std::max(t1, times.back().seconds_f());
  }
  if (!range.whole()) {
    t0 = range.from_s;
    if (range.to_s > range.from_s) t1 = range.to_s;
  }
  if (!(t1 > t0)) t1 = t0 + 1;

  Inputs in{sampler, {}, {}, {}};
  if (report.contains("clusters") && report["clusters"].is_array()) {
    for (const auto& c : report["clusters"]) {
      if (c.value("role", std::string("business")) == "business") in.clusters.push_back(c.value("name", std::string()));
    }
  }
  if (report.contains("windows") && report["windows"].is_array()) {
    for (const auto& w : report["windows"]) {
      if (w.contains("start_s") && w.contains("end_s")) {
        in.windows.emplace_back(w["start_s"].get<double>(), w["end_s"].get<double>());
      }
    }
  }
  in.storms = storms_of(report);

  const std::string scenario =
      report.contains("scenario") ? report["scenario"].value("name", std::string("scenario")) : "scenario";
  const std::string seed = report.contains("seed") ? report["seed"].dump() : "?";
  std::size_t samples = 0, windows_shown = 0;
  for (const auto& t : times) samples += t.seconds_f() >= t0 && t.seconds_f() <= t1 ? 1 : 0;
  for (const auto& [a, b] : in.windows) windows_shown += b >= t0 && a <= t1 ? 1 : 0;

  Svg body;
  body.add(R"(<text x="{:.0f}" y="26" font-size="17" font-weight="bold" fill="#222">epsim · {} · seed {}</text>)",
           kLeft, xml_escape(scenario), xml_escape(seed));
  const std::string span = range.whole() ? clock_label(t1 - t0) + " of virtual time"
                                         : "virtual time " + clock_label(t0) + " to " + clock_label(t1);
  body.add(R"(<text x="{:.0f}" y="44" fill="#555">{} · {} samples per series, drawn as the maximum )"
           R"(per pixel column · <tspan fill="{}">■</tspan> 504 windows ({}) · <tspan fill="{}">■</tspan> resync )"
           R"(storms · <tspan fill="{}">■</tspan> controller starts</text>)",
           kLeft, span, human_number(static_cast<double>(samples)), kWindowColor, windows_shown, kResyncColor,
           kStartupColor);
  double y = draw_view(body, in, t0, t1, 62, kPanelH, "");

  // A zoomed view of each storm (the longest kMaxZooms), in time order; a
  // resync that PUT nothing is no storm and has nothing to zoom into.
  std::vector<const Storm*> zooms;
  for (const Storm& s : in.storms) {
    if (s.end_s >= t0 && s.at_s <= t1 && !s.no_puts) zooms.push_back(&s);
  }
  std::stable_sort(zooms.begin(), zooms.end(),
                   [](const Storm* a, const Storm* b) { return a->end_s - a->at_s > b->end_s - b->at_s; });
  const std::size_t left_out = zooms.size() > kMaxZooms ? zooms.size() - kMaxZooms : 0;
  zooms.resize(zooms.size() - left_out);
  std::stable_sort(zooms.begin(), zooms.end(), [](const Storm* a, const Storm* b) { return a->at_s < b->at_s; });
  for (const Storm* s : zooms) {
    const double a = std::max(t0, s->at_s - kZoomMargin_s), b = std::min(t1, s->end_s + kZoomMargin_s);
    y = draw_view(body, in, a, b > a ? b : a + 1, y + 36, kZoomPanelH,
                  fmt::format("Zoom: {} ({} to {})", s->label, clock_label(a), clock_label(b)));
  }
  if (left_out > 0) {
    body.add(R"(<text x="{:.0f}" y="{:.1f}" fill="#777">{} shorter storms have no zoomed view</text>)", kLeft,
             y + 24, left_out);
    y += 24;
  }
  const double height = y + 16;

  Svg svg;
  svg.add(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{:.0f}" height="{:.0f}" viewBox="0 0 {:.0f} {:.0f}" )"
          R"(font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">)",
          kWidth, height, kWidth, height);
  svg.add(R"(<title>epsim {} seed {}</title>)", xml_escape(scenario), xml_escape(seed));
  svg.add(R"(<rect x="0" y="0" width="{:.0f}" height="{:.0f}" fill="#ffffff"/>)", kWidth, height);
  svg.text() += body.text();
  svg.add("</svg>");
  return std::move(svg.text());
}

}  // namespace epsim::app
