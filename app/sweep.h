// `epsim sweep`: the same scenario run over a grid of flag and --set values
// (the Cartesian product of every --vary), each point optionally replicated
// over several seeds, on threads inside one process. A point is exactly the
// `epsim run` with those flags: the same loader, overrides and report, so its
// digest is the run's digest. docs/sweep.md describes the command.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/cli_options.h"

namespace epsim::app {

// One --vary: KEY=V1,V2,... or KEY=A..B/STEPS (linear, STEPS values from A to
// B) or KEY=A..B*STEPS (logarithmic). KEY is a flag of `epsim run` without its
// dashes (kube-api-qps) or a --set path. Ranges of integers give integers
// (duplicates after rounding dropped); ranges of durations (1h..12h/12) give
// durations.
struct SweepAxis {
  std::string key;
  bool is_flag = false;
  std::vector<std::string> values;
};
SweepAxis parse_vary(const std::string& text);

struct SweepSpec {
  ScenarioOptions base;             // the fixed flags and --set of the command line
  std::vector<std::string> fixed;   // the same as text, for the sweep's identity
  std::vector<SweepAxis> axes;
  int seeds = 1;                    // replicates per point
};

// One point and one seed.
struct SweepRun {
  std::size_t point = 0;
  int replicate = 0;                // 0: the scenario's own seed
  std::uint64_t seed = 0;
  std::string digest;
  std::string limited_by;           // of the longest storm
  std::map<std::string, double> measures;
};

class Sweep {
 public:
  // Resolves every point's scenario (so bad values fail before any run).
  // Throws InputError.
  explicit Sweep(SweepSpec spec);
  ~Sweep();

  std::size_t points() const;
  std::size_t runs() const { return points() * static_cast<std::size_t>(spec_.seeds); }
  int seeds() const { return spec_.seeds; }
  const std::vector<SweepAxis>& axes() const { return spec_.axes; }
  // The point's values, one per axis.
  std::vector<std::string> values(std::size_t point) const;

  // Runs the given run indices (point * seeds + replicate) on `jobs` threads;
  // `on_done` is called (under a lock) after each run with the number done.
  // The result is in the order of `indices`, whatever `jobs` is.
  std::vector<SweepRun> run(const std::vector<std::size_t>& indices, int jobs,
                            const std::function<void(std::size_t done)>& on_done = {}) const;

  // What makes two shards parts of the same sweep: epsim version, the first
  // point's resolved scenario (name and digest), fixed flags, axes and seeds.
  nlohmann::ordered_json identity() const;

 private:
  SweepSpec spec_;
  std::string scenario_name_;
  std::string scenario_sha256_;
  std::vector<std::unique_ptr<Scenario>> scenarios_;  // by run index
};

// One setting of a point: a flag of `epsim run` without its dashes
// (is_flag) or a --set path, and the value as text.
struct PointSetting {
  std::string key;
  bool is_flag = false;
  std::string value;
};

// True when `key` is a flag of `epsim run` (without dashes), not a --set path.
bool is_run_flag(const std::string& key);

// A flag value the run command's parser rejects (the message is CLI11's).
struct PointFlagError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The scenario `epsim run` runs with `base` and these settings: flags go
// through the run command's own option definitions, paths through --set.
// Throws PointFlagError for a rejected flag value, InputError otherwise.
Scenario resolve_point(const ScenarioOptions& base, const ScenarioFiles& files,
                       const std::vector<PointSetting>& settings);

// One run of `scenario` and the measures of its report (point and replicate
// left 0); the whole report too when `report` is given.
SweepRun run_point(const Scenario& scenario, nlohmann::ordered_json* report = nullptr);

// Calls work(i) for every i < count on `jobs` threads (the calling thread is
// one of them); on_done(number done) is called under a lock after each. The
// first failure in index order is rethrown once every thread has stopped.
void for_each_parallel(std::size_t count, int jobs, const std::function<void(std::size_t)>& work,
                       const std::function<void(std::size_t done)>& on_done = {});

// The number of points of a grid, and the values (one per axis) of a point:
// the first axis varies slowest.
std::size_t point_count(const std::vector<SweepAxis>& axes);
std::vector<std::string> point_values(const std::vector<SweepAxis>& axes, std::size_t point);

// The shard (1-based) that runs `point` of a sweep split in `shards`: points
// are dealt round robin, so every shard gets a mix of the grid.
std::size_t shard_of_point(std::size_t point, std::size_t shards);

}  // namespace epsim::app
