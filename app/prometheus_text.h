// Prometheus text exposition format 0.0.4 of a metrics registry: what a
// /metrics endpoint of the modelled components would have served at the end
// of the run, with the upstream metric names and bucket layouts.
#pragma once

#include <string>

#include "sim/metrics.h"

namespace epsim::app {

std::string prometheus_text(const sim::MetricsRegistry& registry);

// `{a="x",b="y"}` (empty for no labels), values escaped; `extra_name` (if
// given) is appended last, as `le` of a histogram bucket.
std::string prometheus_labels(const sim::Labels& labels, const char* extra_name = nullptr,
                              const std::string& extra = {});

// A float as Prometheus' Go clients print it (strconv.FormatFloat(v, 'g', -1,
// 64)): shortest round-trip digits, exponent form below 1e-4 and from 1e6 on
// ("1e-08", "1.2954e+06"), "+Inf", "-Inf", "NaN".
std::string prometheus_float(double v);

}  // namespace epsim::app
