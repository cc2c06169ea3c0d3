#include "app/calibrate.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "app/input_error.h"
#include "app/measures.h"
#include "app/number_text.h"
#include "app/pipeline.h"
#include "app/report.h"
#include "app/set_assignment.h"
#include "app/sweep.h"
#include "app/version.h"

namespace epsim::app {

namespace {

struct Leaf {
  const char* name;
  bool duration;
  bool integer;
  double lower;   // default bounds (seconds for durations)
  double upper;
};

// The API server keys a fit can move (docs/scenario.md, clusters[].apiServer),
// with default bounds wide enough for any real cluster.
const std::vector<Leaf>& leaves() {
  static const std::vector<Leaf> table{
      {"mutatingThroughput", false, false, 1, 100'000},
      {"requestLatency.median", true, false, 1e-4, 10},
      {"requestLatency.p99", true, false, 1e-4, 60},
      {"watchDelay", true, false, 1e-4, 60},
  };
  return table;
}

double config_value(const models::ApiServerConfig& c, const std::string& leaf) {
  if (leaf == "mutatingThroughput") return c.mutating_throughput;
  if (leaf == "requestLatency.median") return c.latency_median.seconds_f();
  if (leaf == "requestLatency.p99") return c.latency_p99.seconds_f();
  return c.watch_delay.seconds_f();
}

void set_config_value(models::ApiServerConfig& c, const std::string& leaf, double v) {
  const auto d = sim::Duration::nanoseconds(std::llround(v * 1e9));
  if (leaf == "mutatingThroughput") c.mutating_throughput = v;
  if (leaf == "requestLatency.median") c.latency_median = d;
  if (leaf == "requestLatency.p99") c.latency_p99 = d;
  if (leaf == "watchDelay") c.watch_delay = d;
}

std::optional<double> parse_bound(const std::string& text, bool duration) {
  if (duration) {
    try {
      return sim::parse_duration(text).seconds_f();
    } catch (const sim::DurationParseError&) {
      return std::nullopt;
    }
  }
  return parse_finite_number(text);
}

// The time `y` first reaches `level`, interpolated between samples.
double first_crossing(const std::vector<double>& t, const std::vector<double>& y, double level) {
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] < level) continue;
    if (i == 0) return t[0];
    return t[i - 1] + (t[i] - t[i - 1]) * (level - y[i - 1]) / (y[i] - y[i - 1]);
  }
  return t.back();
}

double interpolate(const std::vector<double>& t, const std::vector<double>& y, double at) {
  if (at <= t.front()) return y.front();
  if (at >= t.back()) return y.back();
  const std::size_t i = static_cast<std::size_t>(std::upper_bound(t.begin(), t.end(), at) - t.begin());
  return y[i - 1] + (y[i] - y[i - 1]) * (at - t[i - 1]) / (t[i] - t[i - 1]);
}

// Residuals of an observed depth curve against a simulated one on another
// clock. The curves are first aligned on the time each first reaches half its
// peak (the storm's rise: the resync adds every key at once); as the observed
// rise is only known to within a scrape interval, the offset is then refined
// within two intervals of that, in steps of 1/40 interval, to the one with
// the least squared residuals (the clock offset is a nuisance parameter,
// profiled out).
std::vector<double> depth_residuals(const DepthSeries& observed, const std::vector<double>& sim_t,
                                    const std::vector<double>& sim_y) {
  const std::size_t n = observed.time_s.size();
  const double sim_peak = sim_y.empty() ? 0.0 : *std::max_element(sim_y.begin(), sim_y.end());
  std::vector<double> best(n);
  if (sim_peak <= 0) {
    for (std::size_t i = 0; i < n; ++i) best[i] = -observed.depth[i] / observed.sigma;
    return best;
  }
  const double observed_peak = *std::max_element(observed.depth.begin(), observed.depth.end());
  const double observed_rise = first_crossing(observed.time_s, observed.depth, observed_peak / 2);
  const double sim_rise = first_crossing(sim_t, sim_y, sim_peak / 2);
  std::vector<double> gaps;
  for (std::size_t i = 1; i < n; ++i) gaps.push_back(observed.time_s[i] - observed.time_s[i - 1]);
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2), gaps.end());
  const double interval = gaps[gaps.size() / 2];
  double best_cost = std::numeric_limits<double>::infinity();
  std::vector<double> r(n);
  for (int step = -80; step <= 80; ++step) {
    const double offset = sim_rise - observed_rise + interval * step / 40.0;
    double cost = 0;
    for (std::size_t i = 0; i < n; ++i) {
      r[i] = (interpolate(sim_t, sim_y, observed.time_s[i] + offset) - observed.depth[i]) / observed.sigma;
      cost += r[i] * r[i];
    }
    if (cost < best_cost) {
      best_cost = cost;
      best = r;
    }
  }
  return best;
}

// One point of the parameters' space, evaluated for every observation.
struct Evaluation {
  std::vector<double> residuals;
};

class Calibrator {
 public:
  explicit Calibrator(CalibrateSpec spec) : spec_(std::move(spec)), files_(spec_.base.path, spec_.base.include_dirs) {
    const Scenario scenario = load_with_options(spec_.base, files_);
    result_.scenario_name = scenario.name;
    result_.observed_path = spec_.observed.path;
    const ClusterSpec* business = nullptr;
    for (const auto& c : scenario.clusters) {
      if (c.role == "business") {
        business = &c;
        break;
      }
    }
    if (business == nullptr) throw InputError("calibrate: the scenario has no business cluster");
    result_.fitted_api_server = business->api_server;
    for (const auto& p : spec_.parameters) {
      std::vector<std::string> paths;
      std::vector<const ClusterSpec*> moved;
      for (const auto& c : scenario.clusters) {
        if (p.path.empty() ? c.role == "business" : p.path.find("clusters[" + c.name + "]") == 0) {
          if (p.path.empty()) paths.push_back(fmt::format("clusters[{}].{}", c.name, p.key));
          moved.push_back(&c);
        }
      }
      if (!p.path.empty()) paths = {p.path};
      paths_.push_back(paths);
      // The scenario's own value, when the clusters the fit moves agree on it.
      std::optional<double> v;
      if (moved.empty()) moved.push_back(business);  // clusterDefaults.… or clusters[*].…
      v = config_value(moved.front()->api_server, p.leaf);
      for (const auto* c : moved) {
        if (config_value(c->api_server, p.leaf) != *v) v.reset();
      }
      if (v && p.leaf == "mutatingThroughput" && *v == 0) v.reset();  // 0: unbounded, not a value to fit from
      result_.scenario_values.push_back(v);
    }
    // The loader wants median < p99: a fit of one stays on its side of the
    // other (calibrate() refuses to fit both at once).
    for (auto& p : spec_.parameters) {
      const auto& a = business->api_server;
      if (p.leaf == "requestLatency.median") {
        p.upper = std::min(p.upper, 0.999 * a.latency_p99.seconds_f());
      } else if (p.leaf == "requestLatency.p99") {
        p.lower = std::max(p.lower, 1.001 * a.latency_median.seconds_f());
      }
      if (p.lower > p.upper) {
        throw InputError(fmt::format("--fit {}: its range is on the wrong side of the scenario's other latency "
                                     "(median {}, p99 {})",
                                     p.key, sim::format_duration(a.latency_median),
                                     sim::format_duration(a.latency_p99)));
      }
    }
    result_.parameters = spec_.parameters;
  }

  CalibrateResult run() {
    const auto batch = [this](const std::vector<std::vector<double>>& points) { return evaluate(points); };
    const std::vector<double> start = scan_start(batch);
    std::vector<double> lower, upper;
    for (const auto& p : spec_.parameters) {
      lower.push_back(p.lower);
      upper.push_back(p.upper);
    }
    result_.start = start;
    result_.fit = levenberg_marquardt(batch, start, lower, upper, spec_.lm);
    result_.simulations = simulations_.load();
    result_.residuals = result_.fit.residuals.size();
    // Simulated values from the residuals at the fit: value + residual x sigma.
    std::size_t at = 0;
    for (const auto& o : spec_.observed.observations) {
      ObservationFit f;
      f.name = o.name;
      f.measured = o.measured;
      for (const auto& m : o.measured) f.simulated.push_back(m.value + result_.fit.residuals.at(at++) * m.sigma);
      if (o.depth) {
        double sum = 0;
        for (std::size_t i = 0; i < o.depth->time_s.size(); ++i) {
          const double r = result_.fit.residuals.at(at++);
          sum += r * r;
        }
        f.depth_samples = o.depth->time_s.size();
        f.depth_rms_sigmas = std::sqrt(sum / static_cast<double>(f.depth_samples));
      }
      result_.observations.push_back(std::move(f));
    }
    // Over the whole scan χ² moved by less than 1: within their bounds the
    // parameters change the residuals by less than one sigma, whatever the
    // Jacobian of a noisy simulation says at the optimum.
    if (result_.scan_chi_squared_range < 1) {
      for (auto& se : result_.fit.standard_errors) se = std::numeric_limits<double>::quiet_NaN();
    }
    // --write keeps the scenario's value of a parameter the fit did not identify.
    for (std::size_t i = 0; i < spec_.parameters.size(); ++i) {
      if (!std::isnan(result_.fit.standard_errors[i])) {
        set_config_value(result_.fitted_api_server, spec_.parameters[i].leaf, result_.fit.parameters[i]);
      }
    }
    return result_;
  }

 private:
  // A deterministic start: the best of a geometric grid over the bounds (9
  // values for one parameter, 5 per parameter for two, 3 beyond) and the
  // scenario's own values. Least squares from one start finds the nearest
  // minimum; a storm's length is flat in a parameter where another stage
  // binds, so a start there would not move.
  std::vector<double> scan_start(const BatchResiduals& batch) {
    const std::size_t n = spec_.parameters.size();
    const int per = n == 1 ? 9 : n == 2 ? 5 : 3;
    std::vector<std::vector<double>> points;
    bool own_in_bounds = true;
    if (std::all_of(result_.scenario_values.begin(), result_.scenario_values.end(), [&](const auto& v) {
          return v.has_value();
        })) {
      std::vector<double> own;
      for (std::size_t i = 0; i < n; ++i) {
        own.push_back(std::clamp(*result_.scenario_values[i], spec_.parameters[i].lower, spec_.parameters[i].upper));
        own_in_bounds = own_in_bounds && own.back() == *result_.scenario_values[i];
      }
      points.push_back(own);
    } else {
      own_in_bounds = false;
    }
    std::size_t total = 1;
    for (std::size_t i = 0; i < n; ++i) total *= static_cast<std::size_t>(per);
    for (std::size_t index = 0; index < total; ++index) {
      std::vector<double> p(n);
      std::size_t rest = index;
      for (std::size_t i = n; i-- > 0;) {
        const auto& fp = spec_.parameters[i];
        const double f = static_cast<double>(rest % static_cast<std::size_t>(per)) / (per - 1);
        rest /= static_cast<std::size_t>(per);
        p[i] = fp.lower == fp.upper ? fp.lower : fp.lower * std::pow(fp.upper / fp.lower, f);
        if (fp.integer) p[i] = std::round(p[i]);
      }
      points.push_back(p);
    }
    const auto residuals = batch(points);
    std::size_t best = 0;
    double best_cost = std::numeric_limits<double>::infinity();
    double worst_cost = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
      double cost = 0;
      for (double r : residuals[i]) cost += r * r;
      if (cost < best_cost) {  // ties: the first, so the scenario's own values
        best_cost = cost;
        best = i;
      }
      worst_cost = std::max(worst_cost, cost);
      if (i == 0 && own_in_bounds) result_.scenario_chi_squared = cost;
    }
    result_.scan_chi_squared_range = worst_cost - best_cost;
    return points[best];
  }

  std::vector<std::vector<double>> evaluate(const std::vector<std::vector<double>>& points) {
    const auto& obs = spec_.observed.observations;
    // Scenarios are resolved here, on one thread: ScenarioFiles shares its
    // parsed YAML between loads (yaml-cpp nodes are not thread-safe).
    std::vector<Scenario> scenarios;
    for (std::size_t i = 0; i < points.size() * obs.size(); ++i) {
      scenarios.push_back(scenario_for(points[i / obs.size()], obs[i % obs.size()]));
    }
    std::vector<std::vector<double>> parts(scenarios.size());
    for_each_parallel(parts.size(), spec_.jobs, [&](std::size_t i) {
      parts[i] = observation_residuals(scenarios[i], obs[i % obs.size()]);
      simulations_.fetch_add(1);
    });
    std::vector<std::vector<double>> out(points.size());
    for (std::size_t i = 0; i < parts.size(); ++i) {
      auto& r = out[i / obs.size()];
      r.insert(r.end(), parts[i].begin(), parts[i].end());
    }
    return out;
  }

  Scenario scenario_for(const std::vector<double>& point, const Observation& o) const {
    ScenarioOptions options = spec_.base;
    options.sets.insert(options.sets.end(), o.sets.begin(), o.sets.end());
    std::vector<PointSetting> settings;
    for (const auto& [flag, value] : o.flags) settings.push_back({flag, true, value});
    for (std::size_t i = 0; i < point.size(); ++i) {
      for (const auto& path : paths_[i]) {
        settings.push_back({path, false, fit_value_text(spec_.parameters[i], point[i])});
      }
    }
    try {
      return resolve_point(options, files_, settings);
    } catch (const PointFlagError& e) {
      throw InputError(fmt::format("{}: observation {}: {}", o.origin, o.name, e.what()));
    } catch (const InputError& e) {
      // The observation's own flags and --set, without the fit: its fault?
      try {
        ScenarioOptions alone = spec_.base;
        alone.sets.insert(alone.sets.end(), o.sets.begin(), o.sets.end());
        std::vector<PointSetting> flags;
        for (const auto& [flag, value] : o.flags) flags.push_back({flag, true, value});
        (void)resolve_point(alone, files_, flags);
      } catch (const std::exception& own) {
        throw InputError(fmt::format("{}: observation {}: {}", o.origin, o.name, own.what()));
      }
      std::vector<std::string> tried;
      for (std::size_t i = 0; i < point.size(); ++i) {
        tried.push_back(spec_.parameters[i].key + "=" + fit_value_text(spec_.parameters[i], point[i]));
      }
      throw InputError(fmt::format("observation {} with {}: {}", o.name, fmt::join(tried, " "), e.what()));
    }
  }

  std::vector<double> observation_residuals(const Scenario& scenario, const Observation& o) const {
    Pipeline pipeline(scenario);
    pipeline.run();
    const auto measures = measures_of(build_report(pipeline));
    std::vector<double> r;
    for (const auto& m : o.measured) r.push_back((measures.at(m.measure) - m.value) / m.sigma);
    if (o.depth) {
      std::string cluster = o.depth->cluster;
      if (cluster.empty()) {
        for (const auto& c : scenario.clusters) {
          if (c.role == "business") {
            cluster = c.name;
            break;
          }
        }
      }
      const auto& series = pipeline.time_series();
      const auto& names = series.names();
      const auto column = std::find(names.begin(), names.end(), cluster + "/workqueue_depth");
      if (column == names.end()) {
        throw InputError(fmt::format("{}: observation {}: the scenario has no business cluster named {}", o.origin,
                                     o.name, cluster));
      }
      std::vector<double> t;
      for (const auto& time : series.times()) t.push_back(time.seconds_f());
      const auto d = depth_residuals(*o.depth, t, series.column(static_cast<std::size_t>(column - names.begin())));
      r.insert(r.end(), d.begin(), d.end());
    }
    return r;
  }

  CalibrateSpec spec_;  // its bounds adjusted to the scenario
  ScenarioFiles files_;
  std::vector<std::vector<std::string>> paths_;  // per parameter: the --set paths it moves
  CalibrateResult result_;
  std::atomic<int> simulations_{0};
};

}  // namespace

FitParameter parse_fit_parameter(const std::string& text) {
  const std::size_t eq = text.find('=');
  FitParameter p;
  p.key = text.substr(0, eq);
  const std::string marker = "apiServer.";
  const std::size_t at = p.key.find(marker);
  if (at == std::string::npos) {
    throw InputError(fmt::format("--fit {}: calibrate fits API server parameters: apiServer.mutatingThroughput, "
                                 "apiServer.requestLatency.median, … (or a full --set path ending in one)",
                                 text));
  }
  p.leaf = p.key.substr(at + marker.size());
  const auto leaf = std::find_if(leaves().begin(), leaves().end(), [&](const Leaf& l) { return p.leaf == l.name; });
  if (leaf == leaves().end()) {
    std::vector<std::string> names;
    for (const auto& l : leaves()) names.push_back(std::string("apiServer.") + l.name);
    throw InputError(fmt::format("--fit {}: \"{}\" is not an API server parameter a fit can move ({})", text, p.leaf,
                                 fmt::join(names, ", ")));
  }
  p.path = at == 0 ? "" : p.key;
  p.duration = leaf->duration;
  p.integer = leaf->integer;
  p.lower = leaf->lower;
  p.upper = leaf->upper;
  if (eq != std::string::npos) {
    const std::string range = text.substr(eq + 1);
    const std::size_t dots = range.find("..");
    const auto lo = dots == std::string::npos ? std::nullopt : parse_bound(range.substr(0, dots), p.duration);
    const auto hi = dots == std::string::npos ? std::nullopt : parse_bound(range.substr(dots + 2), p.duration);
    if (!lo || !hi) {
      throw InputError(fmt::format("--fit {}: expected {}=LOW..HIGH with {}", text, p.key,
                                   p.duration ? "durations (1ms..2s)" : "numbers (5..500)"));
    }
    if (!(*lo > 0 && *hi >= *lo)) throw InputError(fmt::format("--fit {}: the range must satisfy 0 < LOW ≤ HIGH", text));
    p.lower = *lo;
    p.upper = *hi;
  }
  try {
    parse_set_assignment((p.path.empty() ? "clusters[x]." + p.key : p.path) + "=" + fit_value_text(p, p.lower));
  } catch (const InputError& e) {
    throw InputError(fmt::format("--fit {}: {}", text, e.what()));
  }
  return p;
}

std::string fit_value_text(const FitParameter& p, double value) {
  if (p.duration) return sim::format_duration(sim::Duration::nanoseconds(std::llround(value * 1e9)));
  if (p.integer) return fmt::format("{}", std::llround(value));
  return fmt::format("{:.6g}", value);
}

CalibrateResult calibrate(const CalibrateSpec& spec) {
  if (spec.parameters.empty()) throw InputError("calibrate needs at least one --fit parameter");
  if (spec.parameters.size() > 5) throw InputError("calibrate fits at most 5 parameters at once");
  for (std::size_t i = 0; i < spec.parameters.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const auto target = [&](const FitParameter& p) { return p.path.empty() ? p.key : p.path; };
      if (target(spec.parameters[i]) == target(spec.parameters[j])) {
        throw InputError(fmt::format("--fit {} is given twice", spec.parameters[i].key));
      }
    }
  }
  const auto fits = [&](const char* leaf) {
    return std::any_of(spec.parameters.begin(), spec.parameters.end(),
                       [&](const FitParameter& p) { return p.leaf == leaf; });
  };
  if (fits("requestLatency.median") && fits("requestLatency.p99")) {
    throw InputError("--fit apiServer.requestLatency.median and apiServer.requestLatency.p99 cannot be fitted at "
                     "once (the median must stay below the p99): fit one, with the other as the scenario has it");
  }
  return Calibrator(spec).run();
}

}  // namespace epsim::app
