#include "app/ingress_request_series.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "app/input_error.h"
#include "models/ingress_nginx.h"

namespace epsim::app {

MetricsServices parse_metrics_services(const std::string& text) {
  if (text == "failing") return MetricsServices::failing;
  if (text == "rollouts") return MetricsServices::rollouts;
  if (text == "all") return MetricsServices::all;
  throw InputError(fmt::format("--metrics-services {}: give failing, rollouts or all", text));
}

namespace {

struct Status {
  const char* code;
  double RequestBooking::*count;
};
constexpr Status kStatuses[] = {
    {"200", &RequestBooking::ok},
    {"502", &RequestBooking::r502},
    {"503", &RequestBooking::r503},
    {"504", &RequestBooking::r504},
};

}  // namespace

ComputedFamily ingress_request_family(const Pipeline& pipeline, MetricsServices services) {
  ComputedFamily family;
  family.name = "nginx_ingress_controller_requests";
  family.help = "The total number of client requests.";  // socket.go, controller-v1.3.1
  const DataPlane* dp = pipeline.data_plane();
  const MetricScrapes* scrapes = pipeline.scrapes();
  if (dp == nullptr || scrapes == nullptr) return family;
  const std::size_t backends = dp->backends.size();
  const auto& clusters = pipeline.clusters();
  // Which backends get their own series.
  std::vector<std::vector<bool>> rolled(clusters.size());
  if (services == MetricsServices::rollouts) {
    for (std::size_t c = 0; c < clusters.size(); ++c) {
      rolled[c].assign(clusters[c]->service_names.size(), false);
      for (const auto& r : clusters[c]->deployments->rollouts()) rolled[c][r.service] = true;
    }
  }
  std::set<std::size_t> sources;
  for (const Backend& b : dp->backends) sources.insert(b.cluster);
  // Slot of each backend: its own (0, 1, …) or the summed rest (`other`).
  std::vector<std::size_t> slot(backends, 0);
  std::vector<bool> has_own(backends, false);
  std::vector<std::uint32_t> own;  // backend of each own slot
  for (std::uint32_t b = 0; b < backends; ++b) {
    const models::BackendTotals& t = dp->traffic->totals(b);
    const Backend& where = dp->backends[b];
    const bool failed = t.requests_502 + t.requests_503 + t.requests_504 > 0;
    const bool mine = services == MetricsServices::all || failed ||
                      (services == MetricsServices::rollouts && rolled[where.cluster][where.service]);
    if (mine) {
      has_own[b] = true;
      slot[b] = own.size();
      own.push_back(b);
    }
  }
  const std::size_t other = own.size();
  for (std::uint32_t b = 0; b < backends; ++b) {
    if (!has_own[b]) slot[b] = other;
  }
  std::vector<std::vector<const RequestBooking*>> by_slot(other + 1);
  for (const RequestBooking& r : scrapes->bookings()) by_slot[slot[r.backend]].push_back(&r);

  const sim::Labels base = models::ingress_controller_labels(dp->spec->name).with("method", "GET").with("path", "/");
  for (std::size_t s = 0; s <= other; ++s) {
    if (by_slot[s].empty()) continue;
    std::string ns = "(other)", name = "(other)";
    if (s < other) {
      const Backend& where = dp->backends[own[s]];
      const std::string& full = clusters[where.cluster]->service_names[where.service];
      const std::size_t slash = full.find('/');
      ns = full.substr(0, slash);
      name = full.substr(slash + 1);
      // The access cluster holds one copy per business cluster: names of
      // several sources are told apart by their cluster (docs/grafana.md).
      if (sources.size() > 1) name = clusters[where.cluster]->spec->name + "-" + name;
    }
    const sim::Labels labels = base.with("namespace", ns).with("ingress", name).with("service", name);
    for (const Status& status : kStatuses) {
      std::vector<double> amounts;
      bool any = false;
      for (const RequestBooking* r : by_slot[s]) {
        amounts.push_back(r->*status.count);
        any = any || r->*status.count > 0;
      }
      if (!any) continue;
      // client_golang exposes a labelled counter from its first increment;
      // the series starts one scrape earlier, at 0, so that increase() and
      // rate() count that first increment too (docs/grafana.md).
      std::vector<double> values = scrapes->cumulative(by_slot[s], amounts);
      std::size_t first = 0;
      while (first + 1 < values.size() && values[first + 1] == 0) ++first;
      values.erase(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(first));
      family.series.push_back({labels.with("status", status.code), std::move(values), first});
    }
  }
  std::sort(family.series.begin(), family.series.end(),
            [](const ComputedFamily::Series& a, const ComputedFamily::Series& b) { return a.labels < b.labels; });
  return family;
}

}  // namespace epsim::app
