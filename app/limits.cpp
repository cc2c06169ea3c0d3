#include "app/limits.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "sim/interval_set.h"

namespace epsim::app {

namespace {
double rounded(double share) { return std::round(share * 1000.0) / 1000.0; }
}  // namespace

std::unique_ptr<sim::ExclusiveCover> limit_cover(const ClusterRuntime& cluster) {
  const auto& pool = cluster.controller_manager->endpoints_controller().pool();
  const std::array<const sim::IntervalSet*, 4> sets{&cluster.api->write_backlog(), &cluster.api->at_inflight_limit(),
                                                    &pool.bucket_waits(), &pool.all_workers_in_flight()};
  return std::make_unique<sim::ExclusiveCover>(sets);
}

LimitShares limited_by(const ClusterRuntime& cluster, sim::Time from, sim::Time to) {
  LimitShares shares;
  if (!(from < to)) return shares;
  if (!cluster.limits) throw std::logic_error("limited_by() before the run is over");
  const std::vector<sim::Duration> cover = cluster.limits->query(from, to);
  const double total = (to - from).seconds_f();
  shares.apiserver = (cover[0] + cover[1]).seconds_f() / total;
  shares.client_bucket = cover[2].seconds_f() / total;
  shares.endpoints_workers = cover[3].seconds_f() / total;
  shares.other = cover[4].seconds_f() / total;
  const std::array<std::pair<double, const char*>, 4> ranked{{{shares.apiserver, "apiserver"},
                                                              {shares.client_bucket, "client_bucket"},
                                                              {shares.endpoints_workers, "endpoints_workers"},
                                                              {shares.other, "other"}}};
  // The first of the largest: ties go to the earlier stage in precedence order.
  shares.stage = std::max_element(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
                   return a.first < b.first;
                 })->second;
  return shares;
}

nlohmann::ordered_json limited_by_json(const LimitShares& s) {
  return {{"stage", s.stage},
          {"apiserver", rounded(s.apiserver)},
          {"client_bucket", rounded(s.client_bucket)},
          {"endpoints_workers", rounded(s.endpoints_workers)},
          {"other", rounded(s.other)}};
}

std::string limited_by_text(const nlohmann::ordered_json& limited_by, const nlohmann::ordered_json& cluster) {
  const double throughput = cluster.value("apiserver_mutating_throughput", 0.0);
  const std::array<std::pair<const char*, std::string>, 4> labels{
      {{"apiserver", throughput > 0 ? fmt::format("API server writes ({:g}/s)", throughput)
                                    : std::string("API server writes")},
       {"client_bucket", fmt::format("client bucket ({:g} qps)", cluster["kube_api_qps"].get<double>())},
       {"endpoints_workers", fmt::format("endpoints workers ({})", cluster["concurrent_endpoint_syncs"].get<int>())},
       {"other", "other"}}};
  std::vector<std::pair<double, std::string>> parts;
  for (const auto& [key, label] : labels) {
    const double share = limited_by.value(key, 0.0);
    if (share >= 0.01) parts.emplace_back(share, label);
  }
  std::stable_sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string out;
  for (const auto& [share, label] : parts) {
    out += fmt::format("{}{} {:.0f}%", out.empty() ? "" : ", ", label, share * 100.0);
  }
  return out.empty() ? "-" : out;
}

}  // namespace epsim::app
