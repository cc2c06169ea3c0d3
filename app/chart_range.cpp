#include "app/chart_range.h"

#include <fmt/format.h>

#include "app/input_error.h"

namespace epsim::app {

namespace {

sim::Duration flag_time(const char* flag, const std::string& value, sim::Duration run) {
  sim::Duration d;
  try {
    d = sim::parse_duration(value);
  } catch (const sim::DurationParseError& e) {
    throw InputError(fmt::format("{}: {}", flag, e.what()));
  }
  if (d < sim::Duration::zero()) {
    throw InputError(fmt::format("{} {}: virtual time since the scenario start cannot be negative", flag, value));
  }
  if (d > run) {
    throw InputError(fmt::format("{} {}: after the end of the run ({})", flag, value, sim::format_duration(run)));
  }
  return d;
}

}  // namespace

ChartRange chart_range(const std::optional<std::string>& from, const std::optional<std::string>& to,
                       sim::Duration run) {
  const sim::Duration a = from ? flag_time("--from", *from, run) : sim::Duration::zero();
  const sim::Duration b = to ? flag_time("--to", *to, run) : run;
  if (!(a < b)) {
    throw InputError(fmt::format("--from {} --to {}: --from must be before --to", sim::format_duration(a),
                                 sim::format_duration(b)));
  }
  ChartRange r;
  r.from_s = a.seconds_f();
  r.to_s = from || to ? b.seconds_f() : 0;
  return r;
}

}  // namespace epsim::app
