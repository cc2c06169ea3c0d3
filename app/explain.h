// `epsim explain`: for each 504 window, the chain of stages the removal of
// the dead pod went through, as a timeline an SRE can read in a terminal.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "app/pipeline.h"

namespace epsim::app {

struct ExplainOptions {
  std::string service;    // "" = every service; "default/web-00001" or "web-00001"
  std::string cluster;    // "" = every business cluster; else only this one's windows
  std::size_t limit = 10; // longest windows shown when no service is given; 0 = all
  std::string format = "text";  // text | json (one object: resyncs, windows with their chains)
};

// `report` is build_report(pipeline). Throws InputError when `cluster` names
// no business cluster, or `service` no service (of that cluster).
std::string explain_windows(const Pipeline& pipeline, const nlohmann::ordered_json& report,
                            const ExplainOptions& options);

// Every window's chain as `epsim explain` prints it ("504 window N of M: ..."
// and its timeline), in the order of report.json's "windows" (start order);
// report.html shows them.
std::vector<std::string> window_chains(const Pipeline& pipeline);

}  // namespace epsim::app
