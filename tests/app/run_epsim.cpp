#include "run_epsim.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace epsim::test {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string source_path(const std::string& relative) { return std::string(EPSIM_SOURCE_DIR) + "/" + relative; }

std::vector<std::string> shipped_scenarios() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(source_path("scenarios"))) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string shell_quoted(const std::string& path) { return "'" + path + "'"; }

std::size_t widest_line(const std::string& text) {
  std::size_t widest = 0;
  for (std::size_t at = 0, next; at < text.size(); at = next + 1) {
    next = text.find('\n', at);
    if (next == std::string::npos) next = text.size();
    widest = std::max(widest, next - at);
  }
  return widest;
}

ScratchDir::ScratchDir(const std::string& tag)
    : dir(std::filesystem::temp_directory_path() / ("epsim_" + tag + "_" + std::to_string(::getpid()))) {
  std::filesystem::create_directories(dir);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
  std::filesystem::remove_all(dir, ec);
}

std::string ScratchDir::write(const std::string& name, const std::string& text) const {
  const std::filesystem::path path = dir / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

CommandResult run_epsim(const std::string& args, const std::string& stdin_path) {
  static int counter = 0;
  const std::string base = "/tmp/epsim_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  // Progress lines off a terminal come every 10 s of wall time: a slow
  // machine (ASan, busy cores) must not put them into a test's stderr, so
  // the interval is long unless a test sets it.
  const char* interval = std::getenv("EPSIM_PROGRESS_INTERVAL_S");
  const std::string env = std::string("EPSIM_PROGRESS_INTERVAL_S=") + (interval != nullptr ? interval : "100000") + " ";
  const std::string cmd = env + std::string(EPSIM_BINARY) + " " + args + " >" + base + ".out 2>" + base + ".err <" +
                          shell_quoted(stdin_path);
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(base + ".out");
  r.err = read_file(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return r;
}

}  // namespace epsim::test
