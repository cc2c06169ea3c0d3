#include "app/sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

#include "app/canonical_scenario.h"
#include "app/input_error.h"
#include "app/measures.h"
#include "app/number_text.h"
#include "app/pipeline.h"
#include "app/report.h"
#include "app/set_assignment.h"
#include "app/version.h"

namespace epsim::app {

namespace {

// Runs in one sweep (points x seeds): enough for any grid a person reads,
// small enough that resolving every scenario up front stays cheap.
constexpr std::size_t kMaxRuns = 100'000;

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}



// A..B/STEPS or A..B*STEPS.
std::vector<std::string> expand_range(const std::string& text, const std::string& spec) {
  const std::size_t dots = spec.find("..");
  const std::size_t mark = spec.find_first_of("/*", dots + 2);
  if (mark == std::string::npos) {
    throw InputError(fmt::format("--vary {}: a range needs its number of values: A..B/STEPS (linear) or "
                                 "A..B*STEPS (logarithmic), e.g. 10..100/10",
                                 text));
  }
  const bool log_scale = spec[mark] == '*';
  const std::string a_text = spec.substr(0, dots), b_text = spec.substr(dots + 2, mark - dots - 2);
  const std::string steps_text = spec.substr(mark + 1);
  if (!is_whole_number_text(steps_text) || steps_text.size() > 6 || std::stol(steps_text) < 1) {
    throw InputError(fmt::format("--vary {}: the number of values \"{}\" must be a whole number from 1", text,
                                 steps_text));
  }
  const long steps = std::stol(steps_text);
  // An end that is not a number (1e3 is one) must be a duration: 1h, 90s.
  const bool durations = !parse_finite_number(a_text) || !parse_finite_number(b_text);
  double a = 0, b = 0;
  if (durations) {
    try {
      a = static_cast<double>(sim::parse_duration(a_text).ns());
      b = static_cast<double>(sim::parse_duration(b_text).ns());
    } catch (const sim::DurationParseError& e) {
      throw InputError(fmt::format("--vary {}: {}", text, e.what()));
    }
  } else {
    const auto av = parse_finite_number(a_text), bv = parse_finite_number(b_text);
    if (!av || !bv) {
      throw InputError(fmt::format("--vary {}: the ends of a range must be numbers or durations (got \"{}\" and "
                                   "\"{}\")",
                                   text, a_text, b_text));
    }
    a = *av;
    b = *bv;
  }
  if (steps == 1 && a != b) {
    throw InputError(fmt::format("--vary {}: one value cannot span {}..{}; use at least 2", text, a_text, b_text));
  }
  if (log_scale && !(a > 0 && b > 0)) {
    throw InputError(fmt::format("--vary {}: a logarithmic range needs ends above 0", text));
  }
  const bool integers = durations || (is_whole_number_text(a_text) && is_whole_number_text(b_text));
  std::vector<std::string> values;
  for (long i = 0; i < steps; ++i) {
    const double f = steps == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(steps - 1);
    double v = log_scale ? a * std::pow(b / a, f) : a + (b - a) * f;
    if (i == steps - 1) v = b;  // exact end, whatever the rounding
    std::string shown;
    if (durations) {
      shown = sim::format_duration(sim::Duration::nanoseconds(std::llround(v)));
    } else if (integers) {
      shown = fmt::format("{}", std::llround(v));
    } else {
      shown = fmt::format("{:.6g}", v);
    }
    if (values.empty() || values.back() != shown) values.push_back(shown);
  }
  return values;
}

}  // namespace

SweepAxis parse_vary(const std::string& text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw InputError(fmt::format("--vary {}: expected KEY=VALUES, e.g. --vary kube-api-qps=10,20,50 or "
                                 "--vary kube-api-qps=10..100/10",
                                 text));
  }
  SweepAxis axis;
  axis.key = text.substr(0, eq);
  if (axis.key.rfind("--", 0) == 0) axis.key.erase(0, 2);
  axis.is_flag = is_run_flag(axis.key);
  const std::string spec = text.substr(eq + 1);
  if (spec.find("..") != std::string::npos && spec.find(',') == std::string::npos) {
    axis.values = expand_range(text, spec);
  } else {
    axis.values = split(spec, ',');
    for (const auto& v : axis.values) {
      if (v.empty()) throw InputError(fmt::format("--vary {}: an empty value in the list", text));
    }
  }
  if (!axis.is_flag) {
    // A --set path: every value must make a valid assignment. A key that is
    // neither a flag nor a path is most likely a mistyped flag: say both.
    for (const auto& v : axis.values) {
      try {
        parse_set_assignment(axis.key + "=" + v);
      } catch (const InputError&) {
        if (axis.key.find_first_of(".[") != std::string::npos) throw;
        std::string known;
        for (const auto& f : override_flag_names()) known += (known.empty() ? "" : ", ") + f;
        throw InputError(fmt::format("--vary {}: \"{}\" is neither a flag of epsim run ({}) nor a scenario key "
                                     "(docs/scenario.md)",
                                     text, axis.key, known));
      }
    }
  }
  return axis;
}

std::size_t shard_of_point(std::size_t point, std::size_t shards) { return point % shards + 1; }

Sweep::Sweep(SweepSpec spec) : spec_(std::move(spec)) {
  if (spec_.seeds < 1) throw InputError("--seeds must be at least 1");
  std::size_t total = static_cast<std::size_t>(spec_.seeds);
  for (const auto& axis : spec_.axes) {
    for (const auto& other : spec_.axes) {
      if (&other != &axis && other.key == axis.key) throw InputError(fmt::format("--vary {} is given twice", axis.key));
    }
    if (axis.key == "seed" && spec_.seeds > 1) {
      throw InputError("--vary seed and --seeds both choose seeds: use one of them");
    }
    total *= axis.values.size();
    if (total > kMaxRuns) {
      throw InputError(fmt::format("the sweep has more than {} runs (points x seeds); split it into several sweeps",
                                   kMaxRuns));
    }
  }
  const ScenarioFiles files(spec_.base.path, spec_.base.include_dirs);
  scenarios_.reserve(runs());
  for (std::size_t point = 0; point < points(); ++point) {
    const std::vector<std::string> vals = values(point);
    std::vector<PointSetting> settings;
    for (std::size_t a = 0; a < spec_.axes.size(); ++a) {
      settings.push_back({spec_.axes[a].key, spec_.axes[a].is_flag, vals[a]});
    }
    Scenario first;
    try {
      first = resolve_point(spec_.base, files, settings);
    } catch (const PointFlagError& e) {
      std::string shown;
      for (const auto& setting : settings) {
        shown += fmt::format("{}{}={}", shown.empty() ? "" : " ", setting.key, setting.value);
      }
      throw InputError(fmt::format("sweep point {} ({}): {}", point + 1, shown, e.what()));
    }
    if (point == 0) {
      // With the axes, the first point's resolved scenario identifies them all.
      scenario_name_ = first.name;
      scenario_sha256_ = scenario_digest(first);
    }
    for (int r = 0; r < spec_.seeds; ++r) {
      auto s = std::make_unique<Scenario>(first);
      // Replicate k runs seed + k: the first is exactly `epsim run`.
      s->seed = first.seed + static_cast<std::uint64_t>(r);
      scenarios_.push_back(std::move(s));
    }
  }
}

bool is_run_flag(const std::string& key) {
  const auto& flags = override_flag_names();
  return std::find(flags.begin(), flags.end(), key) != flags.end();
}

Scenario resolve_point(const ScenarioOptions& base, const ScenarioFiles& files,
                       const std::vector<PointSetting>& settings) {
  ScenarioOptions options = base;
  std::vector<std::string> args;
  for (const auto& setting : settings) {
    if (setting.is_flag) {
      args.push_back("--" + setting.key);
      args.push_back(setting.value);
    } else {
      options.sets.push_back(setting.key + "=" + setting.value);
    }
  }
  if (!args.empty()) {
    // The run command's own option definitions parse the varied flags, so
    // their checks and conversions are the same as for `epsim run`.
    CLI::App parser;
    ScenarioOptions parsed = options;
    add_override_options(&parser, parsed);
    std::reverse(args.begin(), args.end());  // CLI11 takes argv reversed
    try {
      parser.parse(args);
    } catch (const CLI::ParseError& e) {
      throw PointFlagError(e.what());
    }
    parsed.sets = options.sets;  // the parser reset the list to what it saw (none)
    parsed.path = options.path;
    options = parsed;
  }
  return load_with_options(options, files);
}

SweepRun run_point(const Scenario& scenario, nlohmann::ordered_json* report_out) {
  Pipeline pipeline(scenario);
  pipeline.run();
  const auto report = build_report(pipeline);
  SweepRun r;
  r.seed = scenario.seed;
  r.digest = report["digest"].get<std::string>();
  r.limited_by = storm_limited_by(report);
  r.measures = measures_of(report);
  if (report_out != nullptr) *report_out = report;
  return r;
}

void for_each_parallel(std::size_t count, int jobs, const std::function<void(std::size_t)>& work,
                       const std::function<void(std::size_t)>& on_done) {
  std::vector<std::exception_ptr> errors(count);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex progress_lock;
  std::size_t done = 0;
  auto worker = [&] {
    while (!failed.load()) {
      const std::size_t i = next.fetch_add(1);
      if (i >= count) return;
      try {
        work(i);
      } catch (...) {
        errors[i] = std::current_exception();
        failed.store(true);
      }
      const std::lock_guard<std::mutex> lock(progress_lock);
      ++done;
      if (on_done) on_done(done);
    }
  };
  const int threads = std::max(1, std::min<int>(jobs, static_cast<int>(count)));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  // The first failure in index order, whatever the thread timing.
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

Sweep::~Sweep() = default;

std::size_t Sweep::points() const { return point_count(spec_.axes); }

std::vector<std::string> Sweep::values(std::size_t point) const { return point_values(spec_.axes, point); }

std::size_t point_count(const std::vector<SweepAxis>& axes) {
  std::size_t n = 1;
  for (const auto& axis : axes) n *= axis.values.size();
  return n;
}

std::vector<std::string> point_values(const std::vector<SweepAxis>& axes, std::size_t point) {
  // The first axis varies slowest: the table reads in --vary order.
  std::vector<std::string> out(axes.size());
  for (std::size_t a = axes.size(); a-- > 0;) {
    const auto& vals = axes[a].values;
    out[a] = vals[point % vals.size()];
    point /= vals.size();
  }
  return out;
}

std::vector<SweepRun> Sweep::run(const std::vector<std::size_t>& indices, int jobs,
                                 const std::function<void(std::size_t)>& on_done) const {
  std::vector<SweepRun> results(indices.size());
  for_each_parallel(
      indices.size(), jobs,
      [&](std::size_t i) {
        const std::size_t index = indices[i];
        SweepRun& r = results[i] = run_point(*scenarios_.at(index));
        r.point = index / static_cast<std::size_t>(spec_.seeds);
        r.replicate = static_cast<int>(index % static_cast<std::size_t>(spec_.seeds));
      },
      on_done);
  return results;
}

nlohmann::ordered_json Sweep::identity() const {
  nlohmann::ordered_json id;
  id["epsim_version"] = kVersion;
  id["scenario"] = {{"name", scenario_name_}, {"sha256", scenario_sha256_}};
  id["fixed"] = spec_.fixed;
  nlohmann::ordered_json axes = nlohmann::ordered_json::array();
  for (const auto& a : spec_.axes) axes.push_back({{"key", a.key}, {"values", a.values}});
  id["axes"] = axes;
  id["seeds"] = spec_.seeds;
  return id;
}

}  // namespace epsim::app
