// Reports of a finished run: the JSON report (its keys are what sweeps, tune,
// calibrate and the tests read) and the text summary for a terminal.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "app/pipeline.h"

namespace epsim::app {

// The canonical report, with "digest" (sha256 of the report without wall_*
// keys) set; the caller adds wall_s.
nlohmann::ordered_json build_report(const Pipeline& pipeline);
std::string format_text_report(const nlohmann::ordered_json& report);

}  // namespace epsim::app
