// The flags that select and change a scenario, shared by every command that
// runs one (run, explain, sweep): the real kube-controller-manager and
// ingress-nginx spellings, --seed, --duration and --set. `epsim sweep` varies
// exactly these, so one definition keeps a sweep point identical to the
// `epsim run` with the same flags.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "app/scenario.h"

namespace epsim::app {

struct ScenarioOptions {
  std::string path;
  std::vector<std::string> sets;
  std::vector<std::string> include_dirs;  // --include-dir
  std::optional<std::string> duration;
  std::optional<std::string> min_resync_period;
  std::optional<std::string> resync_period;
  std::optional<std::string> endpoint_updates_batch_period;
  Overrides overrides;
};

// `--set PATH=VALUE` and `--include-dir DIR` (both repeatable).
void add_set_option(CLI::App* cmd, ScenarioOptions& options);
// The scenario positional, --set, and every override flag.
void add_override_options(CLI::App* cmd, ScenarioOptions& options);
// The override flags' names without the leading dashes ("kube-api-qps", ...),
// in --help order: what `sweep --vary` accepts besides --set paths.
const std::vector<std::string>& override_flag_names();

// Checks the flag values and loads the scenario with them applied. Throws
// InputError.
Scenario load_with_options(ScenarioOptions options);
// The same with the scenario's files already read (a sweep reads them once).
Scenario load_with_options(ScenarioOptions options, const ScenarioFiles& files);

}  // namespace epsim::app
