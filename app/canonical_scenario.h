// The resolved scenario in canonical YAML: what `epsim run --print-scenario`
// prints and what the report's scenario.sha256 hashes. Includes,
// clusterDefaults, --set and the flags are applied; every key of the schema
// that the run reads is written with its value (defaults included), in the
// schema's order, so two invocations that resolve to the same scenario print
// the same text wherever they run from. The text is itself a scenario: loading
// it gives the same canonical text back (tests/app/canonical_scenario_test.cpp).
#pragma once

#include <string>

#include "app/scenario.h"

namespace epsim::app {

std::string canonical_scenario_yaml(const Scenario& scenario);
// A double-quoted YAML scalar holding exactly `text` (JSON string syntax,
// which YAML reads): the scenario writers' one way to write free text.
std::string yaml_quoted(const std::string& text);
// sha256 of canonical_scenario_yaml(scenario): the scenario's identity in
// reports and sweeps.
std::string scenario_digest(const Scenario& scenario);

}  // namespace epsim::app
