// What a Prometheus scraping the modelled components every scrape interval
// would have stored (metrics.om, docs/grafana.md): the registry's series of
// the families a dashboard of the incident needs, copied at every scrape
// instant, and ingress-nginx's request counts, kept as the traffic model books
// them and spread over the scrapes afterwards. Recording reads the run's
// state only: the run, its report and its digest are the same with or
// without it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/traffic.h"
#include "sim/metrics.h"
#include "sim/time.h"

namespace epsim::app {

// The registry families metrics.om carries, with the upstream file each name
// and label set comes from (docs/grafana.md lists them):
//  client-go tools/metrics + component-base v0.17.3 metrics/prometheus/restclient:
//    rest_client_requests_total, rest_client_request_duration_seconds
//  component-base v0.17.3 metrics/prometheus/workqueue/metrics.go:
//    workqueue_depth, workqueue_adds_total, workqueue_queue_duration_seconds
//  kubernetes v1.17.3 staging/src/k8s.io/apiserver/pkg/endpoints/metrics/metrics.go:
//    apiserver_request_total
//  kubernetes v1.17.3 pkg/proxy/metrics/metrics.go (only where kube-proxy runs):
//    kubeproxy_network_programming_duration_seconds
const std::vector<std::string>& scraped_families();

// One series of a registry family over the scrapes, from the first scrape
// that saw it: `values` holds one value per scrape (counter, gauge), or per
// scrape the cumulative bucket counts (+Inf last), the sum and the count
// (histogram: upper_bounds.size() + 3 values).
struct ScrapedSeries {
  std::size_t first_scrape = 0;
  std::vector<double> values;
};

struct ScrapedFamily {
  sim::MetricType type = sim::MetricType::gauge;
  std::string help;
  std::vector<double> upper_bounds;  // histograms
  std::map<sim::Labels, ScrapedSeries> series;
};

// Requests of one backend counted by the traffic model over [from, to].
struct RequestBooking {
  std::uint32_t backend = 0;
  std::int64_t from_ns = 0, to_ns = 0;
  double ok = 0, r502 = 0, r503 = 0, r504 = 0;
};

class MetricScrapes {
 public:
  // Scrapes at 0, interval, 2·interval, … (the samples at those instants).
  explicit MetricScrapes(sim::Duration interval);

  // Copies the scraped families of `registry` if `now` is a scrape instant.
  void on_sample(sim::Time now, const sim::MetricsRegistry& registry);
  void on_booking(std::uint32_t backend, sim::Time from, sim::Time to, const models::BackendTotals& counts);

  sim::Duration interval() const { return interval_; }
  const std::vector<sim::Time>& times() const { return times_; }
  const std::map<std::string, ScrapedFamily>& families() const { return families_; }
  const std::vector<RequestBooking>& bookings() const { return bookings_; }

  // Per scrape, the cumulative sum of `amounts[i]` requests booked by
  // `bookings[i]`, each spread evenly over its [from, to], rounded to whole
  // requests: monotone, and at a last scrape at the end the exact total.
  std::vector<double> cumulative(const std::vector<const RequestBooking*>& bookings,
                                 const std::vector<double>& amounts) const;

 private:
  sim::Duration interval_;
  std::vector<sim::Time> times_;
  std::map<std::string, ScrapedFamily> families_;
  std::vector<RequestBooking> bookings_;
};

}  // namespace epsim::app
