// `epsim tune`: the least aggressive setting of some knobs (by default the
// kube-controller-manager's --kube-api-qps, --kube-api-burst and
// --concurrent-endpoint-syncs) that meets every --goal, found with few runs:
// a small design of runs, then for each knob in priority order a search along
// it guided by a response surface (app/response_surface.h) fitted to every run
// so far, each proposal confirmed by an actual run. docs/tune.md describes the
// algorithm and its limits.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/cli_options.h"
#include "app/sweep.h"
#include "app/threshold.h"

namespace epsim::app {

// One knob: a flag of `epsim run` (without dashes) or a --set path, searched
// over [lower, upper]. Integer when both bounds are written as integers.
// Larger values are assumed more aggressive and never worse for the goals.
struct Knob {
  std::string key;
  bool is_flag = false;
  double lower = 0;
  double upper = 0;
  bool integer = false;
};

// KEY=A..B, or KEY alone for a knob with default bounds (the three default
// knobs). Throws InputError.
Knob parse_knob(const std::string& text);
// kube-api-qps=5..1000, kube-api-burst=10..300, concurrent-endpoint-syncs=1..100.
std::vector<Knob> default_knobs();
// The value as the run command takes it: "32", "43.5".
std::string knob_value_text(const Knob& knob, double value);
// The values a knob's search may propose, ascending, from lower to upper:
// every integer of an integer knob (a geometric grid past 100,000 values);
// every value with 3 significant digits for the others (and the bounds).
std::vector<double> knob_grid(const Knob& knob);

struct TuneSpec {
  ScenarioOptions base;             // the fixed flags and --set of the command line
  std::vector<Knob> knobs;          // priority order: the first is minimised first
  std::vector<Threshold> goals;     // every one must hold
  int jobs = 1;
  int max_simulations = 60;
};

struct TuneRun {
  std::vector<double> knobs;                 // empty for the scenario's own settings
  std::string phase;                         // "as-is", "design", or the knob searched
  SweepRun run;
  std::map<std::string, double> predicted;   // the fit's prediction before the run; empty without one
  bool meets = false;                        // every goal holds on the run's measures
};

struct TuneResult {
  std::string scenario_name;
  std::vector<Knob> knobs;
  std::vector<std::string> goals;
  std::vector<std::optional<double>> now;    // the scenario's own value of each knob, when the report says
  std::vector<TuneRun> runs;                 // every simulation, in the order run
  std::size_t as_is = 0;                     // index of the scenario's own run
  bool feasible = false;
  std::size_t recommendation = 0;            // index of the confirming run, when feasible
  std::string infeasible_reason;             // when not feasible
  // Stopped at max_simulations: the recommendation meets the goals, a lower one may too.
  bool budget_exhausted = false;
  // The recommendation is a run of the first design: no fit existed before it,
  // so its prediction is the final fit's, which saw that run.
  bool prediction_in_sample = false;
  std::map<std::string, double> r_squared;   // of the final fit, per goal measure, over every run
  double worst_relative_error = 0;           // |fit - run| / |run| over the runs the fit proposed
  std::string worst_measure;
};

// Throws InputError for a bad scenario or knob value.
TuneResult tune(const TuneSpec& spec);

std::string tune_text(const TuneResult& result);
std::string tune_json(const TuneResult& result);

}  // namespace epsim::app
