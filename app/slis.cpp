#include "app/slis.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "app/causality.h"

namespace epsim::app {

namespace {

double r3(double x) { return std::round(x * 1000.0) / 1000.0; }

const sim::Duration kDay = sim::Duration::hours(24);

// The q-quantile (ceil(q·n)-th smallest) of `values`, which it reorders.
double quantile(std::vector<double>& values, double q) {
  if (values.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(q * static_cast<double>(values.size())))) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank), values.end());
  return values[rank];
}

// The minutes whose last 5 minutes' programmings have a p99 over the SLO,
// merged into intervals of virtual time (seconds).
std::vector<std::pair<double, double>> broken_intervals(const std::vector<Programming>& all, sim::Time from,
                                                        sim::Time to) {
  std::vector<std::pair<double, double>> out;
  const sim::Duration minute = sim::Duration::minutes(1), span = sim::Duration::minutes(5);
  std::size_t lo = 0, hi = 0;
  std::vector<double> window;
  for (sim::Time m = from + minute; m <= to; m = m + minute) {
    while (hi < all.size() && all[hi].applied <= m) ++hi;
    while (lo < hi && all[lo].applied <= m - span) ++lo;
    if (lo == hi) continue;
    window.clear();
    for (std::size_t i = lo; i < hi; ++i) window.push_back(all[i].latency_s());
    if (quantile(window, 0.99) <= kNetworkProgrammingSloSeconds) continue;
    const double a = (m - minute).since_start().seconds_f(), b = m.since_start().seconds_f();
    if (!out.empty() && out.back().second == a) {
      out.back().second = b;
    } else {
      out.emplace_back(a, b);
    }
  }
  return out;
}

}  // namespace

nlohmann::ordered_json slis_json(const Pipeline& p, const std::vector<std::vector<Programming>>& programmings) {
  using json = nlohmann::ordered_json;
  const sim::Time end = sim::Time::zero() + p.scenario().duration;
  const auto days = static_cast<std::size_t>((p.scenario().duration.ns() + kDay.ns() - 1) / kDay.ns());
  json api = json::array();
  auto add_api = [&](const std::string& cluster, const models::ApiServer& server) {
    for (std::size_t d = 0; d < server.latency_days(); ++d) {
      for (int r = 0; r < models::ApiServer::kResources; ++r) {
        for (int v = 0; v < models::ApiServer::kVerbs; ++v) {
          const sim::QuantileSketch& s = server.mutating_latency(d, r, v);
          if (s.count() == 0) continue;
          const double p99 = s.quantile(0.99);
          api.push_back({{"cluster", cluster},
                         {"day", d + 1},
                         {"resource", models::ApiServer::resource_name(r)},
                         {"verb", models::ApiServer::verb_label(v)},
                         {"calls", s.count()},
                         {"p99_s", r3(p99)},
                         {"slo_s", kMutatingApiCallSloSeconds},
                         {"met", p99 <= kMutatingApiCallSloSeconds}});
        }
      }
    }
  };
  for (const auto& c : p.clusters()) add_api(c->spec->name, *c->api);
  if (const DataPlane* dp = p.data_plane()) add_api(dp->spec->name, *dp->api);
  json network = json::array();
  for (std::size_t i = 0; i < p.clusters().size(); ++i) {
    const ClusterRuntime* c = p.clusters()[i].get();
    // In the order they took effect.
    std::vector<Programming> all = programmings.at(i);
    std::stable_sort(all.begin(), all.end(),
                     [](const Programming& a, const Programming& b) { return a.applied < b.applied; });
    if (all.empty()) continue;
    for (std::size_t d = 0; d < days; ++d) {
      const sim::Time from = sim::Time::zero() + kDay * static_cast<std::int64_t>(d);
      const sim::Time to = std::min(end, from + kDay);
      std::vector<double> day;
      for (const Programming& x : all) {
        if (x.applied >= from && x.applied < to) day.push_back(x.latency_s());
      }
      if (day.empty()) continue;
      const double p99 = quantile(day, 0.99);
      const auto broken = broken_intervals(all, from, to);
      double broken_s = 0;
      json intervals = json::array();
      for (const auto& [a, b] : broken) {
        broken_s += b - a;
        intervals.push_back({a, b});
      }
      network.push_back({{"cluster", c->spec->name},
                         {"day", d + 1},
                         {"programmings", day.size()},
                         {"p99_s", r3(p99)},
                         {"slo_s", kNetworkProgrammingSloSeconds},
                         {"met", p99 <= kNetworkProgrammingSloSeconds},
                         {"sli_broken_s", broken_s},
                         {"sli_broken", intervals}});
    }
  }
  return {{"mutating_api_call_latency", api}, {"network_programming_latency", network}};
}

std::string slis_text(const nlohmann::ordered_json& r) {
  if (!r.contains("slis")) return "";
  const auto& slis = r["slis"];
  std::string out;
  // The worst (resource, verb) per cluster-day: the SLO holds for every pair.
  struct Worst {
    std::string cluster;
    std::uint64_t day;
    const nlohmann::ordered_json* entry;
  };
  std::vector<Worst> worst;
  for (const auto& e : slis["mutating_api_call_latency"]) {
    const std::string cluster = e["cluster"].get<std::string>();
    const auto day = e["day"].get<std::uint64_t>();
    auto it = std::find_if(worst.begin(), worst.end(),
                           [&](const Worst& w) { return w.cluster == cluster && w.day == day; });
    if (it == worst.end()) {
      worst.push_back({cluster, day, &e});
    } else if (e["p99_s"].get<double>() > (*it->entry)["p99_s"].get<double>()) {
      it->entry = &e;
    }
  }
  const auto& network = slis["network_programming_latency"];
  if (worst.empty() && network.empty()) return "";
  out += "\nSIG Scalability SLOs, per cluster-day:\n";
  for (const Worst& w : worst) {
    const auto& e = *w.entry;
    out += fmt::format("  {} day {}: mutating API calls p99 {:.2f}s ({} {}), SLO 1s: {}\n", w.cluster, w.day,
                       e["p99_s"].get<double>(), e["verb"].get<std::string>(), e["resource"].get<std::string>(),
                       e["met"].get<bool>() ? "met" : "missed");
  }
  for (const auto& e : network) {
    out += fmt::format("  {} day {}: network programming p99 {:.1f}s, SLO 30s: {}\n", e["cluster"].get<std::string>(),
                       e["day"].get<std::uint64_t>(), e["p99_s"].get<double>(),
                       e["met"].get<bool>() ? "met" : "missed");
    const double broken_s = e["sli_broken_s"].get<double>();
    if (broken_s > 0) {
      const auto& first = e["sli_broken"][0];
      out += fmt::format("    the 5-minute SLI was over 30s for {}, first from {} to {}\n",
                         sim::format_duration(sim::Duration::seconds(std::llround(broken_s))),
                         sim::format_duration(sim::Duration::seconds(std::llround(first[0].get<double>()))),
                         sim::format_duration(sim::Duration::seconds(std::llround(first[1].get<double>()))));
    }
  }
  return out;
}

}  // namespace epsim::app
