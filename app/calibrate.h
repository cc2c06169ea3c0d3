// `epsim calibrate`: fits a scenario's API server parameters to what a user
// observed on their own cluster (app/observations.h). Each observation is
// simulated with its flags; the residuals (simulated − observed) / sigma of
// every measured value and every depth sample go to a bounded
// Levenberg-Marquardt (app/least_squares.h), started from the best point of a
// small deterministic scan. The fitted values come with a standard error from
// the Jacobian. docs/tune.md describes the algorithm and its limits.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/cli_options.h"
#include "app/least_squares.h"
#include "app/observations.h"
#include "models/api_server.h"

namespace epsim::app {

// One fitted parameter: an API server key, given as apiServer.LEAF (the API
// server of every business cluster, where the endpoints controller writes) or
// a full --set path ending in apiServer.LEAF; LEAF is mutatingThroughput,
// requestLatency.median, requestLatency.p99 or watchDelay (one of the two
// latencies at a time). Durations are fitted in seconds.
struct FitParameter {
  std::string key;         // as given, without a range
  std::string path;        // the --set path each simulation uses; "" for every business cluster
  std::string leaf;        // mutatingThroughput, requestLatency.median, ...
  bool duration = false;
  bool integer = false;
  double lower = 0;        // seconds for durations
  double upper = 0;
};

// KEY or KEY=LOW..HIGH (durations with units: 1ms..2s). Throws InputError.
FitParameter parse_fit_parameter(const std::string& text);
// The value as --set takes it: "43.5", "23.4ms".
std::string fit_value_text(const FitParameter& p, double value);

struct CalibrateSpec {
  ScenarioOptions base;
  ObservationFile observed;
  std::vector<FitParameter> parameters;
  int jobs = 1;
  LmOptions lm;
};

struct ObservationFit {
  std::string name;
  std::vector<MeasuredValue> measured;
  std::vector<double> simulated;      // at the fit, one per measured value
  std::size_t depth_samples = 0;      // 0 when the observation has no depth series
  double depth_rms_sigmas = 0;        // RMS of the depth residuals at the fit, in sigmas
};

struct CalibrateResult {
  std::string scenario_name;
  std::string observed_path;
  std::vector<FitParameter> parameters;
  std::vector<std::optional<double>> scenario_values;  // the scenario's own values, when one cluster holds them
  std::vector<double> start;                           // the scan's best point
  LmResult fit;
  std::vector<ObservationFit> observations;
  std::size_t residuals = 0;                           // m
  int simulations = 0;                                 // scan and fit, every observation
  // The first business cluster's, with the fitted values (the scenario's for
  // a parameter the fit did not identify).
  models::ApiServerConfig fitted_api_server;
  std::optional<double> scenario_chi_squared;          // χ² at the scenario's own values, when in bounds
  double scan_chi_squared_range = 0;                   // max - min χ² over the scan: < 1, nothing identified
};

// Throws InputError for a bad observation or parameter value.
CalibrateResult calibrate(const CalibrateSpec& spec);

std::string calibrate_text(const CalibrateResult& result);
std::string calibrate_json(const CalibrateResult& result);
// An include file like scenarios/common/apiserver-calibrated.yaml: the whole
// apiServer block with the fitted values, and a comment saying what they were
// fitted to.
std::string calibrated_include_yaml(const CalibrateResult& result);

}  // namespace epsim::app
