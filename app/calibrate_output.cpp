// Text, JSON and the include file of `epsim calibrate` (app/calibrate.h).
#include <fmt/format.h>

#include <cmath>

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

// How many standard errors the scenario's own value is from the fit.
std::optional<double> sigmas_from_fit(const CalibrateResult& r, std::size_t i) {
  const double se = r.fit.standard_errors[i];
  if (!r.scenario_values[i] || std::isnan(se) || se <= 0) return std::nullopt;
  return std::abs(*r.scenario_values[i] - r.fit.parameters[i]) / se;
}

std::string scenario_text(const CalibrateResult& r, std::size_t i) {
  if (!r.scenario_values[i]) return "-";
  std::string s = value_text(r.parameters[i], *r.scenario_values[i]);
  if (const auto z = sigmas_from_fit(r, i)) {
    s += fmt::format(" ({}: {:.2f} σ from the fit)", *z <= 2 ? "agrees" : "differs", *z);
  }
  return s;
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
  out += fmt::format("Levenberg-Marquardt from the scan's best point ({}): {}, {} iterations, {} simulations\n\n",
                     fmt::join(start, ", "), r.fit.converged ? "converged (" + r.fit.stop_reason + ")"
                                                             : "not converged (" + r.fit.stop_reason + ")",
                     r.fit.iterations, r.simulations);
  out += fmt::format("{:<34}{:<30}{}\n", "parameter", "fitted", "scenario");
  for (std::size_t i = 0; i < r.parameters.size(); ++i) {
    out += fmt::format("{:<34}{:<30}{}\n", r.parameters[i].key, fitted_text(r, i), scenario_text(r, i));
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
                              {"scenario", nullptr},
                              {"scenario_sigmas_from_fit", nullptr}};
    if (!std::isnan(r.fit.standard_errors[i])) pj["standard_error"] = r.fit.standard_errors[i];
    if (r.scenario_values[i]) pj["scenario"] = *r.scenario_values[i];
    if (const auto z = sigmas_from_fit(r, i)) pj["scenario_sigmas_from_fit"] = *z;
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
  j["fit"] = {{"method", "levenberg-marquardt"},   {"converged", r.fit.converged},
              {"stop_reason", r.fit.stop_reason}, {"iterations", r.fit.iterations},
              {"chi_squared", r.fit.cost},        {"residuals", r.residuals},
              {"simulations", r.simulations}};
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
    out += fmt::format("# Fitted: {} = {}.\n", r.parameters[i].key, fitted_text(r, i));
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
