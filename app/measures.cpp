#include "app/measures.h"

namespace epsim::app {

const std::vector<MeasureInfo>& measure_table() {
  static const std::vector<MeasureInfo> table{
      {"storm_s", "duration of the longest resync storm (s)"},
      {"storm_puts", "Endpoints writes of that storm"},
      {"storm_limited_apiserver", "share of that storm limited by the API server"},
      {"storm_limited_client_bucket", "share limited by the client token bucket"},
      {"storm_limited_endpoints_workers", "share limited by the endpoints workers"},
      {"storm_limited_other", "share limited by nothing of these"},
      {"resyncs", "periodic resyncs in the run, every cluster"},
      {"windows", "failure windows"},
      {"max_window_s", "longest failure window (s)"},
      {"requests_total", "requests through ingress-nginx"},
      {"requests_504", "requests answered 504"},
      {"requests_502", "requests answered 502"},
      {"requests_503", "requests answered 503"},
      {"propagation_p50_s", "median pod-change propagation to every nginx worker (s)"},
      {"propagation_p99_s", "99th percentile of that propagation (s)"},
  };
  return table;
}

std::vector<std::string> measure_names() {
  std::vector<std::string> names;
  for (const auto& m : measure_table()) names.emplace_back(m.name);
  return names;
}

namespace {

// The longest resync of any cluster, in report order (ties: the first).
const nlohmann::ordered_json* longest_storm(const nlohmann::ordered_json& report) {
  const nlohmann::ordered_json* best = nullptr;
  for (const auto& c : report["clusters"]) {
    for (const auto& e : c["resyncs"]) {
      if (e["puts"].get<std::uint64_t>() == 0) continue;
      if (best == nullptr || e["duration_s"].get<double>() > (*best)["duration_s"].get<double>()) best = &e;
    }
  }
  return best;
}

}  // namespace

std::map<std::string, double> measures_of(const nlohmann::ordered_json& report) {
  std::map<std::string, double> m;
  const nlohmann::ordered_json* storm = longest_storm(report);
  m["storm_s"] = storm ? (*storm)["duration_s"].get<double>() : 0.0;
  m["storm_puts"] = storm ? static_cast<double>((*storm)["puts"].get<std::uint64_t>()) : 0.0;
  for (const char* stage : {"apiserver", "client_bucket", "endpoints_workers", "other"}) {
    m[std::string("storm_limited_") + stage] = storm ? (*storm)["limited_by"][stage].get<double>() : 0.0;
  }
  const auto& s = report["summary"];
  m["resyncs"] = static_cast<double>(s["resyncs"].get<std::uint64_t>());
  m["windows"] = static_cast<double>(s["windows"].get<std::uint64_t>());
  m["max_window_s"] = s["max_window_s"].get<double>();
  for (const char* key : {"requests_total", "requests_504", "requests_502", "requests_503"}) {
    m[key] = static_cast<double>(s[key].get<std::int64_t>());
  }
  m["propagation_p50_s"] = s["propagation_p50_s"].get<double>();
  m["propagation_p99_s"] = s["propagation_p99_s"].get<double>();
  return m;
}

std::string storm_limited_by(const nlohmann::ordered_json& report) {
  const nlohmann::ordered_json* storm = longest_storm(report);
  return storm ? (*storm)["limited_by"]["stage"].get<std::string>() : std::string();
}

}  // namespace epsim::app
