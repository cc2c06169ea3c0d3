// The shipped scenarios compiled into the binary, keyed by their path under
// scenarios/ (the embedded default and the files it includes).
#pragma once

#include <map>
#include <string>

namespace epsim::app {

const std::map<std::string, std::string>& embedded_scenario_files();

}  // namespace epsim::app
