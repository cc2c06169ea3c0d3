// Text, JSON and the include file of `epsim calibrate` (app/calibrate.h).
#include <fmt/format.h>

#include <boost/math/distributions/chi_squared.hpp>

#include <algorithm>
#include <cmath>
#include <optional>

#include <nlohmann/json.hpp>

#include "app/calibrate.h"
#include "app/version.h"

namespace epsim::app {

namespace {

// Four significant digits, durations in the unit that suits them: "19.72ms".
std::string value_text(const FitParameter& p, double v) {
  if (!p.duration) return fmt::format("{:.4g}", v);
  if (v >= 1) return fmt::format("{:.4g}s", v);
  if (v >= 1e-3) return fmt::format("{:.4g}ms", v * 1e3);
  return fmt::format("{:.4g}µs", v * 1e6);
}

// "43.4 ± 4.3", "43.4 (not identified by these observations)"
std::string fitted_text(const CalibrateResult& r, std::size_t i) {
  const FitParameter& p = r.parameters[i];
  const double v = r.fit.parameters[i], se = r.fit.standard_errors[i];
  std::string s = std::isnan(se) ? fmt::format("{} (not identified by these observations)", value_text(p, v))
                                 : fmt::format("{} ± {}", value_text(p, v), value_text(p, se));
  if (r.fit.at_bound[i]) s += " (at a bound)";
  return s;
}

std::string scenario_text(const CalibrateResult& r, std::size_t i) {
  return r.scenario_values[i] ? value_text(r.parameters[i], *r.scenario_values[i]) : "-";
}

// Whether the scenario's own values fit the observations as well as the fit
// does, within the 95% confidence region: Δχ² below the χ² quantile for as
// many degrees of freedom as parameters (3.84 for one). Unlike a distance in
// standard errors, this holds up when the Jacobian is noise.
struct Agreement {
  double delta_chi_squared = 0;
  double threshold = 0;
  bool agrees = false;
};
std::optional<Agreement> agreement(const CalibrateResult& r) {
  if (!r.scenario_chi_squared) return std::nullopt;
  Agreement a;
  a.delta_chi_squared = std::max(0.0, *r.scenario_chi_squared - r.fit.cost);
  a.threshold = boost::math::quantile(boost::math::chi_squared(static_cast<double>(r.parameters.size())), 0.95);
  a.agrees = a.delta_chi_squared <= a.threshold;
  return a;
}

}  // namespace

std::string calibrate_text(const CalibrateResult& r) {
  std::size_t n_obs = r.observations.size();
  std::string out = fmt::format("epsim calibrate · {} · {} observation{} in {}\n", r.scenario_name, n_obs,
                                n_obs == 1 ? "" : "s", r.observed_path);
  std::vector<std::string> start;
  for (std::size_t i = 0; i < r.parameters.size(); ++i) {
    start.push_back(fmt::format("{} {}", r.parameters[i].key, value_text(r.parameters[i], r.start[i])));
  }
  out += fmt::format("Levenberg-Marquardt from the scan's best point ({}):\n  {}, {} iterations, {} simulations\n\n",
                     fmt::join(start, ", "), r.fit.converged ? "converged (" + r.fit.stop_reason + ")"
                                                             : "not converged (" + r.fit.stop_reason + ")",
                     r.fit.iterations, r.simulations);
  std::size_t key_width = 10, fitted_width = 7;
  for (std::size_t i = 0; i < r.parameters.size(); ++i) {
    key_width = std::max(key_width, r.parameters[i].key.size() + 2);
    fitted_width = std::max(fitted_width, fitted_text(r, i).size() + 2);
  }
  out += fmt::format("{:<{}}{:<{}}{}\n", "parameter", key_width, "fitted", fitted_width, "scenario");
  for (std::size_t i = 0; i < r.parameters.size(); ++i) {
    out += fmt::format("{:<{}}{:<{}}{}\n", r.parameters[i].key, key_width, fitted_text(r, i), fitted_width,
                       scenario_text(r, i));
  }
  if (const auto a = agreement(r)) {
    const bool one = r.parameters.size() == 1;
    out += fmt::format("the scenario's own {} the observations:\n  χ² {:.3g} against {:.3g} at the fit "
                       "(Δχ² {:.2f} {} {:.2f}, the 95% region)\n",
                       a->agrees ? (one ? "value agrees with" : "values agree with")
                                 : (one ? "value does not fit" : "values do not fit"),
                       *r.scenario_chi_squared, r.fit.cost, a->delta_chi_squared, a->agrees ? "≤" : ">",
                       a->threshold);
  }
  if (r.scan_chi_squared_range < 1) {
    out += fmt::format("not identified: over the whole scan χ² moved by {:.3g} (< 1):\n  within the bounds "
                       "these observations do not tell the values apart\n",
                       r.scan_chi_squared_range);
  }
  out += fmt::format("\n{:<16}{:<16}{:>18}{:>12}{:>12}\n", "observation", "measure", "observed", "simulated",
                     "residual");
  for (const auto& o : r.observations) {
    for (std::size_t k = 0; k < o.measured.size(); ++k) {
      const auto& m = o.measured[k];
      out += fmt::format("{:<16}{:<16}{:>18}{:>12.1f}{:>12}\n", o.name, m.measure,
                         fmt::format("{:.1f} ± {:.1f}", m.value, m.sigma), o.simulated[k],
                         fmt::format("{:+.2f} σ", (o.simulated[k] - m.value) / m.sigma));
    }
    if (o.depth_samples > 0) {
      out += fmt::format("{:<16}{:<16}{:>18}{:>12}{:>12}\n", o.name, "workqueue depth",
                         fmt::format("{} samples", o.depth_samples), "", fmt::format("rms {:.2f} σ", o.depth_rms_sigmas));
    }
  }
  out += fmt::format("\nχ² {:.3g} over {} residuals and {} parameter{}\n", r.fit.cost, r.residuals, r.parameters.size(),
                     r.parameters.size() == 1 ? "" : "s");
  if (r.residuals <= r.parameters.size()) {
    out += "note: no more residuals than parameters: the fit can pass through every observation, and its errors say "
           "only how tightly the sigmas pin it there; add observations in other regimes to test it\n";
  }
  return out;
}

std::string calibrate_json(const CalibrateResult& r) {
  nlohmann::ordered_json j;
  j["epsim_version"] = kVersion;
  j["scenario"] = r.scenario_name;
  j["observed"] = r.observed_path;
  nlohmann::ordered_json params = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < r.parameters.size(); ++i) {
    const auto& p = r.parameters[i];
    nlohmann::ordered_json pj{{"key", p.key},
                              {"path", p.path.empty() ? "clusters[every business cluster]." + p.key : p.path},
                              {"unit", p.duration ? "s" : p.leaf == "mutatingThroughput" ? "1/s" : ""},
                              {"lower", p.lower},
                              {"upper", p.upper},
                              {"start", r.start[i]},
                              {"fitted", r.fit.parameters[i]},
                              {"standard_error", nullptr},
                              {"at_bound", static_cast<bool>(r.fit.at_bound[i])},
                              {"scenario", nullptr}};
    if (!std::isnan(r.fit.standard_errors[i])) pj["standard_error"] = r.fit.standard_errors[i];
    if (r.scenario_values[i]) pj["scenario"] = *r.scenario_values[i];
    params.push_back(pj);
  }
  j["parameters"] = params;
  nlohmann::ordered_json obs = nlohmann::ordered_json::array();
  for (const auto& o : r.observations) {
    nlohmann::ordered_json oj{{"name", o.name}};
    nlohmann::ordered_json ms = nlohmann::ordered_json::array();
    for (std::size_t k = 0; k < o.measured.size(); ++k) {
      ms.push_back({{"measure", o.measured[k].measure},
                    {"observed", o.measured[k].value},
                    {"sigma", o.measured[k].sigma},
                    {"simulated", o.simulated[k]}});
    }
    oj["measured"] = ms;
    if (o.depth_samples > 0) oj["workqueue_depth"] = {{"samples", o.depth_samples}, {"rms_sigmas", o.depth_rms_sigmas}};
    obs.push_back(oj);
  }
  j["observations"] = obs;
  j["scenario_agreement"] = nullptr;
  if (const auto a = agreement(r)) {
    j["scenario_agreement"] = {{"chi_squared", *r.scenario_chi_squared},
                               {"delta_chi_squared", a->delta_chi_squared},
                               {"threshold_95", a->threshold},
                               {"agrees", a->agrees}};
  }
  j["fit"] = {{"method", "levenberg-marquardt"},   {"converged", r.fit.converged},
              {"stop_reason", r.fit.stop_reason}, {"iterations", r.fit.iterations},
              {"chi_squared", r.fit.cost},        {"residuals", r.residuals},
              {"simulations", r.simulations},     {"scan_chi_squared_range", r.scan_chi_squared_range}};
  return j.dump(2) + "\n";
}

std::string calibrated_include_yaml(const CalibrateResult& r) {
  std::string out = fmt::format("# kube-apiserver parameters fitted by `epsim calibrate` (epsim {}) of scenario {}\n",
                                kVersion, r.scenario_name);
  out += fmt::format("# to the observations in {}:\n", r.observed_path);
  for (const auto& o : r.observations) {
    for (std::size_t k = 0; k < o.measured.size(); ++k) {
      const auto& m = o.measured[k];
      out += fmt::format("#  - {}: {} {:.6g} ± {:.3g} (simulated {:.1f})\n", o.name, m.measure, m.value, m.sigma,
                         o.simulated[k]);
    }
    if (o.depth_samples > 0) {
      out += fmt::format("#  - {}: workqueue depth, {} samples (rms residual {:.2f} σ)\n", o.name, o.depth_samples,
                         o.depth_rms_sigmas);
    }
  }
  for (std::size_t i = 0; i < r.parameters.size(); ++i) {
    out += std::isnan(r.fit.standard_errors[i])
               ? fmt::format("# Not identified by them, kept as the scenario has it: {}.\n", r.parameters[i].key)
               : fmt::format("# Fitted: {} = {}.\n", r.parameters[i].key, fitted_text(r, i));
  }
  out += "# The other values are the scenario's own (its first business cluster). Include this file\n"
         "# (include: [...]) in a scenario whose clusters do not set apiServer themselves.\n";
  const auto& a = r.fitted_api_server;
  const auto d = [](sim::Duration v) { return sim::format_duration(v); };
  out += "clusterDefaults:\n  apiServer:\n";
  out += fmt::format("    requestLatency: {{median: {}, p99: {}}}\n", d(a.latency_median), d(a.latency_p99));
  out += fmt::format("    mutatingThroughput: {:.6g}\n", a.mutating_throughput);
  out += fmt::format("    maxMutatingRequestsInflight: {}\n", a.max_mutating_requests_inflight);
  out += fmt::format("    watchDelay: {}\n", d(a.watch_delay));
  out += fmt::format("    noopUpdateElision: {}\n", a.noop_update_elision ? "true" : "false");
  return out;
}

}  // namespace epsim::app
