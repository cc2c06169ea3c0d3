// What a finished sweep prints and writes: text table, JSON, CSV and an SVG
// chart. Everything is computed from the sweep's identity and its runs, so an
// unsharded sweep and the merge of its shards (app/sweep_shards.h) render the
// same bytes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/sweep.h"
#include "app/threshold.h"

namespace epsim::app {

struct SweepResult {
  nlohmann::ordered_json identity;  // Sweep::identity()
  std::vector<SweepAxis> axes;
  int seeds = 1;
  std::vector<SweepRun> runs;       // every run, by run index (point * seeds + replicate)
  std::vector<Threshold> fail_if;
};

// The axes as the identity records them.
std::vector<SweepAxis> axes_of_identity(const nlohmann::ordered_json& identity);

// Statistics of one measure over a point's seeds.
struct MeasureStats {
  double mean = 0, min = 0, max = 0;
  double ci95_low = 0, ci95_high = 0;  // Student's t interval of the mean; = mean with one seed
};
std::map<std::string, MeasureStats> point_stats(const SweepResult& result, std::size_t point);

// Points (0-based) whose mean measures meet any --fail-if, with the reason.
std::vector<std::pair<std::size_t, std::string>> failing_points(const SweepResult& result);

std::string sweep_text(const SweepResult& result);
std::string sweep_json(const SweepResult& result);
std::string sweep_csv(const SweepResult& result);
std::string sweep_svg(const SweepResult& result);

}  // namespace epsim::app
