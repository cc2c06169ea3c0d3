// metrics.om: what a Prometheus scraping the modelled components every
// scrape interval would have stored, as OpenMetrics 1.0 text with a timestamp
// on every sample, ending in `# EOF`: the input of
// `promtool tsdb create-blocks-from openmetrics` (docs/grafana.md).
//
// Stored names stay production's. OpenMetrics appends `_total` to the samples
// of a `counter` family, so a counter whose upstream name ends in `_total`
// (workqueue_adds_total) is written as family `workqueue_adds` of type
// counter, and one whose upstream name lacks it (ingress-nginx's
// nginx_ingress_controller_requests) as type `unknown`, which keeps the name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/metric_scrapes.h"
#include "sim/metrics.h"

namespace epsim::app {

// A family computed after the run: each series has one value per scrape
// from scrape `first_scrape` on.
struct ComputedFamily {
  std::string name;
  std::string help;
  struct Series {
    sim::Labels labels;
    std::vector<double> values;
    std::size_t first_scrape = 0;
  };
  std::vector<Series> series;
};

// The default --epoch: 2021-01-01T00:00:00Z, the wall-clock time of the
// run's t = 0 (fixed, so the same run gives the same bytes).
inline constexpr std::int64_t kDefaultEpochSeconds = 1'609'459'200;

// Samples (lines) metrics.om would hold: refused above kMaxOpenMetricsSamples
// (about 4 GB of text), before anything is formatted.
std::uint64_t openmetrics_samples(const MetricScrapes& scrapes, const std::vector<ComputedFamily>& computed);
inline constexpr std::uint64_t kMaxOpenMetricsSamples = 20'000'000;

// Every family of `scrapes` (as its registry type), then `computed` (type
// unknown), with timestamps epoch_s + scrape time in seconds.
std::string openmetrics_text(const MetricScrapes& scrapes, const std::vector<ComputedFamily>& computed,
                             std::int64_t epoch_s);

// --epoch: "2021-01-01T00:00:00Z" (UTC, RFC 3339 without fractions) or
// whole Unix seconds ("1609459200"), from 1970 to 9999; InputError otherwise.
std::int64_t parse_epoch(const std::string& text);

}  // namespace epsim::app
