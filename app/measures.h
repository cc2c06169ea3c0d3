// The measures of one run that sweeps tabulate and --fail-if tests: numbers
// read off the report (app/report.h), one name each, in a fixed order.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace epsim::app {

struct MeasureInfo {
  const char* name;
  const char* meaning;
};

// Every measure, in column order (docs/sweep.md lists them).
const std::vector<MeasureInfo>& measure_table();
std::vector<std::string> measure_names();

// The values of every measure of `report`. Storm measures describe the
// longest resync storm of any cluster (0 when no resync wrote anything).
std::map<std::string, double> measures_of(const nlohmann::ordered_json& report);

// The stage that limited the longest storm ("client_bucket", ...), "" when
// there was none.
std::string storm_limited_by(const nlohmann::ordered_json& report);

}  // namespace epsim::app
