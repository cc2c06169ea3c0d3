// The epsim command line (CLI11). Exit codes: 0 success, 2 bad input or
// usage, 1 internal failure (a bug in epsim).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <optional>

#include "app/atomic_files.h"
#include "app/explain.h"
#include "app/input_error.h"
#include "app/pipeline.h"
#include "app/progress_bar.h"
#include "app/prometheus_text.h"
#include "app/report.h"
#include "app/scenario.h"
#include "app/svg_charts.h"
#include "app/timeseries_csv.h"
#include "app/topology.h"
#include "app/trace_events.h"
#include "app/version.h"

namespace {

using epsim::app::InputError;
namespace app = epsim::app;

// What selects and changes a scenario: shared by run and explain (the flag
// overrides), validate and topology (--set only).
struct ScenarioOptions {
  std::string path;
  std::vector<std::string> sets;
  std::optional<std::string> duration;
  std::optional<std::string> min_resync_period;
  std::optional<std::string> endpoint_updates_batch_period;
  app::Overrides overrides;
};

void add_set_option(CLI::App* cmd, ScenarioOptions& o) {
  cmd->add_option("--set", o.sets,
                  "Change one scenario key, e.g. --set clusters[idc].controllerManager.kubeAPIQPS=100 "
                  "(repeatable; see docs/scenario.md)")
      ->type_size(1)
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

void add_override_options(CLI::App* cmd, ScenarioOptions& o) {
  cmd->add_option("scenario", o.path, "Scenario YAML file (default: the embedded 1.17.3 incident)");
  add_set_option(cmd, o);
  cmd->add_option("--seed", o.overrides.seed, "Root seed (overrides the scenario's seed)");
  cmd->add_option("--duration", o.duration, "Virtual time to simulate, e.g. 24h");
  cmd->add_option("--kubernetes-version", o.overrides.kubernetes_version,
                  "Kubernetes version preset for every business cluster, e.g. 1.17.13");
  cmd->add_option("--concurrent-endpoint-syncs", o.overrides.concurrent_endpoint_syncs,
                  "kube-controller-manager --concurrent-endpoint-syncs (default 5)")
      ->check(CLI::Range(1, app::kMaxWorkers));
  cmd->add_option("--kube-api-qps", o.overrides.kube_api_qps, "kube-controller-manager --kube-api-qps (default 20)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--kube-api-burst", o.overrides.kube_api_burst,
                  "kube-controller-manager --kube-api-burst (default 30)")
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--min-resync-period", o.min_resync_period,
                  "kube-controller-manager --min-resync-period (default 12h)");
  cmd->add_option("--endpoint-updates-batch-period", o.endpoint_updates_batch_period,
                  "kube-controller-manager --endpoint-updates-batch-period (default 0s)");
  cmd->add_option("--sync-rate-limit", o.overrides.sync_rate_limit,
                  "ingress-nginx --sync-rate-limit: configuration syncs per second (default 0.3)")
      ->check(CLI::PositiveNumber);
}

epsim::sim::Duration flag_duration(const std::string& flag, const std::string& value) {
  try {
    return epsim::sim::parse_duration(value);
  } catch (const epsim::sim::DurationParseError& e) {
    throw InputError(flag + ": " + e.what());
  }
}

app::Scenario load(ScenarioOptions o) {
  if (o.duration) {
    o.overrides.duration = flag_duration("--duration", *o.duration);
    if (!(*o.overrides.duration > epsim::sim::Duration::zero())) throw InputError("--duration must be > 0");
  }
  if (o.min_resync_period) {
    o.overrides.min_resync_period = flag_duration("--min-resync-period", *o.min_resync_period);
    if (*o.overrides.min_resync_period < epsim::sim::Duration::seconds(1)) {
      throw InputError("--min-resync-period must be at least 1s");
    }
  }
  if (o.endpoint_updates_batch_period) {
    o.overrides.endpoint_updates_batch_period =
        flag_duration("--endpoint-updates-batch-period", *o.endpoint_updates_batch_period);
    if (o.overrides.endpoint_updates_batch_period->is_negative()) {
      throw InputError("--endpoint-updates-batch-period must not be negative");
    }
  }
  app::Scenario scenario = app::load_scenario(o.path, o.sets);
  app::apply_overrides(scenario, o.overrides);
  return scenario;
}

void run_with_progress(app::Pipeline& pipeline, const std::string& label) {
  app::ProgressBar bar(label, app::ProgressBar::stderr_is_terminal());
  pipeline.run([&bar](double done) { bar.update(done); });
}

struct RunOptions {
  ScenarioOptions scenario;
  std::string format = "text";
  std::optional<std::string> out_dir;
};

int run_command(const RunOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  // A bad --out fails before the run, not after it.
  if (options.out_dir) app::check_output_dir(*options.out_dir);
  const app::Scenario scenario = load(options.scenario);
  app::Pipeline pipeline(scenario);
  run_with_progress(pipeline, scenario.name);
  auto report = app::build_report(pipeline);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  auto json_text = [&] {
    auto with_wall = report;
    with_wall["wall_s"] = wall_s;
    return with_wall.dump(2) + "\n";
  };
  if (options.out_dir) {
    // All five files or none (temp + rename), before anything reaches stdout.
    app::write_files_atomically(*options.out_dir,
                                {{"report.json", json_text()},
                                 {"timeseries.csv", app::timeseries_csv(pipeline.time_series())},
                                 {"metrics.prom", app::prometheus_text(pipeline.metrics())},
                                 {"trace.json", app::trace_events_json(pipeline.spans(), report)},
                                 {"charts.svg", app::svg_charts(pipeline.time_series(), report)}});
  }
  std::cout << (options.format == "json" ? json_text() : app::format_text_report(report));
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
int validate_command(const std::vector<std::string>& paths, const std::vector<std::string>& sets) {
  int status = app::kExitOk;
  for (const std::string& path : paths) {
    try {
      ScenarioOptions o;
      o.path = path;
      o.sets = sets;
      const app::Scenario s = load(o);
      const app::Pipeline pipeline(s);
      std::uint64_t services = 0, deploys = 0;
      for (const auto& c : s.clusters) {
        for (const auto& g : c.services) services += g.count;
        deploys += c.deploys.size();
      }
      std::cout << fmt::format("{}: valid: {} ({} clusters, {} services, {} deploy entries, {} of virtual time)\n",
                               path, s.name, s.clusters.size(), services, deploys,
                               epsim::sim::format_duration(s.duration));
    } catch (const InputError& e) {
      std::cerr << "epsim: " << e.what() << "\n";
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
                  "Directory for report.json, timeseries.csv, metrics.prom, trace.json and charts.svg "
                  "(created if missing; written atomically)");

  ExplainCommandOptions explain_options;
  CLI::App* explain = cli.add_subcommand(
      "explain", "Run a scenario and show, for each 504 window, the stages the dead pod's removal went through");
  add_override_options(explain, explain_options.scenario);
  explain->add_option("--service", explain_options.explain.service,
                      "Only this service's windows (namespace/name, or name)");
  explain->add_option("--limit", explain_options.explain.limit, "Longest windows shown (0: all; default 10)");

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
    std::cerr << "epsim: " << e.what() << " (see epsim --help)\n";
    return app::kExitBadInput;
  }

  try {
    if (run->parsed()) return run_command(run_options);
    if (explain->parsed()) return explain_command(explain_options);
    if (validate->parsed()) return validate_command(validate_paths, validate_options.sets);
    if (topology->parsed()) return topology_command(topology_options);
    std::cout << cli.help();
    return app::kExitOk;
  } catch (const InputError& e) {
    std::cerr << "epsim: " << e.what() << "\n";
    return app::kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "epsim: internal error: " << e.what() << "\n";
    return app::kExitInternal;
  }
}
