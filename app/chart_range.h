// The stretch of virtual time charts.svg and report.html draw: the whole run,
// or what `epsim run --from 16h20m --to 16h40m` picks.
#pragma once

#include <optional>
#include <string>

#include "sim/time.h"

namespace epsim::app {

struct ChartRange {
  // Seconds of virtual time; to_s <= from_s means "to the end of the data".
  double from_s = 0;
  double to_s = 0;
  bool whole() const { return from_s == 0 && to_s <= from_s; }
};

// --from and --to (Go durations since the scenario start, either may be
// missing) checked against the run's length. Throws InputError naming the
// flag when one is negative, past the end, or --from is not before --to.
ChartRange chart_range(const std::optional<std::string>& from, const std::optional<std::string>& to,
                       sim::Duration run);

}  // namespace epsim::app
