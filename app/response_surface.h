// The response surface `epsim tune` fits to its runs: how the measures a goal
// reads depend on the knobs. The storm is a queue drained by the slowest of
// three stages, so each stage gives a physical model of its length, linear in
// the "work / rate" features of the knobs that relieve it, and the storm is the
// longest of them (each stage alone is a lower bound on it):
//   client_bucket      storm ≈ a/qps + b·burst/qps      ((W − burst)/qps: client-go's token bucket)
//   endpoints_workers  storm ≈ a/workers                (W × write latency / workers)
//   apiserver          storm ≈ a/throughput, or a        (W / the server's mutating throughput)
//   other              storm ≈ a
// A stage's model is fitted (least squares, app/least_squares.h) on the runs
// whose storm that stage limited (limited_by's largest share), so each model
// sees only the regime it describes. A knob of no known stage adds 1/x to every
// model. Every other goal measure m is fitted as m ≈ c + d·storm over all runs
// (the runs' own storms) and predicted from the predicted storm:
// windows, 504s and propagation tails grow with the storm that causes them.
// docs/tune.md explains the choice and its limits.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace epsim::app {

// Which stage a knob relieves.
enum class KnobRole { qps, burst, workers, apiserver, other };
KnobRole knob_role(const std::string& key);

struct SurfaceSample {
  std::vector<double> knobs;      // one value per knob, > 0
  std::string regime;             // limited_by stage of the storm; "" when there was none
  std::map<std::string, double> measures;
};

class ResponseSurface {
 public:
  // `measures`: the goal measures to predict (storm_s is always predicted).
  ResponseSurface(std::vector<KnobRole> roles, std::vector<std::string> measures);

  // Refits every model on these samples (at least one).
  void fit(const std::vector<SurfaceSample>& samples);

  // The predicted value of every measure at `knobs`; storm_s is 0 when no
  // sample had a storm.
  std::map<std::string, double> predict(const std::vector<double>& knobs) const;

  // R² of the fitted surface over `samples` for `measure` (in-sample).
  double r_squared(const std::string& measure, const std::vector<SurfaceSample>& samples) const;

  // The stages with a fitted storm model, and their features' names (for docs
  // and tests): {"client_bucket": ["1/qps", "burst/qps"], ...}.
  std::map<std::string, std::vector<std::string>> model_features() const;

 private:
  std::vector<double> features(const std::string& regime, const std::vector<double>& knobs) const;
  std::vector<std::string> feature_names(const std::string& regime) const;
  double predict_storm(const std::vector<double>& knobs) const;

  std::vector<KnobRole> roles_;
  std::vector<std::string> measures_;
  std::map<std::string, std::vector<double>> storm_models_;            // stage -> coefficients
  std::map<std::string, std::pair<double, double>> measure_models_;    // m -> (c, d)
};

}  // namespace epsim::app
