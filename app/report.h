// Reports of a finished run: the JSON report (its keys are what sweeps, tune,
// calibrate and the tests read) and the text summary for a terminal.
#pragma once

#include <nlohmann/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "app/pipeline.h"

namespace epsim::app {

// The canonical report, with "digest" (sha256 of the report without wall_*
// keys) set; the caller adds wall_s.
nlohmann::ordered_json build_report(const Pipeline& pipeline);
// `window_limit`: the longest windows listed (0: all), `epsim run --limit`.
// 12989 → "12,989": long counts stay readable.
std::string grouped_number(std::int64_t value);

std::string format_text_report(const nlohmann::ordered_json& report, std::size_t window_limit = 10);

}  // namespace epsim::app
