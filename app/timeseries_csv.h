// The sampled time series as CSV: header `time_s,<column names>`, one row per
// sample. Numbers use the shortest text that reads back as the same double,
// so the file is deterministic and lossless.
#pragma once

#include <string>

#include "sim/time_series.h"

namespace epsim::app {

std::string timeseries_csv(const sim::TimeSeriesSampler& sampler);

}  // namespace epsim::app
