#include "app/timeseries_csv.h"

#include <fmt/format.h>

#include <cmath>

namespace epsim::app {

namespace {

// RFC 4180: a field holding a comma, quote or line break is quoted.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (v == 0) {
    out += '0';  // also for -0: a delta of nothing
  } else {
    // Nine significant digits: counts stay exact, expected counts lose the
    // float noise of their sums (20.000000000000004 → 20).
    fmt::format_to(std::back_inserter(out), "{:.9g}", v);
  }
}

// Seconds of virtual time, exact: whole seconds print as integers.
void append_seconds(std::string& out, sim::Time t) {
  const std::int64_t ns = t.ns();
  if (ns % 1'000'000'000 == 0) {
    fmt::format_to(std::back_inserter(out), "{}", ns / 1'000'000'000);
  } else {
    append_number(out, t.seconds_f());
  }
}

}  // namespace

std::string timeseries_csv(const sim::TimeSeriesSampler& sampler) {
  const auto& names = sampler.names();
  std::string out = "time_s";
  for (const auto& n : names) {
    out += ',';
    out += csv_field(n);
  }
  out += '\n';
  out.reserve(out.size() + sampler.rows() * (8 + 4 * names.size()));
  // Each column's current run, advanced as the rows go by.
  std::vector<std::size_t> run(names.size(), 0);
  for (std::size_t row = 0; row < sampler.rows(); ++row) {
    append_seconds(out, sampler.time(row));
    for (std::size_t col = 0; col < names.size(); ++col) {
      const auto& runs = sampler.runs(col);
      while (run[col] + 1 < runs.size() && runs[run[col] + 1].first_row <= row) ++run[col];
      out += ',';
      append_number(out, runs[run[col]].value);
    }
    out += '\n';
  }
  return out;
}

}  // namespace epsim::app
