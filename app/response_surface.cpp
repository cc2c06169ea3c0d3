#include "app/response_surface.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <stdexcept>

#include "app/least_squares.h"

namespace epsim::app {

namespace {

constexpr const char* kStorm = "storm_s";
const char* const kStages[] = {"apiserver", "client_bucket", "endpoints_workers", "other"};

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

KnobRole knob_role(const std::string& key) {
  if (key == "kube-api-qps" || ends_with(key, "controllerManager.kubeAPIQPS")) return KnobRole::qps;
  if (key == "kube-api-burst" || ends_with(key, "controllerManager.kubeAPIBurst")) return KnobRole::burst;
  if (key == "concurrent-endpoint-syncs" || ends_with(key, "controllerManager.concurrentEndpointSyncs")) {
    return KnobRole::workers;
  }
  if (key.find("apiServer.") != std::string::npos) return KnobRole::apiserver;
  return KnobRole::other;
}

ResponseSurface::ResponseSurface(std::vector<KnobRole> roles, std::vector<std::string> measures)
    : roles_(std::move(roles)), measures_(std::move(measures)) {
  measures_.erase(std::remove(measures_.begin(), measures_.end(), kStorm), measures_.end());
}

std::vector<std::string> ResponseSurface::feature_names(const std::string& regime) const {
  std::vector<std::string> names;
  const auto has = [&](KnobRole r) { return std::find(roles_.begin(), roles_.end(), r) != roles_.end(); };
  for (std::size_t k = 0; k < roles_.size(); ++k) {
    const std::string x = fmt::format("x{}", k);
    switch (roles_[k]) {
      case KnobRole::qps:
        if (regime == "client_bucket") names.push_back(fmt::format("1/{}", x));
        break;
      case KnobRole::burst:
        // (W - burst)/qps: with qps a knob the burst term is burst/qps; with
        // qps fixed it is linear in burst, beside a constant.
        if (regime == "client_bucket") names.push_back(has(KnobRole::qps) ? "burst/qps" : x);
        break;
      case KnobRole::workers:
        if (regime == "endpoints_workers") names.push_back(fmt::format("1/{}", x));
        break;
      case KnobRole::apiserver:
        if (regime == "apiserver") names.push_back(fmt::format("1/{}", x));
        break;
      case KnobRole::other:
        names.push_back(fmt::format("1/{}", x));
        break;
    }
  }
  // A stage no knob relieves is a constant; so is W/qps when only the burst
  // of the bucket moves.
  if (names.empty() || (regime == "client_bucket" && has(KnobRole::burst) && !has(KnobRole::qps))) {
    names.insert(names.begin(), "1");
  }
  return names;
}

std::vector<double> ResponseSurface::features(const std::string& regime, const std::vector<double>& knobs) const {
  assert(knobs.size() == roles_.size());
  std::vector<double> row;
  const auto names = feature_names(regime);
  double qps = 0;
  for (std::size_t k = 0; k < roles_.size(); ++k) {
    if (roles_[k] == KnobRole::qps) qps = knobs[k];
  }
  for (const auto& name : names) {
    if (name == "1") {
      row.push_back(1.0);
    } else if (name == "burst/qps") {
      for (std::size_t k = 0; k < roles_.size(); ++k) {
        if (roles_[k] == KnobRole::burst) row.push_back(knobs[k] / qps);
      }
    } else if (name.rfind("1/x", 0) == 0) {
      row.push_back(1.0 / knobs[std::stoul(name.substr(3))]);
    } else {
      row.push_back(knobs[std::stoul(name.substr(1))]);
    }
  }
  return row;
}

void ResponseSurface::fit(const std::vector<SurfaceSample>& samples) {
  if (samples.empty()) throw std::invalid_argument("ResponseSurface::fit: no samples");
  storm_models_.clear();
  measure_models_.clear();
  for (const char* stage : kStages) {
    std::vector<std::vector<double>> rows;
    std::vector<double> values;
    for (const auto& s : samples) {
      if (s.regime != stage) continue;
      rows.push_back(features(stage, s.knobs));
      values.push_back(s.measures.at(kStorm));
    }
    if (!rows.empty()) storm_models_[stage] = fit_linear(rows, values).coefficients;
  }
  for (const auto& m : measures_) {
    std::vector<std::vector<double>> rows;
    std::vector<double> values;
    for (const auto& s : samples) {
      rows.push_back({1.0, s.measures.at(kStorm)});
      values.push_back(s.measures.at(m));
    }
    const auto c = fit_linear(rows, values).coefficients;
    measure_models_[m] = {c[0], c[1]};
  }
}

double ResponseSurface::predict_storm(const std::vector<double>& knobs) const {
  double storm = 0;
  for (const auto& [stage, coefficients] : storm_models_) {
    const auto row = features(stage, knobs);
    double v = 0;
    for (std::size_t i = 0; i < row.size(); ++i) v += row[i] * coefficients[i];
    storm = std::max(storm, v);
  }
  return storm;
}

std::map<std::string, double> ResponseSurface::predict(const std::vector<double>& knobs) const {
  std::map<std::string, double> out;
  const double storm = predict_storm(knobs);
  out[kStorm] = storm;
  for (const auto& [m, cd] : measure_models_) out[m] = std::max(0.0, cd.first + cd.second * storm);
  return out;
}

double ResponseSurface::r_squared(const std::string& measure, const std::vector<SurfaceSample>& samples) const {
  std::vector<double> observed, predicted;
  for (const auto& s : samples) {
    observed.push_back(s.measures.at(measure));
    predicted.push_back(predict(s.knobs).at(measure));
  }
  return app::r_squared(observed, predicted);
}

std::map<std::string, std::vector<std::string>> ResponseSurface::model_features() const {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [stage, coefficients] : storm_models_) out[stage] = feature_names(stage);
  return out;
}

}  // namespace epsim::app
