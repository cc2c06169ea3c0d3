#include "app/trace_events.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>
#include <vector>

namespace epsim::app {

namespace {

using json = nlohmann::ordered_json;

constexpr int kPid = 1;

struct Slice {
  std::int64_t start_ns;
  std::int64_t end_ns;
  std::string name;
  json args;  // null when none
};

struct Track {
  std::string name;
  std::vector<Slice> slices;
};

// Microseconds as a JSON number: an integer when whole, else exact to the ns.
json microseconds(std::int64_t ns) {
  if (ns % 1000 == 0) return ns / 1000;
  return static_cast<double>(ns) / 1000.0;
}

std::int64_t seconds_to_ns(double s) { return static_cast<std::int64_t>(std::llround(s * 1e9)); }

// Greedy lanes in start order: a slice joins the first lane whose last slice
// ended by its start, so slices in a lane never overlap.
std::vector<std::vector<const Slice*>> lanes_of(std::vector<Slice>& slices) {
  std::stable_sort(slices.begin(), slices.end(), [](const Slice& a, const Slice& b) {
    return std::tie(a.start_ns, a.end_ns) < std::tie(b.start_ns, b.end_ns);
  });
  std::vector<std::vector<const Slice*>> lanes;
  std::vector<std::int64_t> lane_end;
  for (const Slice& s : slices) {
    std::size_t lane = 0;
    while (lane < lanes.size() && lane_end[lane] > s.start_ns) ++lane;
    if (lane == lanes.size()) {
      lanes.emplace_back();
      lane_end.push_back(s.end_ns);
    }
    lanes[lane].push_back(&s);
    lane_end[lane] = std::max(lane_end[lane], s.end_ns);
  }
  if (lanes.empty()) lanes.emplace_back();  // an empty track still shows its name
  return lanes;
}

}  // namespace

std::string trace_events_json(const sim::SpanRecorder& spans, const nlohmann::ordered_json& report) {
  // Tracks in the recorder's order (first use), then the windows.
  std::vector<Track> tracks;
  for (const auto& name : spans.track_names()) tracks.push_back(Track{name, {}});
  for (const auto& s : spans.spans()) {
    tracks[s.track].slices.push_back(Slice{s.start.ns(), s.end.ns(), spans.span_names()[s.name], json()});
  }
  Track windows{"504 windows", {}};
  if (report.contains("windows") && report["windows"].is_array()) {
    for (const auto& w : report["windows"]) {
      if (!w.contains("start_s") || !w.contains("end_s")) continue;
      const std::int64_t start = seconds_to_ns(w["start_s"].get<double>());
      const std::int64_t end = std::max(start, seconds_to_ns(w["end_s"].get<double>()));
      const std::string service = w.contains("service") ? w["service"].get<std::string>() : "504 window";
      windows.slices.push_back(Slice{start, end, service, w});
    }
  }
  tracks.push_back(std::move(windows));

  std::string process = "epsim";
  if (report.contains("scenario") && report["scenario"].contains("name")) {
    process += " " + report["scenario"]["name"].get<std::string>();
  }
  if (report.contains("seed")) process += " seed " + report["seed"].dump();

  json events = json::array();
  events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", kPid}, {"tid", 0}, {"args", {{"name", process}}}});
  int tid = 0;
  for (Track& track : tracks) {
    const auto lanes = lanes_of(track.slices);
    for (std::size_t lane = 0; lane < lanes.size(); ++lane) {
      ++tid;
      const std::string name = lane == 0 ? track.name : track.name + " #" + std::to_string(lane + 1);
      events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", kPid}, {"tid", tid}, {"args", {{"name", name}}}});
      events.push_back(
          {{"name", "thread_sort_index"}, {"ph", "M"}, {"pid", kPid}, {"tid", tid}, {"args", {{"sort_index", tid}}}});
      for (const Slice* s : lanes[lane]) {
        json e = {{"name", s->name},          {"cat", track.name}, {"ph", "X"},
                  {"ts", microseconds(s->start_ns)}, {"dur", microseconds(s->end_ns - s->start_ns)},
                  {"pid", kPid},              {"tid", tid}};
        if (!s->args.is_null()) e["args"] = s->args;
        events.push_back(std::move(e));
      }
    }
  }
  // One event per line: valid JSON that still diffs well.
  std::string out = "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"clock\":\"virtual time since the scenario start\"},"
                    "\"traceEvents\":[\n";
  for (std::size_t i = 0; i < events.size(); ++i) {
    out += events[i].dump(-1, ' ', false, json::error_handler_t::replace);
    out += i + 1 < events.size() ? ",\n" : "\n";
  }
  return out + "]}\n";
}

}  // namespace epsim::app
