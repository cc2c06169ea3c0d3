// What a user measured on their own cluster, for `epsim calibrate`: a YAML
// file listing observations, each the flags and --set overrides the cluster
// ran with and what was measured there: run measures (storm_s, storm_puts,
// max_window_s, ... app/measures.h) with their uncertainty, and/or a
// workqueue-depth time series (Prometheus' query_range JSON for
// workqueue_depth{name="endpoint"}, or a CSV) to match the simulated depth
// curve.
// docs/tune.md documents the format; scenarios/observed/ holds examples.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace epsim::app {

struct MeasuredValue {
  std::string measure;   // a name of measure_table()
  double value = 0;
  double sigma = 0;      // > 0; default 5% of |value| (1 when value is 0)
};

// A depth curve: samples of the endpoints controller's workqueue depth.
// Times are seconds on any origin (Unix time, or relative): the fit aligns
// the curve's rise with the simulated storm's.
struct DepthSeries {
  std::string file;                 // as given, for messages
  std::vector<double> time_s;
  std::vector<double> depth;
  double sigma = 0;                 // per sample; default 5% of the largest depth
  std::string cluster;              // "" = the first business cluster
};

struct Observation {
  std::string name;
  std::string description;
  std::vector<std::pair<std::string, std::string>> flags;  // run flag (no dashes) -> value text
  std::vector<std::string> sets;                           // PATH=VALUE
  std::vector<MeasuredValue> measured;
  std::optional<DepthSeries> depth;
  std::string origin;                                      // file:line:column of the entry
};

struct ObservationFile {
  std::string path;
  std::string description;
  std::vector<Observation> observations;
};

// Reads and checks the file (and any depth CSV it names, relative to it).
// Throws InputError with file:line:column.
ObservationFile load_observations(const std::string& path);

// Reads a depth series from a file: Prometheus' HTTP API answer to a range
// query (JSON, /api/v1/query_range, one series: wrap several in sum()), or a
// CSV. Throws InputError.
DepthSeries read_depth_file(const std::string& path, const std::string& shown_path);

// Reads a depth CSV: a header line, then rows "time,depth". Time is seconds
// (a number) or an ISO 8601 / "YYYY-MM-DD HH:MM:SS" timestamp (UTC; a zone
// suffix is ignored, only differences matter). Throws InputError with
// file:line.
DepthSeries read_depth_csv(const std::string& path, const std::string& shown_path);

// Reads the JSON of GET /api/v1/query_range (resultType "matrix", exactly one
// series; values are [unix seconds, "number"]). Throws InputError.
DepthSeries read_depth_prometheus_json(const std::string& path, const std::string& shown_path);

}  // namespace epsim::app
