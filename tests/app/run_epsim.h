// Runs the built epsim binary as a user would and captures what it prints.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace epsim::test {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `args` is appended to the epsim path as shell words (quote them yourself);
// the standard input is `stdin_path`.
CommandResult run_epsim(const std::string& args, const std::string& stdin_path = "/dev/null");
std::string read_file(const std::string& path);
std::string source_path(const std::string& relative);  // path inside the source tree
// The scenarios shipped in scenarios/ (not its subdirectories), sorted: found
// at test time, so a new scenario is covered without touching a test.
std::vector<std::string> shipped_scenarios();

// A shell word for a path (the test paths hold no single quote).
std::string shell_quoted(const std::string& path);

// The length of the longest line of `text` (the 80-column checks).
std::size_t widest_line(const std::string& text);

// A scratch directory, <tmp>/epsim_<tag>_<pid>, removed with everything in it
// (permissions restored first) when the object goes.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  // Writes `text` to `name` inside the directory (creating parents); returns its path.
  std::string write(const std::string& name, const std::string& text) const;
  std::filesystem::path dir;
};

}  // namespace epsim::test
