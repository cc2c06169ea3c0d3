// Runs the built epsim binary as a user would and captures what it prints.
#pragma once

#include <string>

namespace epsim::test {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `args` is appended to the epsim path as shell words (quote them yourself).
CommandResult run_epsim(const std::string& args);
std::string read_file(const std::string& path);
std::string source_path(const std::string& relative);  // path inside the source tree

}  // namespace epsim::test
