// Text and JSON of `epsim tune` (app/tune.h).
#include <fmt/format.h>

#include <algorithm>

#include "app/tune.h"
#include "app/version.h"

namespace epsim::app {

namespace {

const char* stage_text(const std::string& stage) {
  if (stage == "apiserver") return "API server";
  if (stage == "client_bucket") return "client bucket";
  if (stage == "endpoints_workers") return "endpoints workers";
  if (stage == "other") return "other";
  return "no storm";
}

std::string limited_text(const SweepRun& run) {
  if (run.limited_by.empty()) return "no storm";
  const auto it = run.measures.find("storm_limited_" + run.limited_by);
  const double share = it == run.measures.end() ? 0.0 : it->second;
  return fmt::format("{} {:.0f}%", stage_text(run.limited_by), 100 * share);
}

// "--kube-api-qps 32 --set clusters[idc].apiServer.mutatingThroughput=60"
std::string flags_text(const std::vector<Knob>& knobs, const std::vector<double>& values) {
  std::string out;
  for (std::size_t k = 0; k < knobs.size(); ++k) {
    if (!out.empty()) out += ' ';
    const std::string v = knob_value_text(knobs[k], values[k]);
    out += knobs[k].is_flag ? fmt::format("--{} {}", knobs[k].key, v) : fmt::format("--set {}={}", knobs[k].key, v);
  }
  return out;
}

std::string number_text(double v) { return fmt::format("{:.1f}", v); }

// The measures a reader of the result looks at: every goal measure, the storm.
std::vector<std::string> shown_measures(const TuneResult& r) {
  std::vector<std::string> out{"storm_s"};
  for (const auto& [m, r2] : r.r_squared) {
    if (m != "storm_s") out.push_back(m);
  }
  return out;
}

nlohmann::ordered_json values_json(const TuneResult& r, const std::vector<double>& values) {
  nlohmann::ordered_json v = nlohmann::ordered_json::object();
  for (std::size_t k = 0; k < values.size(); ++k) v[r.knobs[k].key] = values[k];
  return v;
}

nlohmann::ordered_json measures_json(const std::map<std::string, double>& all, const std::vector<std::string>& names) {
  nlohmann::ordered_json m = nlohmann::ordered_json::object();
  for (const auto& n : names) {
    if (const auto it = all.find(n); it != all.end()) m[n] = it->second;
  }
  return m;
}

}  // namespace

std::string tune_text(const TuneResult& r) {
  std::string out = fmt::format("epsim tune · {} · goal{} {}\n", r.scenario_name, r.goals.size() > 1 ? "s" : "",
                                fmt::join(r.goals, " and "));
  std::vector<std::string> order;
  for (const auto& k : r.knobs) {
    order.push_back(fmt::format("{} ({}..{})", k.key, knob_value_text(k, k.lower), knob_value_text(k, k.upper)));
  }
  out += fmt::format("knobs, least aggressive first:\n  lowest {}\n\n", fmt::join(order, ", then "));
  const TuneRun& now = r.runs.at(r.as_is);
  const std::vector<std::string> names = shown_measures(r);
  if (!r.feasible) {
    out += r.infeasible_reason + "\n";
    // The most aggressive point is the first design run.
    const auto most = std::find_if(r.runs.begin(), r.runs.end(), [](const TuneRun& t) { return t.phase == "design"; });
    out += fmt::format("\n{:<22}{:>20}{:>20}\n", "measure", "now", "at upper bounds");
    for (const auto& m : names) {
      out += fmt::format("{:<22}{:>20}{:>20}\n", m, number_text(now.run.measures.at(m)),
                         number_text(most->run.measures.at(m)));
    }
    out += fmt::format("{:<22}{:>20}{:>20}\n", "limited by", limited_text(now.run), limited_text(most->run));
    out += fmt::format("\n{} simulations\n", r.runs.size());
    return out;
  }
  const TuneRun& best = r.runs.at(r.recommendation);
  out += fmt::format("recommendation: {}\n", flags_text(r.knobs, best.knobs));
  if (std::all_of(r.now.begin(), r.now.end(), [](const auto& v) { return v.has_value(); })) {
    std::vector<double> now_values;
    for (const auto& v : r.now) now_values.push_back(*v);
    out += fmt::format("now:            {}\n", flags_text(r.knobs, now_values));
  }
  if (r.budget_exhausted) {
    out += fmt::format("(stopped at the limit of {} simulations: this setting meets the goals, a lower one may too)\n",
                       r.runs.size());
  }
  out += fmt::format("\n{:<22}{:>20}{:>20}{:>10}\n", "measure", "now", "recommended", "fit");
  for (const auto& m : names) {
    const auto p = best.predicted.find(m);
    out += fmt::format("{:<22}{:>20}{:>20}{:>10}\n", m, number_text(now.run.measures.at(m)),
                       number_text(best.run.measures.at(m)),
                       p == best.predicted.end() ? std::string("-") : number_text(p->second));
  }
  out += fmt::format("{:<22}{:>20}{:>20}\n", "limited by", limited_text(now.run), limited_text(best.run));
  if (r.prediction_in_sample) out += "(the design's runs confirmed it before any fit: the fit shown saw that run)\n";
  std::vector<std::string> r2;
  for (const auto& [m, v] : r.r_squared) r2.push_back(fmt::format("{} {:.3f}", m, v));
  out += fmt::format("\n{} simulations · fit R² {}\nworst relative error on the runs that checked its proposals: {:.1f}%{}\n",
                     r.runs.size(), fmt::join(r2, ", "), 100 * r.worst_relative_error,
                     r.worst_measure.empty() ? "" : " (" + r.worst_measure + ")");
  return out;
}

std::string tune_json(const TuneResult& r) {
  nlohmann::ordered_json j;
  j["epsim_version"] = kVersion;
  j["scenario"] = r.scenario_name;
  j["goals"] = r.goals;
  nlohmann::ordered_json knobs = nlohmann::ordered_json::array();
  for (std::size_t k = 0; k < r.knobs.size(); ++k) {
    nlohmann::ordered_json kj{{"key", r.knobs[k].key},         {"flag", r.knobs[k].is_flag},
                              {"lower", r.knobs[k].lower},     {"upper", r.knobs[k].upper},
                              {"integer", r.knobs[k].integer}, {"now", nullptr}};
    if (r.now[k]) kj["now"] = *r.now[k];
    knobs.push_back(kj);
  }
  j["knobs"] = knobs;
  j["feasible"] = r.feasible;
  const std::vector<std::string> names = shown_measures(r);
  if (r.feasible) {
    const TuneRun& best = r.runs.at(r.recommendation);
    j["recommendation"] = {{"flags", flags_text(r.knobs, best.knobs)},
                           {"values", values_json(r, best.knobs)},
                           {"measures", measures_json(best.run.measures, names)},
                           {"predicted", measures_json(best.predicted, names)},
                           {"predicted_in_sample", r.prediction_in_sample},
                           {"limited_by", best.run.limited_by},
                           {"digest", best.run.digest}};
  } else {
    j["infeasible_reason"] = r.infeasible_reason;
  }
  const TuneRun& now = r.runs.at(r.as_is);
  j["as_is"] = {{"measures", measures_json(now.run.measures, names)}, {"limited_by", now.run.limited_by}};
  j["simulations"] = r.runs.size();
  j["budget_exhausted"] = r.budget_exhausted;
  j["fit"] = {{"r_squared", r.r_squared},
              {"worst_relative_error", r.worst_relative_error},
              {"worst_measure", r.worst_measure}};
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  for (const auto& t : r.runs) {
    nlohmann::ordered_json rj{{"phase", t.phase}};
    rj["values"] = t.knobs.empty() ? nlohmann::ordered_json(nullptr) : values_json(r, t.knobs);
    rj["meets"] = t.meets;
    rj["limited_by"] = t.run.limited_by;
    rj["measures"] = measures_json(t.run.measures, names);
    rj["predicted"] = measures_json(t.predicted, names);
    runs.push_back(rj);
  }
  j["runs"] = runs;
  return j.dump(2) + "\n";
}

}  // namespace epsim::app
