// The epsim command line (CLI11). Exit codes: 0 success, 2 bad input or
// usage, 1 internal failure (a bug in epsim).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "app/engine_demo.h"
#include "app/input_error.h"
#include "app/sha256.h"
#include "app/version.h"

namespace {

using epsim::app::InputError;

std::string read_scenario_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputError(fmt::format("{}: cannot read scenario file: {}", path, std::strerror(errno)));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

struct RunOptions {
  std::string scenario_path;
  std::optional<std::uint64_t> seed;
  std::string format = "text";
};

int run_command(const RunOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  const bool embedded = options.scenario_path.empty();
  const std::string text = embedded ? std::string(epsim::app::kEmbeddedDefaultScenario)
                                    : read_scenario_file(options.scenario_path);
  const std::string origin = embedded ? std::string("<embedded default>") : options.scenario_path;
  auto scenario = epsim::app::parse_engine_demo(text, origin);
  if (options.seed) scenario.seed = *options.seed;

  std::uint64_t events = 0;
  const auto model = epsim::app::run_engine_demo(scenario, events);

  nlohmann::ordered_json report;
  report["epsim_version"] = epsim::app::kVersion;
  report["scenario"] = {{"name", scenario.name}, {"sha256", epsim::app::sha256_hex(text)}};
  report["seed"] = scenario.seed;
  report["virtual_duration_s"] = scenario.duration.seconds_f();
  report["events_processed"] = events;
  report["demo"] = model;
  report["digest"] = epsim::app::sha256_hex(report.dump());
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  if (options.format == "json") {
    report["wall_s"] = wall_s;
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << fmt::format("epsim {} — scenario {} (seed {})\n", epsim::app::kVersion, scenario.name, scenario.seed);
    std::cout << fmt::format("  virtual time  {}\n", epsim::sim::format_duration(scenario.duration));
    std::cout << fmt::format("  events        {}\n", events);
    std::cout << fmt::format("  arrivals      {}  served {}  max queue {}  mean wait {:.3f}s\n",
                             model["arrivals"].get<std::uint64_t>(), model["served"].get<double>(),
                             model["max_queue_length"].get<std::uint64_t>(), model["mean_wait_s"].get<double>());
    std::cout << fmt::format("  digest        {}\n", report["digest"].get<std::string>());
  }
  return epsim::app::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"epsim: deterministic simulator of Kubernetes endpoint propagation"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("epsim ") + epsim::app::kVersion);

  RunOptions run_options;
  CLI::App* run = app.add_subcommand("run", "Run a scenario (the embedded default when none is given)");
  run->add_option("scenario", run_options.scenario_path, "Scenario YAML file");
  run->add_option("--seed", run_options.seed, "Root seed (overrides the scenario's seed)");
  run->add_option("--format", run_options.format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_str("text");

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
    if (run->parsed()) return run_command(run_options);
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
