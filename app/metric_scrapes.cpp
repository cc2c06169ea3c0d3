#include "app/metric_scrapes.h"

#include <algorithm>
#include <cmath>

namespace epsim::app {

const std::vector<std::string>& scraped_families() {
  static const std::vector<std::string> names = {
      "apiserver_request_total",
      "kubeproxy_network_programming_duration_seconds",
      "rest_client_request_duration_seconds",
      "rest_client_requests_total",
      "workqueue_adds_total",
      "workqueue_depth",
      "workqueue_queue_duration_seconds",
  };
  return names;
}

MetricScrapes::MetricScrapes(sim::Duration interval) : interval_(interval) {}

void MetricScrapes::on_sample(sim::Time now, const sim::MetricsRegistry& registry) {
  if ((now - sim::Time::zero()).ns() % interval_.ns() != 0) return;
  if (!times_.empty() && times_.back() >= now) return;
  const std::size_t scrape = times_.size();
  times_.push_back(now);
  for (const std::string& name : scraped_families()) {
    const auto it = registry.families().find(name);
    if (it == registry.families().end()) continue;
    const sim::MetricsRegistry::Family& f = it->second;
    ScrapedFamily& out = families_[name];
    out.type = f.type;
    out.help = f.help;
    out.upper_bounds = f.buckets;
    auto series = [&](const sim::Labels& labels) -> std::vector<double>& {
      auto [s, added] = out.series.try_emplace(labels);
      if (added) s->second.first_scrape = scrape;
      return s->second.values;
    };
    for (const auto& [labels, c] : f.counters) series(labels).push_back(c->value());
    for (const auto& [labels, g] : f.gauges) series(labels).push_back(g->value());
    for (const auto& [labels, h] : f.histograms) {
      std::vector<double>& v = series(labels);
      for (std::size_t b = 0; b < h->upper_bounds().size(); ++b) {
        v.push_back(static_cast<double>(h->cumulative_count(b)));
      }
      v.push_back(static_cast<double>(h->count()));  // +Inf
      v.push_back(h->sum());
      v.push_back(static_cast<double>(h->count()));
    }
  }
}

void MetricScrapes::on_booking(std::uint32_t backend, sim::Time from, sim::Time to,
                               const models::BackendTotals& counts) {
  if (counts.requests <= 0) return;
  bookings_.push_back(RequestBooking{backend, (from - sim::Time::zero()).ns(), (to - sim::Time::zero()).ns(), counts.ok,
                                     counts.requests_502, counts.requests_503, counts.requests_504});
}

// increments[k]: what falls into (t[k-1], t[k]] (k = 0: at or before t[0]).
// A booking over [a, b] adds its amount pro rata of each interval's overlap;
// the whole intervals between its ends go through a difference array, so a
// day-long booking costs O(1), not one step per scrape.
std::vector<double> MetricScrapes::cumulative(const std::vector<const RequestBooking*>& bookings,
                                              const std::vector<double>& amounts) const {
  const std::size_t n = times_.size();
  std::vector<double> increments(n, 0.0), whole(n + 1, 0.0);
  if (n == 0) return increments;
  const std::int64_t step = interval_.ns();
  const std::int64_t last_ns = (times_.back() - sim::Time::zero()).ns();
  // Index of the first scrape at or after x.
  auto at_or_after = [&](std::int64_t x) {
    const std::int64_t k = x <= 0 ? 0 : (x + step - 1) / step;
    return static_cast<std::size_t>(std::min<std::int64_t>(k, static_cast<std::int64_t>(n)));
  };
  for (std::size_t i = 0; i < bookings.size(); ++i) {
    const std::int64_t a = bookings[i]->from_ns, b = bookings[i]->to_ns;
    const double amount = amounts[i];
    if (a >= last_ns && b > last_ns) continue;  // after the last scrape: never seen
    if (b <= a) {
      const std::size_t k = at_or_after(b);
      if (k < n) increments[k] += amount;
      continue;
    }
    const double rate = amount / static_cast<double>(b - a);  // per ns
    const std::size_t ka = at_or_after(a + 1);                // interval holding (a, …]
    const std::size_t kb = at_or_after(b);
    const auto t = [&](std::size_t k) { return static_cast<double>(k) * static_cast<double>(step); };
    if (ka == kb) {
      if (ka < n) increments[ka] += amount;
      continue;
    }
    if (ka < n) increments[ka] += rate * (t(ka) - static_cast<double>(a));
    if (kb < n) increments[kb] += rate * (static_cast<double>(b) - t(kb - 1));
    // Whole intervals ka+1 .. kb-1 (those past the last scrape drop out).
    const std::size_t first = std::min(ka + 1, n), stop = std::min(kb, n);
    if (first < stop) {
      whole[first] += rate * static_cast<double>(step);
      whole[stop] -= rate * static_cast<double>(step);
    }
  }
  std::vector<double> out(n);
  double per_interval = 0, sum = 0;
  for (std::size_t k = 0; k < n; ++k) {
    per_interval += whole[k];
    sum += increments[k] + per_interval;
    out[k] = std::max(k == 0 ? 0.0 : out[k - 1], std::round(sum));  // never down by rounding
  }
  return out;
}

}  // namespace epsim::app
