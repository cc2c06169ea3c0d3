// README.md, Reliability: the same scenario, seed and build give byte-identical reports
// (except wall_*), for every scenario shipped in scenarios/ (found at test
// time, so a new scenario is covered without touching this file).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "run_epsim.h"

using epsim::test::run_epsim;

namespace {

using epsim::test::shell_quoted;

// The report without its wall_* lines (json.dump(2) puts one key per line).
std::string without_wall(const std::string& json) {
  std::istringstream in(json);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.find("\"wall_") != std::string::npos) continue;
    out += line + "\n";
  }
  return out;
}

std::string digest_of(const std::string& json) {
  const std::string key = "\"digest\": \"";
  const auto at = json.find(key);
  if (at == std::string::npos) return "";
  const auto start = at + key.size();
  return json.substr(start, json.find('"', start) - start);
}

}  // namespace

TEST_CASE("every shipped scenario gives byte-identical JSON for the same seed and another digest for another seed") {
  const auto scenarios = epsim::test::shipped_scenarios();
  REQUIRE(scenarios.size() >= 3);
  for (const auto& path : scenarios) {
    CAPTURE(path);
    const auto a = run_epsim("run " + shell_quoted(path) + " --format json --seed 11");
    const auto b = run_epsim("run " + shell_quoted(path) + " --format json --seed 11");
    const auto c = run_epsim("run " + shell_quoted(path) + " --format json --seed 12");
    REQUIRE(a.exit_code == 0);
    REQUIRE(b.exit_code == 0);
    REQUIRE(c.exit_code == 0);
    CHECK(a.err.empty());
    CHECK(a.out.find("\"wall_s\"") != std::string::npos);
    const std::string digest = digest_of(a.out);
    CHECK(digest.size() == 64);
    CHECK(without_wall(a.out) == without_wall(b.out));
    CHECK(digest == digest_of(b.out));
    CHECK(a.out.find("\"seed\": 11") != std::string::npos);
    CHECK(c.out.find("\"seed\": 12") != std::string::npos);
    CHECK(digest != digest_of(c.out));
  }
}
