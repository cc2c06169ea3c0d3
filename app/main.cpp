// The epsim command line (CLI11). Exit codes: 0 success, 2 bad input or
// usage, 1 internal failure (a bug in epsim).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <optional>

#include "app/atomic_files.h"
#include "app/input_error.h"
#include "app/pipeline.h"
#include "app/prometheus_text.h"
#include "app/report.h"
#include "app/scenario.h"
#include "app/svg_charts.h"
#include "app/timeseries_csv.h"
#include "app/trace_events.h"
#include "app/version.h"

namespace {

using epsim::app::InputError;

struct RunOptions {
  std::string scenario_path;
  std::string format = "text";
  std::optional<std::string> duration;
  std::optional<std::string> min_resync_period;
  std::optional<std::string> endpoint_updates_batch_period;
  std::optional<std::string> out_dir;
  epsim::app::Overrides overrides;
};

epsim::sim::Duration flag_duration(const std::string& flag, const std::string& value) {
  try {
    return epsim::sim::parse_duration(value);
  } catch (const epsim::sim::DurationParseError& e) {
    throw InputError(flag + ": " + e.what());
  }
}

int run_command(RunOptions options) {
  const auto wall_start = std::chrono::steady_clock::now();
  if (options.duration) {
    options.overrides.duration = flag_duration("--duration", *options.duration);
    if (!(*options.overrides.duration > epsim::sim::Duration::zero())) throw InputError("--duration must be > 0");
  }
  if (options.min_resync_period) {
    options.overrides.min_resync_period = flag_duration("--min-resync-period", *options.min_resync_period);
    if (*options.overrides.min_resync_period < epsim::sim::Duration::seconds(1)) {
      throw InputError("--min-resync-period must be at least 1s");
    }
  }
  if (options.endpoint_updates_batch_period) {
    options.overrides.endpoint_updates_batch_period =
        flag_duration("--endpoint-updates-batch-period", *options.endpoint_updates_batch_period);
    if (options.overrides.endpoint_updates_batch_period->is_negative()) {
      throw InputError("--endpoint-updates-batch-period must not be negative");
    }
  }
  // A bad --out fails before the run, not after it.
  if (options.out_dir) epsim::app::check_output_dir(*options.out_dir);
  epsim::app::Scenario scenario = epsim::app::load_scenario(options.scenario_path);
  epsim::app::apply_overrides(scenario, options.overrides);

  epsim::app::Pipeline pipeline(scenario);
  pipeline.run();
  auto report = epsim::app::build_report(pipeline);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  auto json_text = [&] {
    auto with_wall = report;
    with_wall["wall_s"] = wall_s;
    return with_wall.dump(2) + "\n";
  };
  if (options.out_dir) {
    // All five files or none (temp + rename), before anything reaches stdout.
    epsim::app::write_files_atomically(*options.out_dir,
                                       {{"report.json", json_text()},
                                        {"timeseries.csv", epsim::app::timeseries_csv(pipeline.time_series())},
                                        {"metrics.prom", epsim::app::prometheus_text(pipeline.metrics())},
                                        {"trace.json", epsim::app::trace_events_json(pipeline.spans(), report)},
                                        {"charts.svg", epsim::app::svg_charts(pipeline.time_series(), report)}});
  }
  if (options.format == "json") {
    std::cout << json_text();
  } else {
    std::cout << epsim::app::format_text_report(report);
  }
  return epsim::app::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"epsim: deterministic simulator of Kubernetes endpoint propagation"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("epsim ") + epsim::app::kVersion);

  RunOptions o;
  CLI::App* run = app.add_subcommand("run", "Run a scenario (the embedded 1.17.3 incident when none is given)");
  run->add_option("scenario", o.scenario_path, "Scenario YAML file");
  run->add_option("--seed", o.overrides.seed, "Root seed (overrides the scenario's seed)");
  run->add_option("--duration", o.duration, "Virtual time to simulate, e.g. 24h");
  run->add_option("--format", o.format, "Output format: text or json")->check(CLI::IsMember({"text", "json"}));
  run->add_option("--kubernetes-version", o.overrides.kubernetes_version,
                  "Kubernetes version preset for every business cluster, e.g. 1.17.13");
  run->add_option("--concurrent-endpoint-syncs", o.overrides.concurrent_endpoint_syncs,
                  "kube-controller-manager --concurrent-endpoint-syncs (default 5)")
      ->check(CLI::Range(1, epsim::app::kMaxWorkers));
  run->add_option("--kube-api-qps", o.overrides.kube_api_qps, "kube-controller-manager --kube-api-qps (default 20)")
      ->check(CLI::PositiveNumber);
  run->add_option("--kube-api-burst", o.overrides.kube_api_burst,
                  "kube-controller-manager --kube-api-burst (default 30)")
      ->check(CLI::Range(1, 1'000'000));
  run->add_option("--min-resync-period", o.min_resync_period,
                  "kube-controller-manager --min-resync-period (default 12h)");
  run->add_option("--endpoint-updates-batch-period", o.endpoint_updates_batch_period,
                  "kube-controller-manager --endpoint-updates-batch-period (default 0s)");
  run->add_option("--out", o.out_dir,
                  "Directory for report.json, timeseries.csv, metrics.prom, trace.json and charts.svg "
                  "(created if missing; written atomically)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "epsim: " << e.what() << " (see epsim --help)\n";
    return epsim::app::kExitBadInput;
  }

  try {
    if (run->parsed()) return run_command(o);
    std::cout << app.help();
    return epsim::app::kExitOk;
  } catch (const InputError& e) {
    std::cerr << "epsim: " << e.what() << "\n";
    return epsim::app::kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "epsim: internal error: " << e.what() << "\n";
    return epsim::app::kExitInternal;
  }
}
