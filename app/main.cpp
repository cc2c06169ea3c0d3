// The epsim command line (CLI11). Exit codes: 0 success, 2 bad input or
// usage, 3 a --fail-if threshold held (or tune found no setting meeting its
// goals), 1 internal failure (a bug in epsim).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>
#include <tuple>
#include <utility>

#include "app/atomic_files.h"
#include "app/calibrate.h"
#include "app/canonical_scenario.h"
#include "app/chart_range.h"
#include "app/cli_options.h"
#include "app/explain.h"
#include "app/html_report.h"
#include "app/ingress_request_series.h"
#include "app/input_error.h"
#include "app/kubectl_import.h"
#include "app/measures.h"
#include "app/openmetrics_text.h"
#include "app/pipeline.h"
#include "app/progress_bar.h"
#include "app/prometheus_text.h"
#include "app/report.h"
#include "app/scenario.h"
#include "app/svg_charts.h"
#include "app/sweep.h"
#include "app/sweep_output.h"
#include "app/sweep_shards.h"
#include "app/threshold.h"
#include "app/timeseries_csv.h"
#include "app/topology.h"
#include "app/trace_events.h"
#include "app/tune.h"
#include "app/yaml_input.h"
#include "app/version.h"

namespace {

using epsim::app::InputError;
namespace app = epsim::app;

using app::ScenarioOptions;

app::Scenario load(const ScenarioOptions& o) { return app::load_with_options(o); }

void run_with_progress(app::Pipeline& pipeline, const std::string& label) {
  app::ProgressBar bar(label, app::ProgressBar::mode_for_stderr());
  pipeline.run([&bar](double done) { bar.update(done); });
}

struct RunOptions {
  ScenarioOptions scenario;
  std::string format = "text";
  std::optional<std::string> out_dir;
  bool force = false;  // --force: write into a non-empty --out that holds no epsim output
  bool print_scenario = false;
  std::vector<std::string> fail_if;
  std::size_t window_limit = 10;  // --limit: longest windows in the text report, 0 = all
  std::optional<std::string> from, to;  // --from/--to: the charts' stretch of virtual time
  // metrics.om (docs/grafana.md)
  std::string scrape_interval = "15s";
  std::string epoch;  // empty: kDefaultEpochSeconds
  std::string metrics_services = "failing";
};

// "9.6 kB", "3.5 MB": a file's size as ls -h --si would put it.
std::string size_text(std::size_t bytes) {
  if (bytes < 1000) return fmt::format("{} B", bytes);
  if (bytes < 1'000'000) return fmt::format("{:.1f} kB", static_cast<double>(bytes) / 1e3);
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

// --scrape-interval: a Go duration, as Prometheus' scrape_interval.
epsim::sim::Duration scrape_interval(const std::string& text) {
  try {
    const auto d = epsim::sim::parse_duration(text);
    if (!(d > epsim::sim::Duration::zero())) throw InputError("--scrape-interval " + text + ": must be > 0");
    return d;
  } catch (const epsim::sim::DurationParseError& e) {
    throw InputError(std::string("--scrape-interval: ") + e.what());
  }
}

// metrics.om of a finished run; refused (exit 2) when it would be too large.
std::string metrics_om(const app::Pipeline& pipeline, const RunOptions& options) {
  const std::int64_t epoch = options.epoch.empty() ? app::kDefaultEpochSeconds : app::parse_epoch(options.epoch);
  std::vector<app::ComputedFamily> computed;
  computed.push_back(
      app::ingress_request_family(pipeline, app::parse_metrics_services(options.metrics_services)));
  const std::uint64_t samples = app::openmetrics_samples(*pipeline.scrapes(), computed);
  if (samples > app::kMaxOpenMetricsSamples) {
    throw InputError(fmt::format("metrics.om would hold {} samples (at most {}): use a longer --scrape-interval or "
                                 "--metrics-services failing",
                                 samples, app::kMaxOpenMetricsSamples));
  }
  return app::openmetrics_text(*pipeline.scrapes(), computed, epoch);
}

// An option given once per value (--goal A --goal B), each value whole even
// when it holds spaces or commas.
CLI::Option* add_repeatable_option(CLI::App* cmd, const std::string& name, std::vector<std::string>& values,
                                   const std::string& help) {
  return cmd->add_option(name, values, help)
      ->type_size(1)
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

// --jobs of sweep, tune and calibrate: 0 (not given) means every core.
void add_jobs_option(CLI::App* cmd, int& jobs) {
  cmd->add_option("--jobs", jobs, "Threads (default: every core); the output is the same for any N")
      ->check(CLI::Range(1, 1024));
}

CLI::Option* add_fail_if_option(CLI::App* cmd, std::vector<std::string>& fail_if) {
  return add_repeatable_option(cmd, "--fail-if", fail_if,
                               "Exit with code 3 when this holds, e.g. 'storm_s > 120' or 'requests_504 > 0' "
                               "(repeatable; measures and syntax in docs/sweep.md)");
}

std::vector<app::Threshold> parse_thresholds(const std::vector<std::string>& texts) {
  std::vector<app::Threshold> out;
  for (const auto& t : texts) out.push_back(app::Threshold::parse(t, app::measure_names()));
  return out;
}

int run_command(const RunOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  const std::vector<app::Threshold> thresholds = parse_thresholds(options.fail_if);
  // A bad --out fails before the run, not after it.
  if (options.out_dir) app::check_output_dir_is_ours(*options.out_dir, options.force);
  const app::Scenario scenario = load(options.scenario);
  if (options.print_scenario) {
    std::cout << app::canonical_scenario_yaml(scenario);
    return app::kExitOk;
  }
  const app::ChartRange chart_range = app::chart_range(options.from, options.to, scenario.duration);
  app::Pipeline pipeline(scenario);
  if (options.out_dir) {
    // Checked before the run: a bad flag costs no simulation.
    if (!options.epoch.empty()) (void)app::parse_epoch(options.epoch);
    (void)app::parse_metrics_services(options.metrics_services);
    pipeline.record_scrapes(scrape_interval(options.scrape_interval));
  }
  run_with_progress(pipeline, scenario.name);
  auto report = app::build_report(pipeline);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  auto json_text = [&] {
    auto with_wall = report;
    with_wall["wall_s"] = wall_s;
    return with_wall.dump(2) + "\n";
  };
  if (options.out_dir) {
    // All the files or none (temp + rename), before anything reaches stdout.
    const std::vector<app::OutputFile> files = {
        {"report.json", json_text()},
        {"timeseries.csv", app::timeseries_csv(pipeline.time_series())},
        {"metrics.prom", app::prometheus_text(pipeline.metrics())},
        {"metrics.om", metrics_om(pipeline, options)},
        {"trace.json", app::trace_events_json(pipeline.spans(), report)},
        {"charts.svg", app::svg_charts(pipeline.time_series(), report, chart_range)},
        {"report.html", app::html_report(pipeline, report, chart_range)}};
    app::write_files_atomically(*options.out_dir, files);
    // What it wrote goes to stderr: stdout stays the report (--format json | jq).
    std::string wrote = fmt::format("epsim: wrote {} files to {}\n", files.size(), *options.out_dir);
    for (const auto& f : files) wrote += fmt::format("  {:<16} {:>9}\n", f.name, size_text(f.content.size()));
    std::cerr << wrote;
  }
  std::cout << (options.format == "json" ? json_text() : app::format_text_report(report, options.window_limit));
  if (!thresholds.empty()) {
    const auto measures = app::measures_of(report);
    int held = 0;
    for (const auto& t : thresholds) {
      if (!t.holds(measures)) continue;
      std::cout.flush();
      std::cerr << "epsim: --fail-if " << t.explain(measures) << "\n";
      ++held;
    }
    if (held > 0) return app::kExitThreshold;
  }
  return app::kExitOk;
}

struct SweepOptions {
  ScenarioOptions scenario;
  std::vector<std::string> vary;
  int seeds = 1;
  int jobs = 0;  // 0: every core
  std::string format = "text";
  std::optional<std::string> out_dir;
  bool force = false;
  std::vector<std::string> fail_if;
  std::optional<std::string> shard;
  std::size_t shard_count = 0;
  std::optional<std::string> emit;
  std::size_t emit_shards = 0;
  std::string image;
  std::string volume;
  // merge
  std::vector<std::string> merge_paths;
};

int default_jobs() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

// Prints (and with --out writes) a whole sweep; code 3 when a point fails --fail-if.
int finish_sweep(const app::SweepResult& result, const SweepOptions& options) {
  if (options.out_dir) {
    app::write_files_atomically(*options.out_dir, {{"sweep.csv", app::sweep_csv(result)},
                                                   {"sweep.json", app::sweep_json(result)},
                                                   {"sweep.svg", app::sweep_svg(result)}});
  }
  std::cout << (options.format == "json" ? app::sweep_json(result)
                : options.format == "csv" ? app::sweep_csv(result)
                                          : app::sweep_text(result));
  const auto failing = app::failing_points(result);
  if (failing.empty()) return app::kExitOk;
  std::cout.flush();
  std::cerr << fmt::format("epsim: {} of {} sweep points fail --fail-if\n", failing.size(),
                           app::point_count(result.axes));
  return app::kExitThreshold;
}

int sweep_command(const SweepOptions& options, const std::vector<std::string>& fixed) {
  app::SweepSpec spec;
  spec.base = options.scenario;
  spec.fixed = fixed;
  spec.seeds = options.seeds;
  for (const auto& v : options.vary) spec.axes.push_back(app::parse_vary(v));
  for (const auto& axis : spec.axes) {
    for (const auto& f : fixed) {
      if (axis.is_flag && f.rfind("--" + axis.key + "=", 0) == 0) {
        throw InputError(fmt::format("--{} is both fixed ({}) and varied (--vary {}=...): give it once", axis.key, f,
                                     axis.key));
      }
    }
  }
  const std::vector<app::Threshold> thresholds = parse_thresholds(options.fail_if);
  if (options.jobs < 0) throw InputError("--jobs must be at least 1");
  if (options.emit) {
    if (!options.out_dir) throw InputError("--emit: give --out DIR, the directory (shared by the tasks) for the shards");
    if (*options.emit == "k8s-job" && (options.image.empty() || options.volume.empty())) {
      throw InputError("--emit k8s-job needs --image IMAGE (with epsim in it) and --volume CLAIM (a "
                       "PersistentVolumeClaim for the shards)");
    }
    const app::Sweep sweep(spec);  // checks the grid before anything is emitted
    app::EmitOptions e;
    e.kind = *options.emit;
    e.shards = options.emit_shards > 0 ? options.emit_shards : sweep.points();
    if (e.shards > sweep.points()) {
      throw InputError(fmt::format("--shards {}: the sweep has only {} points", e.shards, sweep.points()));
    }
    std::error_code ec;
    e.epsim = e.kind == "slurm" ? std::filesystem::read_symlink("/proc/self/exe", ec).string() : "epsim";
    if (e.epsim.empty()) e.epsim = "epsim";
    e.out_dir = e.kind == "slurm" ? std::filesystem::absolute(*options.out_dir).string() : *options.out_dir;
    if (!options.scenario.path.empty()) {
      e.sweep_args.push_back(e.kind == "slurm" ? std::filesystem::absolute(options.scenario.path).string()
                                               : options.scenario.path);
    }
    for (const auto& f : fixed) e.sweep_args.push_back(f);
    for (const auto& v : options.vary) e.sweep_args.push_back("--vary=" + v);
    if (options.seeds > 1) e.sweep_args.push_back("--seeds=" + std::to_string(options.seeds));
    e.image = options.image;
    e.volume = options.volume;
    std::cout << app::emit_job(e);
    return app::kExitOk;
  }
  if (options.shard && !options.out_dir) {
    throw InputError("--shard: give --out DIR, where the shard file goes (epsim sweep merge DIR reads them)");
  }
  if (options.out_dir) app::check_output_dir_is_ours(*options.out_dir, options.force);
  const app::Sweep sweep(spec);
  std::vector<std::size_t> indices;
  std::optional<app::ShardSpec> shard;
  if (options.shard) {
    shard = app::parse_shard(*options.shard, options.shard_count);
    indices = app::shard_runs(*shard, sweep.points(), sweep.seeds());
  } else {
    for (std::size_t i = 0; i < sweep.runs(); ++i) indices.push_back(i);
  }
  app::ProgressBar bar(fmt::format("sweep, {} runs", indices.size()), app::ProgressBar::mode_for_stderr());
  const double total = static_cast<double>(std::max<std::size_t>(indices.size(), 1));
  auto runs = sweep.run(indices, options.jobs > 0 ? options.jobs : default_jobs(),
                        [&bar, total](std::size_t done) { bar.update(static_cast<double>(done) / total); });
  if (shard) {
    app::write_files_atomically(*options.out_dir,
                                {{app::shard_file_name(*shard), app::shard_json(sweep.identity(), *shard, runs)}});
    std::cout << fmt::format("shard {} of {}: {} runs written to {}\n", shard->index, shard->count, runs.size(),
                             (std::filesystem::path(*options.out_dir) / app::shard_file_name(*shard)).string());
    return app::kExitOk;
  }
  app::SweepResult result;
  result.identity = sweep.identity();
  result.axes = sweep.axes();
  result.seeds = sweep.seeds();
  result.runs = std::move(runs);
  result.fail_if = thresholds;
  return finish_sweep(result, options);
}

int sweep_merge_command(const SweepOptions& options) {
  const std::vector<app::Threshold> thresholds = parse_thresholds(options.fail_if);
  if (options.out_dir) app::check_output_dir_is_ours(*options.out_dir, options.force);
  app::SweepResult result = app::merge_shards(options.merge_paths);
  result.fail_if = thresholds;
  return finish_sweep(result, options);
}

// The fixed flags of a sweep as text ("--kube-api-qps=50", "--set=PATH=V"),
// in --help order: part of its identity and of the jobs --emit prints.
std::vector<std::string> given_flags(const CLI::App* cmd) {
  std::vector<std::string> out;
  for (const std::string& name : app::override_flag_names()) {
    const CLI::Option* o = cmd->get_option("--" + name);
    for (const auto& v : o->results()) out.push_back("--" + name + "=" + v);
  }
  for (const auto& v : cmd->get_option("--set")->results()) out.push_back("--set=" + v);
  return out;
}

struct TuneOptions {
  ScenarioOptions scenario;
  std::vector<std::string> goals;
  std::vector<std::string> knobs;
  int jobs = 0;
  int max_simulations = 60;
  std::string format = "text";
};

// Exit 3 when no setting of the knobs meets the goals.
int tune_command(const TuneOptions& options, const std::vector<std::string>& fixed) {
  app::TuneSpec spec;
  spec.base = options.scenario;
  for (const auto& g : options.goals) spec.goals.push_back(app::Threshold::parse(g, app::measure_names(), "--goal"));
  if (options.knobs.empty()) {
    spec.knobs = app::default_knobs();
  } else {
    for (const auto& k : options.knobs) spec.knobs.push_back(app::parse_knob(k));
  }
  for (const auto& knob : spec.knobs) {
    for (const auto& other : spec.knobs) {
      if (&other != &knob && other.key == knob.key) throw InputError(fmt::format("--knob {} is given twice", knob.key));
    }
    for (const auto& f : fixed) {
      if ((knob.is_flag && f.rfind("--" + knob.key + "=", 0) == 0) || f.rfind("--set=" + knob.key + "=", 0) == 0) {
        throw InputError(fmt::format("{} is both fixed ({}) and a knob: give it once", knob.key, f));
      }
    }
  }
  if (options.max_simulations < static_cast<int>(spec.knobs.size()) + 3) {
    throw InputError(fmt::format("--max-simulations {}: the first design alone takes {} runs", options.max_simulations,
                                 spec.knobs.size() + 3));
  }
  spec.jobs = options.jobs > 0 ? options.jobs : default_jobs();
  spec.max_simulations = options.max_simulations;
  const app::TuneResult result = app::tune(spec);
  std::cout << (options.format == "json" ? app::tune_json(result) : app::tune_text(result));
  return result.feasible ? app::kExitOk : app::kExitThreshold;
}

// The file an option names for writing (--write, -o): its directory and its
// name. A directory is refused: the option wants a file's name.
std::pair<std::filesystem::path, std::filesystem::path> output_file(const std::string& option,
                                                                    const std::string& value, const char* example) {
  const std::filesystem::path target(value);
  const std::filesystem::path name = target.filename();
  std::error_code ec;
  if (name.empty() || name == "." || name == ".." || std::filesystem::is_directory(target, ec)) {
    throw InputError(fmt::format("{} {}: a directory; give the file's name, e.g. {}/{}", option, value,
                                 target.string(), example));
  }
  return {target.has_parent_path() ? target.parent_path() : std::filesystem::path("."), name};
}

struct CalibrateOptions {
  ScenarioOptions scenario;
  std::string observed;
  std::vector<std::string> fit;
  std::optional<std::string> write;
  int jobs = 0;
  std::string format = "text";
};

int calibrate_command(const CalibrateOptions& options) {
  app::CalibrateSpec spec;
  spec.base = options.scenario;
  const std::vector<std::string> keys = options.fit.empty() ? std::vector<std::string>{"apiServer.mutatingThroughput"}
                                                            : options.fit;
  for (const auto& k : keys) spec.parameters.push_back(app::parse_fit_parameter(k));
  spec.jobs = options.jobs > 0 ? options.jobs : default_jobs();
  std::filesystem::path write_dir, write_name;
  if (options.write) std::tie(write_dir, write_name) = output_file("--write", *options.write, "apiserver.yaml");
  // The file writers name the directory as --out's: say --write and the file.
  const auto as_write_error = [&](const InputError& e) {
    const std::string prefix = "--out " + write_dir.string() + ": ";
    std::string what = e.what();
    if (what.rfind(prefix, 0) == 0) what.erase(0, prefix.size());
    return InputError(fmt::format("--write {}: {}", *options.write, what));
  };
  try {
    if (options.write) app::check_output_dir(write_dir.string());  // before the fit, not after
  } catch (const InputError& e) {
    throw as_write_error(e);
  }
  spec.observed = app::load_observations(options.observed);
  const app::CalibrateResult result = app::calibrate(spec);
  try {
    if (options.write) {
      app::write_files_atomically(write_dir.string(), {{write_name.string(), app::calibrated_include_yaml(result)}});
    }
  } catch (const InputError& e) {
    throw as_write_error(e);
  }
  std::cout << (options.format == "json" ? app::calibrate_json(result) : app::calibrate_text(result));
  return app::kExitOk;
}

struct ExplainCommandOptions {
  ScenarioOptions scenario;
  app::ExplainOptions explain;
};

int explain_command(const ExplainCommandOptions& options) {
  const app::Scenario scenario = load(options.scenario);
  app::Pipeline pipeline(scenario);
  run_with_progress(pipeline, scenario.name);
  const auto report = app::build_report(pipeline);
  std::cout << app::explain_windows(pipeline, report, options.explain);
  return app::kExitOk;
}

// Checks every file (the loader's checks plus building the pipeline, which
// resolves deploy targets and the topology) without running anything.
int validate_command(const std::vector<std::string>& paths, const ScenarioOptions& options) {
  int status = app::kExitOk;
  for (const std::string& path : paths) {
    try {
      ScenarioOptions o = options;
      o.path = path;
      const app::Scenario s = load(o);
      const app::Pipeline pipeline(s);
      std::uint64_t services = 0, deploys = 0;
      for (const auto& c : s.clusters) {
        for (const auto& g : c.services) services += g.count;
        deploys += c.deploys.size();
      }
      std::cout << fmt::format("{}: valid: {} ({} clusters, {} services, {} deploy entries, {} of virtual time)\n",
                               path == "-" ? "<stdin>" : path, s.name, s.clusters.size(), services, deploys,
                               epsim::sim::format_duration(s.duration));
    } catch (const InputError& e) {
      std::cerr << "epsim: " << app::visible(e.what()) << "\n";
      status = app::kExitBadInput;
    }
  }
  return status;
}

int topology_command(const ScenarioOptions& options) {
  const app::Scenario scenario = load(options);
  std::cout << app::Topology(scenario).to_dot();
  return app::kExitOk;
}

}  // namespace

// "; did you mean --kube-api-qps?" for an unknown flag or command, from the
// names of the command being parsed (or the commands), as for scenario keys.
std::string did_you_mean(CLI::App& cli, const CLI::ParseError& e) {
  if (dynamic_cast<const CLI::ExtrasError*>(&e) == nullptr) return "";
  const std::string what = e.what();
  const std::size_t colon = what.find(": ");
  if (colon == std::string::npos) return "";
  std::istringstream words(what.substr(colon + 2));
  std::string word;
  words >> word;  // the first unexpected argument
  CLI::App* cmd = &cli;
  for (CLI::App* sub = &cli; sub != nullptr;) {
    const auto parsed = sub->get_subcommands();
    sub = parsed.empty() ? nullptr : parsed.front();
    if (sub != nullptr) cmd = sub;
  }
  std::vector<std::string> names;
  if (word.rfind("--", 0) == 0) {
    for (const CLI::Option* o : cmd->get_options()) {
      for (const std::string& n : o->get_lnames()) names.push_back("--" + n);
    }
  } else if (cmd == &cli) {
    for (const CLI::App* sub : cli.get_subcommands({})) names.push_back(sub->get_name());
  }
  const std::string hint = app::closest_key(word.substr(0, word.find('=')), names);
  return hint.empty() ? "" : "; did you mean " + hint + "?";
}

struct ImportCommandOptions {
  app::ImportOptions import;
  std::optional<std::string> out;  // -o FILE; stdout without it
  bool force = false;
};

int import_command(const ImportCommandOptions& options) {
  std::filesystem::path dir, name;
  if (options.out) {
    std::tie(dir, name) = output_file("-o", *options.out, "my-cluster.yaml");
    std::error_code ec;
    if (std::filesystem::exists(*options.out, ec) && !options.force) {
      throw InputError(fmt::format("-o {}: exists; choose another name or give --force to replace it", *options.out));
    }
    app::check_output_dir(dir.string());  // before reading gigabytes of dumps
  }
  const std::string yaml = app::import_scenario(options.import);
  if (!options.out) {
    std::cout << yaml;
    return app::kExitOk;
  }
  app::write_files_atomically(dir.string(), {{name.string(), yaml}});
  std::cerr << fmt::format("epsim: wrote {}; run it with: epsim run {}\n", *options.out, *options.out);
  return app::kExitOk;
}

int main(int argc, char** argv) {
  CLI::App cli{"epsim: deterministic simulator of Kubernetes endpoint propagation"};
  cli.require_subcommand(0, 1);
  cli.set_version_flag("--version", std::string("epsim ") + app::kVersion);

  RunOptions run_options;
  CLI::App* run = cli.add_subcommand("run", "Run a scenario (the embedded 1.17.3 incident when none is given)");
  add_override_options(run, run_options.scenario);
  run->add_option("--format", run_options.format, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  run->add_option("--out", run_options.out_dir,
                  "Directory for report.json, report.html, timeseries.csv, metrics.prom, metrics.om, trace.json and charts.svg "
                  "(created if missing; written atomically); a non-empty one must hold earlier epsim output");
  run->add_option("--scrape-interval", run_options.scrape_interval,
                  "metrics.om: one sample per series every this much virtual time (default 15s, as Prometheus)")
      ->needs(run->get_option("--out"));
  run->add_option("--epoch", run_options.epoch,
                  "metrics.om: wall-clock time of the run's t=0, UTC 2021-01-01T00:00:00Z (the default) or Unix "
                  "seconds")
      ->needs(run->get_option("--out"));
  run->add_option("--metrics-services", run_options.metrics_services,
                  "metrics.om: Services with series of their own: failing (default), rollouts (failing or rolled "
                  "out) or all; the rest are summed as service=\"(other)\"")
      ->needs(run->get_option("--out"));
  CLI::Option* force =
      run->add_flag("--force", run_options.force, "Write into a non-empty --out directory that holds no epsim output");

  run->add_option("--limit", run_options.window_limit,
                  "Longest failure windows listed in the text report (0: all; default 10)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000000}));
  run->add_option("--from", run_options.from,
                  "Charts (charts.svg, report.html) start at this virtual time since the scenario start, e.g. 16h20m")
      ->needs(run->get_option("--out"));
  run->add_option("--to", run_options.to, "Charts end at this virtual time, e.g. 16h40m")
      ->needs(run->get_option("--out"));
  CLI::Option* fail_if = add_fail_if_option(run, run_options.fail_if);
  run->add_flag("--print-scenario", run_options.print_scenario,
                "Print the resolved scenario (includes, --set and flags applied) as canonical YAML and exit "
                "without running; its sha256 is the report's scenario.sha256")
      ->excludes(run->get_option("--out"))
      ->excludes(force)
      ->excludes(run->get_option("--format"))
      ->excludes(fail_if);

  SweepOptions sweep_options;
  CLI::App* sweep = cli.add_subcommand(
      "sweep", "Run a scenario over a grid of flag and --set values (docs/sweep.md)");
  add_override_options(sweep, sweep_options.scenario);
  add_repeatable_option(sweep, "--vary", sweep_options.vary,
                        "KEY=V1,V2,... or KEY=A..B/STEPS (linear) or KEY=A..B*STEPS (log); KEY is a flag of run "
                        "(kube-api-qps) or a --set path (repeatable; the grid is the product)");
  sweep->add_option("--seeds", sweep_options.seeds,
                    "Seeds per point: the scenario's seed, seed+1, ...; mean, min, max and 95% interval")
      ->check(CLI::Range(1, 1000));
  add_jobs_option(sweep, sweep_options.jobs);
  sweep->add_option("--format", sweep_options.format, "Output format: text, json or csv")
      ->check(CLI::IsMember({"text", "json", "csv"}));
  sweep->add_option("--out", sweep_options.out_dir,
                    "Directory for sweep.csv, sweep.json and sweep.svg (with --shard: the shard file); a "
                    "non-empty one must hold earlier epsim output");
  sweep->add_flag("--force", sweep_options.force, "Write into a non-empty --out directory that holds no epsim output");
  add_fail_if_option(sweep, sweep_options.fail_if);
  sweep->add_option("--shard", sweep_options.shard,
                    "K/N: run only shard K of N (point p is in shard p mod N + 1); auto: from Slurm's "
                    "SLURM_ARRAY_TASK_ID/COUNT or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX");
  sweep->add_option("--shard-count", sweep_options.shard_count,
                    "N for --shard auto in a Kubernetes Indexed Job (or EPSIM_SHARD_COUNT)")
      ->check(CLI::Range(1, 100000));
  sweep->add_option("--emit", sweep_options.emit, "Print a job that runs the shards: slurm or k8s-job")
      ->check(CLI::IsMember({"slurm", "k8s-job"}));
  sweep->add_option("--shards", sweep_options.emit_shards, "With --emit: number of shards (default: one per point)")
      ->check(CLI::Range(1, 100000));
  sweep->add_option("--image", sweep_options.image, "With --emit k8s-job: the container image with epsim");
  sweep->add_option("--volume", sweep_options.volume,
                    "With --emit k8s-job: PersistentVolumeClaim mounted at --out for the shards");
  CLI::App* merge = sweep->add_subcommand("merge", "Merge the shard files of a sweep into its whole output");
  merge->add_option("shards", sweep_options.merge_paths, "Shard files or directories holding them")->required();
  merge->add_option("--format", sweep_options.format, "Output format: text, json or csv")
      ->check(CLI::IsMember({"text", "json", "csv"}));
  merge->add_option("--out", sweep_options.out_dir, "Directory for sweep.csv, sweep.json and sweep.svg");
  merge->add_flag("--force", sweep_options.force, "Write into a non-empty --out directory that holds no epsim output");
  add_fail_if_option(merge, sweep_options.fail_if);

  TuneOptions tune_options;
  CLI::App* tune = cli.add_subcommand(
      "tune", "Find the least aggressive kube-controller-manager setting that meets every --goal (docs/tune.md)");
  add_override_options(tune, tune_options.scenario);
  add_repeatable_option(tune, "--goal", tune_options.goals,
                        "A condition every recommended run must meet, e.g. 'storm_s <= 120' (repeatable; the "
                        "measures and syntax of --fail-if, docs/sweep.md)")
      ->required();
  add_repeatable_option(tune, "--knob", tune_options.knobs,
                        "KEY=LOW..HIGH: a run flag or --set path to search (repeatable; default "
                        "kube-api-qps=5..1000, kube-api-burst=10..300, concurrent-endpoint-syncs=1..100). Least "
                        "aggressive means the lowest first knob, then the lowest second, and so on, in the order "
                        "given");
  add_jobs_option(tune, tune_options.jobs);
  tune->add_option("--max-simulations", tune_options.max_simulations, "Stop after this many runs (default 60)");
  tune->add_option("--format", tune_options.format, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  CalibrateOptions calibrate_options;
  CLI::App* calibrate = cli.add_subcommand(
      "calibrate", "Fit the scenario's API server parameters to what was observed on a cluster (docs/tune.md)");
  add_override_options(calibrate, calibrate_options.scenario);
  calibrate->add_option("--observed", calibrate_options.observed,
                        "YAML file of observations: flags and measured values or a workqueue-depth CSV "
                        "(e.g. scenarios/observed/incident-1.17.3.yaml)")
      ->required();
  add_repeatable_option(calibrate, "--fit", calibrate_options.fit,
                        "API server parameter to fit, apiServer.KEY[=LOW..HIGH] (repeatable; default "
                        "apiServer.mutatingThroughput; also requestLatency.median or requestLatency.p99, and "
                        "watchDelay)");
  calibrate->add_option("--write", calibrate_options.write,
                        "Write the fitted apiServer block as an include file (like "
                        "scenarios/common/apiserver-calibrated.yaml)");
  add_jobs_option(calibrate, calibrate_options.jobs);
  calibrate->add_option("--format", calibrate_options.format, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  ExplainCommandOptions explain_options;
  CLI::App* explain = cli.add_subcommand(
      "explain", "Run a scenario and show, for each 504 window, the stages the dead pod's removal went through");
  add_override_options(explain, explain_options.scenario);
  explain->add_option("--service", explain_options.explain.service,
                      "Only this service's windows (namespace/name, or name)");
  explain->add_option("--cluster", explain_options.explain.cluster,
                      "Only the windows of this business cluster's services (several can share a name)");
  explain->add_option("--limit", explain_options.explain.limit, "Longest windows shown (0: all; default 10)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000000}));
  explain->add_option("--format", explain_options.explain.format,
                      "Output format: text, or json (the windows' chains with their events' times)")
      ->check(CLI::IsMember({"text", "json"}));

  ImportCommandOptions import_options;
  CLI::App* import_cmd = cli.add_subcommand(
      "import", "Write a scenario of your own cluster from kubectl's JSON output (docs/import.md)");
  import_cmd->add_option("files", import_options.import.files,
                         "kubectl get services,endpoints,pods -A -o json; optionally kubectl version -o json, the "
                         "kube-controller-manager Pod, the ingress-nginx Deployment and ConfigMap")
      ->required();
  import_cmd->add_option("-o,--output", import_options.out, "Scenario file to write (default: the standard output)");
  import_cmd->add_flag("--force", import_options.force, "Replace an existing -o file");
  import_cmd->add_flag("--anonymize", import_options.import.anonymize,
                       "Replace namespaces and names by stable hashes (for a bug report)");
  import_cmd->add_flag("--exact", import_options.import.exact, "One service group per Service instead of a few groups");
  import_cmd->add_option("--apiserver", import_options.import.apiserver,
                         "An include with clusterDefaults.apiServer (epsim calibrate --write) instead of the "
                         "shipped calibration");
  import_cmd->add_option("--rps", import_options.import.rps, "Requests per second through ingress-nginx to each Service")
      ->check(CLI::Range(0.0, 1e6));
  import_cmd->add_option("--deploys-per-hour", import_options.import.deploys_per_hour,
                         "Background deploys per hour on random Services")
      ->check(CLI::Range(0.0, 1e6));

  std::vector<std::string> validate_paths;
  ScenarioOptions validate_options;
  CLI::App* validate = cli.add_subcommand("validate", "Check scenario files without running them");
  validate->add_option("scenario", validate_paths, "Scenario YAML files")->required();
  add_set_option(validate, validate_options);

  ScenarioOptions topology_options;
  CLI::App* topology = cli.add_subcommand("topology", "Print the scenario's pipeline topology as Graphviz DOT");
  topology->add_option("scenario", topology_options.path, "Scenario YAML file (default: the embedded incident)");
  add_set_option(topology, topology_options);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "epsim: " << app::visible(e.what()) << did_you_mean(cli, e) << " (see epsim --help)\n";
    return app::kExitBadInput;
  }

  try {
    if (run->parsed()) return run_command(run_options);
    if (merge->parsed()) return sweep_merge_command(sweep_options);
    if (sweep->parsed()) return sweep_command(sweep_options, given_flags(sweep));
    if (tune->parsed()) return tune_command(tune_options, given_flags(tune));
    if (calibrate->parsed()) return calibrate_command(calibrate_options);
    if (explain->parsed()) return explain_command(explain_options);
    if (validate->parsed()) return validate_command(validate_paths, validate_options);
    if (topology->parsed()) return topology_command(topology_options);
    if (import_cmd->parsed()) return import_command(import_options);
    std::cout << cli.help();
    return app::kExitOk;
  } catch (const InputError& e) {
    std::cerr << "epsim: " << app::visible(e.what()) << "\n";
    return app::kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "epsim: internal error: " << app::visible(e.what()) << "\n";
    return app::kExitInternal;
  }
}
