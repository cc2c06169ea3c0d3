#include "app/cli_options.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "app/input_error.h"

namespace epsim::app {

void add_set_option(CLI::App* cmd, ScenarioOptions& o) {
  cmd->add_option("--set", o.sets,
                  "Change one scenario key, e.g. --set clusters[idc].controllerManager.kubeAPIQPS=100 "
                  "(repeatable; see docs/scenario.md)")
      ->type_size(1)
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--include-dir", o.include_dirs,
                  "A directory whose files the scenario may include, besides its own directory tree (repeatable)")
      ->type_size(1)
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

namespace {

// A rate flag takes what its scenario key takes (kMinRatePerSecond to
// kMaxRatePerSecond), said in words a person reads; NaN and inf are refused.
CLI::Validator rate_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v < kMinRatePerSecond ||
            v > kMaxRatePerSecond) {
          return fmt::format("\"{}\" must be a number of requests per second from {} to {:.0f}", text,
                             kMinRatePerSecond, kMaxRatePerSecond);
        }
        return {};
      },
      "RATE");
}

// The scenario key's range, digits only: CLI11 alone takes "-5" as 2^64 - 5
// and saturates "99999999999999999999".
CLI::Validator seed_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const bool digits = !text.empty() && text.size() <= 19 &&
                            text.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || std::stoull(text) > kMaxSeed) {
          return fmt::format("\"{}\" must be an integer from 0 to {} (2^63 - 1), as the scenario's seed", text,
                             kMaxSeed);
        }
        return {};
      },
      "SEED");
}

}  // namespace

void add_override_options(CLI::App* cmd, ScenarioOptions& o) {
  cmd->add_option("scenario", o.path, "Scenario YAML file (default: the embedded 1.17.3 incident)");
  add_set_option(cmd, o);
  cmd->add_option("--seed", o.overrides.seed, "Root seed, 0 to 2^63 - 1 (overrides the scenario's seed)")
      ->check(seed_validator());
  cmd->add_option("--duration", o.duration, "Virtual time to simulate, e.g. 24h");
  cmd->add_option("--kubernetes-version", o.overrides.kubernetes_version,
                  "Kubernetes version preset for every business cluster, e.g. 1.17.13");
  cmd->add_option("--concurrent-endpoint-syncs", o.overrides.concurrent_endpoint_syncs,
                  "kube-controller-manager --concurrent-endpoint-syncs (default 5)")
      ->check(CLI::Range(1, kMaxWorkers));
  cmd->add_option("--kube-api-qps", o.overrides.kube_api_qps, "kube-controller-manager --kube-api-qps (default 20)")
      ->check(rate_validator());
  cmd->add_option("--kube-api-burst", o.overrides.kube_api_burst,
                  "kube-controller-manager --kube-api-burst (default 30)")
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--min-resync-period", o.min_resync_period,
                  "kube-controller-manager --min-resync-period (default 12h): each leader term's informers resync "
                  "every min x U[1,2), a period the scenario pins included");
  cmd->add_option("--resync-period", o.resync_period,
                  "epsim's own flag, not kube-controller-manager's: pin every informer's resync period (what "
                  "the shipped scenarios do with resyncPeriod), e.g. 16h25m");
  cmd->add_option("--endpoint-updates-batch-period", o.endpoint_updates_batch_period,
                  "kube-controller-manager --endpoint-updates-batch-period (default 0s)");
  cmd->add_option("--sync-rate-limit", o.overrides.sync_rate_limit,
                  "ingress-nginx --sync-rate-limit: configuration syncs per second (default 0.3)")
      ->check(rate_validator());
}

const std::vector<std::string>& override_flag_names() {
  static const std::vector<std::string> names{"seed",
                                              "duration",
                                              "kubernetes-version",
                                              "concurrent-endpoint-syncs",
                                              "kube-api-qps",
                                              "kube-api-burst",
                                              "min-resync-period",
                                              "resync-period",
                                              "endpoint-updates-batch-period",
                                              "sync-rate-limit"};
  return names;
}

namespace {

sim::Duration flag_duration(const std::string& flag, const std::string& value) {
  try {
    return sim::parse_duration(value);
  } catch (const sim::DurationParseError& e) {
    throw InputError(flag + ": " + e.what());
  }
}

void check_flags(ScenarioOptions& o) {
  if (o.duration) {
    o.overrides.duration = flag_duration("--duration", *o.duration);
    if (!(*o.overrides.duration > sim::Duration::zero())) throw InputError("--duration must be > 0");
  }
  if (o.min_resync_period) {
    o.overrides.min_resync_period = flag_duration("--min-resync-period", *o.min_resync_period);
    if (*o.overrides.min_resync_period < sim::Duration::seconds(1)) {
      throw InputError("--min-resync-period must be at least 1s");
    }
  }
  if (o.resync_period) {
    o.overrides.resync_period = flag_duration("--resync-period", *o.resync_period);
    if (*o.overrides.resync_period < sim::Duration::seconds(1)) throw InputError("--resync-period must be at least 1s");
  }
  if (o.endpoint_updates_batch_period) {
    o.overrides.endpoint_updates_batch_period =
        flag_duration("--endpoint-updates-batch-period", *o.endpoint_updates_batch_period);
    if (o.overrides.endpoint_updates_batch_period->is_negative()) {
      throw InputError("--endpoint-updates-batch-period must not be negative");
    }
  }
}

}  // namespace

Scenario load_with_options(ScenarioOptions o) {
  check_flags(o);
  Scenario scenario = load_scenario(o.path, o.sets, o.include_dirs);
  apply_overrides(scenario, o.overrides);
  return scenario;
}

Scenario load_with_options(ScenarioOptions o, const ScenarioFiles& files) {
  check_flags(o);
  Scenario scenario = files.load(o.sets);
  apply_overrides(scenario, o.overrides);
  return scenario;
}

}  // namespace epsim::app
