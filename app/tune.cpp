#include "app/tune.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "app/input_error.h"
#include "app/measures.h"
#include "app/number_text.h"
#include "app/response_surface.h"
#include "app/set_assignment.h"
#include "models/controller_switches.h"

namespace epsim::app {

namespace {

// A knob's grid has at most this many values: integer knobs with more are
// searched on a geometric grid; real knobs have 900 values a decade, so this
// spans over 100 decades.
constexpr int kMaxGridValues = 100'000;

// The scenario's own value of a knob, from the report: a flag's when every
// business cluster has the same value (the flag sets them all), a
// clusters[NAME].apiServer.mutatingThroughput path's from that cluster; none
// for any other key.
std::optional<double> value_in_report(const std::string& key, const nlohmann::ordered_json& report) {
  const KnobRole role = knob_role(key);
  const char* field = role == KnobRole::qps       ? "kube_api_qps"
                      : role == KnobRole::burst   ? "kube_api_burst"
                      : role == KnobRole::workers ? "concurrent_endpoint_syncs"
                                                  : nullptr;
  std::string cluster;  // "" = every business cluster
  if (!is_run_flag(key)) {
    const std::string head = "clusters[", tail = "].apiServer.mutatingThroughput";
    const bool named = key.rfind(head, 0) == 0 && key.size() > head.size() + tail.size() &&
                       key.compare(key.size() - tail.size(), tail.size(), tail) == 0;
    if (!named) return std::nullopt;
    cluster = key.substr(head.size(), key.size() - head.size() - tail.size());
    field = "apiserver_mutating_throughput";
  }
  if (field == nullptr || !report.contains("clusters")) return std::nullopt;
  std::optional<double> value;
  for (const auto& c : report["clusters"]) {
    if (cluster.empty() ? c.value("role", "") != "business" : c.value("name", "") != cluster) continue;
    if (!c.contains(field)) return std::nullopt;
    const double v = c[field].get<double>();
    if (value && *value != v) return std::nullopt;  // the clusters differ: no one value
    value = v;
  }
  return value;
}

// Every knob a kube-controller-manager flag: the failure message names it.
bool all_controller_manager_flags(const std::vector<Knob>& knobs) {
  return std::all_of(knobs.begin(), knobs.end(), [](const Knob& k) {
    return k.is_flag && (k.key == "kube-api-qps" || k.key == "kube-api-burst" || k.key == "concurrent-endpoint-syncs");
  });
}

std::string joined(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += separator;
    out += p;
  }
  return out;
}

bool meets_goals(const std::vector<Threshold>& goals, const std::map<std::string, double>& measures) {
  return std::all_of(goals.begin(), goals.end(), [&](const Threshold& g) { return g.holds(measures); });
}

class Tuner {
 public:
  explicit Tuner(const TuneSpec& spec) : spec_(spec), files_(spec.base.path, spec.base.include_dirs) {
    std::vector<KnobRole> roles;
    for (const auto& k : spec_.knobs) roles.push_back(knob_role(k.key));
    std::set<std::string> used;
    for (const auto& g : spec_.goals) {
      for (const auto& m : g.measures_used()) used.insert(m);
    }
    goal_used_.assign(used.begin(), used.end());
    surface_ = std::make_unique<ResponseSurface>(roles, goal_used_);
    result_.knobs = spec_.knobs;
    for (const auto& g : spec_.goals) result_.goals.push_back(g.text());
  }

  TuneResult run() {
    first_batch();
    const TuneRun& most = result_.runs.at(cached_.at(upper_point()));
    if (!most.meets) {
      result_.infeasible_reason = infeasible_reason(most);
      finish_fit();
      return result_;
    }
    std::vector<double> chosen = upper_point();
    for (std::size_t k = 0; k < spec_.knobs.size() && !result_.budget_exhausted; ++k) {
      chosen[k] = search(k, chosen);
    }
    result_.feasible = true;
    result_.recommendation = cached_.at(chosen);
    finish_fit();
    TuneRun& best = result_.runs[result_.recommendation];
    if (best.predicted.empty()) {
      // Confirmed by a run of the first design: no fit existed before it,
      // so the fit shown is the final one, which saw that run.
      best.predicted = surface_->predict(best.knobs);
      result_.prediction_in_sample = true;
    }
    return result_;
  }

 private:
  std::vector<double> upper_point() const {
    std::vector<double> p;
    for (const auto& k : spec_.knobs) p.push_back(k.upper);
    return p;
  }

  Scenario scenario_at(const std::vector<double>& knobs) const {
    std::vector<PointSetting> settings;
    for (std::size_t k = 0; k < knobs.size(); ++k) {
      const Knob& knob = spec_.knobs[k];
      settings.push_back({knob.key, knob.is_flag, knob_value_text(knob, knobs[k])});
    }
    try {
      return resolve_point(spec_.base, files_, settings);
    } catch (const PointFlagError& e) {
      std::vector<std::string> shown;
      for (const auto& s : settings) shown.push_back(s.key + "=" + s.value);
      throw InputError(fmt::format("tune point ({}): {}", joined(shown, " "), e.what()));
    }
  }

  // The design: the scenario as it is, every knob at its upper bound (if this
  // misses the goals nothing will), every knob at its lower bound, and each
  // knob alone at its lower bound: one run in each regime the knobs reach.
  void first_batch() {
    std::vector<std::vector<double>> points{upper_point()};
    std::vector<double> lowest;
    for (const auto& k : spec_.knobs) lowest.push_back(k.lower);
    for (std::size_t k = 0; k < spec_.knobs.size(); ++k) {
      auto p = upper_point();
      p[k] = spec_.knobs[k].lower;
      points.push_back(p);
    }
    points.push_back(lowest);
    std::vector<std::vector<double>> unique;
    for (const auto& p : points) {
      if (std::find(unique.begin(), unique.end(), p) == unique.end()) unique.push_back(p);
    }
    std::vector<Scenario> scenarios{load_with_options(spec_.base, files_)};
    for (const auto& p : unique) scenarios.push_back(scenario_at(p));
    result_.scenario_name = scenarios.front().name;
    std::vector<SweepRun> runs(scenarios.size());
    nlohmann::ordered_json as_is_report;
    for_each_parallel(scenarios.size(), spec_.jobs, [&](std::size_t i) {
      runs[i] = run_point(scenarios[i], i == 0 ? &as_is_report : nullptr);
    });
    bool now_known = true;
    for (const auto& k : spec_.knobs) {
      result_.now.push_back(value_in_report(k.key, as_is_report));
      now_known = now_known && result_.now.back().has_value();
    }
    std::vector<double> now;
    if (now_known) {
      for (const auto& v : result_.now) now.push_back(*v);
    }
    // Not a cached point: a flag run at these values need not be this
    // scenario (a cluster the knob does not name, a --set it overrides).
    record(now, "as-is", runs[0], {}, false);
    result_.as_is = 0;
    headless_label_compare_ = as_is_report["switches"].value("headlessLabelCompare", false);
    version_ = as_is_report["clusters"].empty() ? std::string()
                                                : as_is_report["clusters"].front().value("kubernetes_version", "");
    for (std::size_t i = 0; i < unique.size(); ++i) record(unique[i], "design", runs[i + 1], {});
  }

  void record(const std::vector<double>& knobs, const std::string& phase, const SweepRun& run,
              std::map<std::string, double> predicted, bool cache = true) {
    TuneRun r;
    r.knobs = knobs;
    r.phase = phase;
    r.run = run;
    r.predicted = std::move(predicted);
    r.meets = meets_goals(spec_.goals, run.measures);
    if (cache && cached_.count(knobs) == 0) cached_[knobs] = result_.runs.size();
    result_.runs.push_back(std::move(r));
  }

  std::vector<SurfaceSample> samples() const {
    std::vector<SurfaceSample> out;
    for (const auto& r : result_.runs) {
      if (!r.knobs.empty()) out.push_back({r.knobs, r.run.limited_by, r.run.measures});
    }
    return out;
  }

  // The least value of knob k (earlier knobs at their chosen values, later
  // ones at their upper bounds) whose run meets the goals. The bracket is
  // (lo, hi]: hi is a value known to meet them (at first the upper bound, the
  // previous search's confirmed point), lo one known to miss. Each step runs
  // the least value the fit (shifted to agree with hi's run) predicts to meet
  // the goals, or, when the fit says
  // none below hi does, the value just below hi; after two wrong predictions
  // in a row it bisects, so a poor fit costs at most a bisection.
  double search(std::size_t k, std::vector<double> point) {
    const std::vector<double> grid = knob_grid(spec_.knobs[k]);
    auto at = [&](std::size_t i) {
      point[k] = grid[i];
      return point;
    };
    long lo = -1;
    long hi = static_cast<long>(grid.size()) - 1;
    if (const auto it = cached_.find(at(0)); it != cached_.end()) {
      if (result_.runs[it->second].meets) return grid[0];
      lo = 0;
    }
    int wrong_in_a_row = 0;
    while (hi - lo > 1) {
      if (static_cast<int>(result_.runs.size()) >= spec_.max_simulations) {
        result_.budget_exhausted = true;
        break;
      }
      surface_->fit(samples());
      // Anchor the surface at hi's run: its prediction there is the run's
      // value, so a small bias of the fit does not move the crossing.
      const std::vector<double> hi_point = at(static_cast<std::size_t>(hi));
      const auto& hi_measures = result_.runs.at(cached_.at(hi_point)).run.measures;
      std::map<std::string, double> offset = surface_->predict(hi_point);
      for (auto& [m, v] : offset) v = hi_measures.at(m) - v;
      auto predict = [&](const std::vector<double>& p) {
        auto values = surface_->predict(p);
        for (auto& [m, v] : values) v += offset.at(m);
        return values;
      };
      long proposal = -1;
      for (long i = lo + 1; i < hi; ++i) {
        if (meets_goals(spec_.goals, predict(at(static_cast<std::size_t>(i))))) {
          proposal = i;
          break;
        }
      }
      if (wrong_in_a_row >= 2) {
        proposal = lo + (hi - lo) / 2;
      } else if (proposal < 0) {
        proposal = hi - 1;
      }
      const std::vector<double> p = at(static_cast<std::size_t>(proposal));
      const auto predicted = predict(p);
      record(p, spec_.knobs[k].key, run_point(scenario_at(p)), predicted);
      const bool meets = result_.runs.back().meets;
      wrong_in_a_row = meets == meets_goals(spec_.goals, predicted) ? 0 : wrong_in_a_row + 1;
      (meets ? hi : lo) = proposal;
    }
    return grid[static_cast<std::size_t>(hi)];
  }

  void finish_fit() {
    const auto all = samples();
    surface_->fit(all);
    for (const auto& m : goal_used_) result_.r_squared[m] = surface_->r_squared(m, all);
    for (const auto& r : result_.runs) {
      for (const auto& [m, predicted] : r.predicted) {
        if (result_.r_squared.count(m) == 0) continue;
        const double actual = r.run.measures.at(m);
        if (std::abs(actual) < 1e-9 && std::abs(predicted) < 1e-9) continue;
        const double e = std::abs(predicted - actual) / std::max(std::abs(actual), 1e-9);
        if (e > result_.worst_relative_error) {
          result_.worst_relative_error = e;
          result_.worst_measure = m;
        }
      }
    }
  }

  // Why no setting meets the goals, from the run with every knob at its upper
  // bound: the stage that still bounds the storm and what it would take.
  std::string infeasible_reason(const TuneRun& most) const {
    std::vector<std::string> missed;
    for (const auto& g : spec_.goals) {
      if (!g.holds(most.run.measures)) missed.push_back(g.text());
    }
    std::vector<std::string> bounds;
    for (const auto& k : spec_.knobs) bounds.push_back(fmt::format("{} ≤ {}", k.key, knob_value_text(k, k.upper)));
    std::string out = fmt::format("no {} ({}) reaches {}",
                                  all_controller_manager_flags(spec_.knobs) ? "kube-controller-manager setting"
                                                                             : "setting of the knobs",
                                  joined(bounds, ", "), joined(missed, " and "));
    const auto& m = most.run.measures;
    const double storm = m.at("storm_s"), puts = m.at("storm_puts");
    const std::string& stage = most.run.limited_by;
    std::vector<std::string> what;
    if (stage == "apiserver" && storm > 0) {
      std::string s = fmt::format("the API server completes ~{:.0f} writes/s", puts / storm);
      if (const auto longest = longest_storm_meeting(missed_goals(most))) {
        // The bisection ends within 1e-6 s below the bound: do not round
        // 65.0000001 up to 66.
        if (*longest > 0) s += fmt::format("; it needs ≥ {:.0f}/s", std::ceil(puts / *longest - 1e-6));
      }
      what.push_back(s);
    } else if (stage == "client_bucket" || stage == "endpoints_workers") {
      // Name the knobs that move that stage, or the flags that would.
      const bool bucket = stage == "client_bucket";
      std::vector<std::string> movers;
      for (const auto& k : spec_.knobs) {
        const KnobRole role = knob_role(k.key);
        if (bucket ? (role == KnobRole::qps || role == KnobRole::burst) : role == KnobRole::workers) {
          movers.push_back(k.key);
        }
      }
      const char* name = bucket ? "client bucket" : "endpoints workers";
      if (movers.empty()) {
        what.push_back(fmt::format("the {} bound the storm ({:.1f} s) and no knob moves them: add --knob {}", name,
                                   storm, bucket ? "kube-api-qps=LOW..HIGH" : "concurrent-endpoint-syncs=LOW..HIGH"));
      } else {
        what.push_back(fmt::format("the {} still bound the storm ({:.1f} s) at the upper bounds of {}: raise them",
                                   name, storm, joined(movers, " and ")));
      }
    } else if (storm > 0) {
      what.push_back(fmt::format("the storm ({:.1f} s) is bound by none of the controller's stages", storm));
    }
    if (headless_label_compare_ && storm > 0) {
      what.push_back(fmt::format("or Kubernetes ≥ {} (#94112) removes the storm", models::headless_label_fix_release(version_)));
    }
    if (!what.empty()) out += ": " + joined(what, ", ");
    return out;
  }

  std::vector<const Threshold*> missed_goals(const TuneRun& run) const {
    std::vector<const Threshold*> out;
    for (const auto& g : spec_.goals) {
      if (!g.holds(run.run.measures)) out.push_back(&g);
    }
    return out;
  }

  // The longest storm that meets these goals when they read the storm alone:
  // found by bisection on storm_s, so any expression works.
  static std::optional<double> longest_storm_meeting(const std::vector<const Threshold*>& goals) {
    for (const auto* g : goals) {
      if (g->measures_used() != std::vector<std::string>{"storm_s"}) return std::nullopt;
    }
    auto ok = [&](double s) {
      return std::all_of(goals.begin(), goals.end(), [&](const Threshold* g) { return g->holds({{"storm_s", s}}); });
    };
    if (!ok(0.0)) return std::nullopt;
    double lo = 0, hi = 1e9;
    if (ok(hi)) return std::nullopt;
    for (int i = 0; i < 200 && hi - lo > 1e-6; ++i) {
      const double mid = (lo + hi) / 2;
      (ok(mid) ? lo : hi) = mid;
    }
    return lo;
  }

  const TuneSpec& spec_;
  ScenarioFiles files_;
  std::vector<std::string> goal_used_;     // measures the goals read
  std::unique_ptr<ResponseSurface> surface_;
  std::map<std::vector<double>, std::size_t> cached_;  // knob values -> first run there
  bool headless_label_compare_ = false;
  std::string version_;
  TuneResult result_;
};

}  // namespace

Knob parse_knob(const std::string& text) {
  const std::size_t eq = text.find('=');
  Knob knob;
  knob.key = text.substr(0, eq);
  if (knob.key.rfind("--", 0) == 0) knob.key.erase(0, 2);
  if (knob.key.empty()) throw InputError(fmt::format("--knob {}: expected KEY=LOW..HIGH, e.g. kube-api-qps=5..1000", text));
  knob.is_flag = is_run_flag(knob.key);
  if (eq == std::string::npos) {
    for (const auto& d : default_knobs()) {
      if (d.key == knob.key) return d;
    }
    throw InputError(fmt::format("--knob {}: give its range, KEY=LOW..HIGH (only kube-api-qps, kube-api-burst and "
                                 "concurrent-endpoint-syncs have default ranges)",
                                 text));
  }
  const std::string range = text.substr(eq + 1);
  const std::size_t dots = range.find("..");
  if (dots == std::string::npos) {
    throw InputError(fmt::format("--knob {}: expected a range LOW..HIGH, e.g. {}=5..1000", text, knob.key));
  }
  const std::string a = range.substr(0, dots), b = range.substr(dots + 2);
  const auto lo = parse_finite_number(a), hi = parse_finite_number(b);
  if (!lo || !hi) {
    throw InputError(fmt::format("--knob {}: the ends of the range must be numbers (got \"{}\" and \"{}\")", text, a, b));
  }
  if (!(*lo > 0) || !(*hi >= *lo)) {
    throw InputError(fmt::format("--knob {}: the range must satisfy 0 < LOW ≤ HIGH (tune fits work/rate, 1/value)",
                                 text));
  }
  knob.lower = *lo;
  knob.upper = *hi;
  knob.integer = is_whole_number_text(a) && is_whole_number_text(b);
  static const std::set<std::string> not_knobs{"seed", "duration", "min-resync-period", "endpoint-updates-batch-period",
                                               "kubernetes-version"};
  if (knob.is_flag && not_knobs.count(knob.key) != 0) {
    throw InputError(fmt::format("--knob {}: {} is not a rate or a count that helps as it grows; tune cannot search it "
                                 "(use epsim sweep --vary)",
                                 text, knob.key));
  }
  if (!knob.is_flag) {
    try {
      parse_set_assignment(knob.key + "=" + knob_value_text(knob, knob.lower));
    } catch (const InputError&) {
      if (knob.key.find_first_of(".[") != std::string::npos) throw;
      throw InputError(fmt::format("--knob {}: \"{}\" is neither a flag of epsim run ({}) nor a scenario key "
                                   "(docs/scenario.md)",
                                   text, knob.key, joined(override_flag_names(), ", ")));
    }
  }
  return knob;
}

std::vector<Knob> default_knobs() {
  // Ranges a kube-controller-manager is run with: qps and burst from below
  // client-go's own default (5/10) to what large clusters use; workers up to
  // 100 (the endpoints controller's queue has one key per Service).
  return {{"kube-api-qps", true, 5, 1000, true},
          {"kube-api-burst", true, 10, 300, true},
          {"concurrent-endpoint-syncs", true, 1, 100, true}};
}

std::string knob_value_text(const Knob& knob, double value) {
  if (knob.integer) return fmt::format("{}", std::llround(value));
  return fmt::format("{:.6g}", value);
}

std::vector<double> knob_grid(const Knob& knob) {
  std::vector<double> grid;
  if (knob.integer && knob.upper - knob.lower <= kMaxGridValues) {
    for (double v = knob.lower; v <= knob.upper; v += 1) grid.push_back(v);
    return grid;
  }
  grid.push_back(knob.lower);
  if (knob.integer) {
    // Too many integers: a geometric grid of kMaxGridValues.
    for (int i = 1; i < kMaxGridValues; ++i) {
      const double v = std::round(knob.lower * std::pow(knob.upper / knob.lower, i / (kMaxGridValues - 1.0)));
      if (v > grid.back() && v < knob.upper) grid.push_back(v);
    }
  } else {
    // Every value with 3 significant digits (900 a decade), parsed back from
    // the text the run gets, so the grid holds exactly what is run.
    const int first = static_cast<int>(std::floor(std::log10(knob.lower)));
    const int last = static_cast<int>(std::floor(std::log10(knob.upper)));
    for (int decade = first; decade <= last && static_cast<int>(grid.size()) < kMaxGridValues; ++decade) {
      for (int mantissa = 100; mantissa <= 999; ++mantissa) {
        const double v = std::stod(fmt::format("{}e{}", mantissa, decade - 2));
        if (v > grid.back() && v < knob.upper) grid.push_back(v);
      }
    }
  }
  if (knob.upper > grid.back()) grid.push_back(knob.upper);
  return grid;
}

TuneResult tune(const TuneSpec& spec) {
  if (spec.knobs.empty()) throw InputError("tune needs at least one knob");
  if (spec.goals.empty()) throw InputError("tune needs at least one --goal, e.g. --goal 'storm_s <= 120'");
  return Tuner(spec).run();
}

}  // namespace epsim::app
