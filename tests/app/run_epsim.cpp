#include "run_epsim.h"

#include <sys/wait.h>
#include <unistd.h>

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

CommandResult run_epsim(const std::string& args) {
  static int counter = 0;
  const std::string base = "/tmp/epsim_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  const std::string cmd = std::string(EPSIM_BINARY) + " " + args + " >" + base + ".out 2>" + base + ".err </dev/null";
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
