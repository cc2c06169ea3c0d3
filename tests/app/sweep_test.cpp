// epsim sweep: the grid, points equal to separate runs, --jobs, shards
// (merged by hand and through GNU parallel), --fail-if, and the emitted
// Kubernetes Indexed Job. The real Slurm cluster test is
// tests/distributed/slurm_sweep_test.sh.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "app/input_error.h"
#include "app/sweep.h"
#include "run_epsim.h"

using epsim::app::parse_vary;
using epsim::test::run_epsim;
using epsim::test::ScratchDir;
using epsim::test::shell_quoted;

namespace {

std::string small() { return shell_quoted(epsim::test::source_path("tests/data/sweep-small.yaml")); }
const std::string kGrid = " --vary kube-api-qps=2,5,50,100 --vary concurrent-endpoint-syncs=1,5";

std::vector<std::string> csv_rows(const std::string& csv) {
  std::vector<std::string> rows;
  std::istringstream in(csv);
  for (std::string line; std::getline(in, line);) rows.push_back(line);
  return rows;
}

std::vector<std::string> fields(const std::string& row) {
  std::vector<std::string> out;
  std::istringstream in(row);
  for (std::string f; std::getline(in, f, ',');) out.push_back(f);
  return out;
}

}  // namespace

TEST_CASE("--vary takes lists, linear and logarithmic ranges of numbers and durations") {
  CHECK(parse_vary("kube-api-qps=10,20,50").values == std::vector<std::string>{"10", "20", "50"});
  CHECK(parse_vary("kube-api-qps=10,20").is_flag);
  CHECK(parse_vary("--kube-api-burst=1..9/5").values == std::vector<std::string>{"1", "3", "5", "7", "9"});
  // 1000 + 19000 * i / 4: the example.
  CHECK(parse_vary("clusters[idc].services[0].count=1000..20000/5").values ==
        std::vector<std::string>{"1000", "5750", "10500", "15250", "20000"});
  CHECK_FALSE(parse_vary("clusters[idc].services[0].count=1..2/2").is_flag);
  CHECK(parse_vary("kube-api-qps=10..1000*3").values == std::vector<std::string>{"10", "100", "1000"});
  CHECK(parse_vary("kube-api-qps=0.5..1.5/3").values == std::vector<std::string>{"0.5", "1", "1.5"});
  CHECK(parse_vary("kube-api-qps=1e1..1e3*3").values == std::vector<std::string>{"10", "100", "1000"});
  // Integers after rounding: 1, 1.5→2, 2, 2.5→3 (to nearest, away from zero), 3: duplicates dropped.
  CHECK(parse_vary("kube-api-burst=1..3/5").values == std::vector<std::string>{"1", "2", "3"});
  CHECK(parse_vary("min-resync-period=1h..2h/3").values == std::vector<std::string>{"1h0m0s", "1h30m0s", "2h0m0s"});
  CHECK_THROWS_AS(parse_vary("kube-api-qps"), epsim::app::InputError);
  CHECK_THROWS_AS(parse_vary("kube-api-qps=1..10"), epsim::app::InputError);
  CHECK_THROWS_AS(parse_vary("kube-api-qps=0..10*3"), epsim::app::InputError);
  CHECK_THROWS_AS(parse_vary("kube-api-qps=10,,20"), epsim::app::InputError);
  CHECK_THROWS_WITH_AS(parse_vary("kube-api-qsp=1,2"), doctest::Contains("neither a flag of epsim run"),
                       epsim::app::InputError);
}

TEST_CASE("the sweep CSV quotes a --vary value that holds quotes, as RFC 4180 says") {
  // The YAML plain scalar say"hi" is the text say"hi": quoted in the CSV,
  // its quotes doubled.
  const auto r = run_epsim("sweep " + small() + " --vary 'description=say\"hi\",plain' --format csv");
  REQUIRE(r.exit_code == 0);
  const auto rows = csv_rows(r.out);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].rfind("point,description,seed,", 0) == 0);
  CHECK(rows[1].rfind("1,\"say\"\"hi\"\"\",", 0) == 0);
  CHECK(rows[2].rfind("2,plain,", 0) == 0);
}

TEST_CASE("every sweep point equals the epsim run with its flags, for any --jobs") {
  const auto one = run_epsim("sweep " + small() + kGrid + " --jobs 1 --format csv");
  const auto two = run_epsim("sweep " + small() + kGrid + " --jobs 2 --format csv");
  REQUIRE(one.exit_code == 0);
  REQUIRE(two.exit_code == 0);
  CHECK(one.out == two.out);
  const auto rows = csv_rows(one.out);
  REQUIRE(rows.size() == 9);  // header + 4 x 2 points
  const auto header = fields(rows[0]);
  CHECK(header[1] == "kube-api-qps");
  CHECK(header[2] == "concurrent-endpoint-syncs");
  CHECK(header[4] == "digest");
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto f = fields(rows[i]);
    CAPTURE(rows[i]);
    const auto run = run_epsim("run " + small() + " --format json --kube-api-qps " + f[1] +
                               " --concurrent-endpoint-syncs " + f[2]);
    REQUIRE(run.exit_code == 0);
    const auto report = nlohmann::ordered_json::parse(run.out);
    CHECK(f[4] == report["digest"].get<std::string>());
    CHECK(f[5] == report["clusters"][0]["resyncs"][0]["limited_by"]["stage"].get<std::string>());
    CHECK(std::stod(f[6]) == report["summary"]["max_resync_duration_s"].get<double>());
  }
  // The grid order: the first --vary varies slowest.
  CHECK(fields(rows[1])[1] == "2");
  CHECK(fields(rows[2])[1] == "2");
  CHECK(fields(rows[2])[2] == "5");
  CHECK(fields(rows[3])[1] == "5");
}

TEST_CASE("the text table names what limited each point and marks the best") {
  const auto r = run_epsim("sweep " + small() + " --vary kube-api-qps=2,100 --jobs 2");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("client bucket") != std::string::npos);
  CHECK(r.out.find("API server") != std::string::npos);
  // qps 100 drains in ~29 s instead of ~650 s: it is the best point.
  const auto best = r.out.find("*best");
  REQUIRE(best != std::string::npos);
  const auto line_start = r.out.rfind('\n', best);
  CHECK(r.out.substr(line_start + 1, best - line_start).find("100") != std::string::npos);
}

TEST_CASE("--seeds replicates each point with seed, seed+1, ... and gives a 95% interval") {
  const auto r = run_epsim("sweep " + small() + " --vary kube-api-qps=2 --seeds 3 --format json");
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::ordered_json::parse(r.out);
  const auto& point = j["points"][0];
  REQUIRE(point["runs"].size() == 3);
  for (int k = 0; k < 3; ++k) CHECK(point["runs"][k]["seed"] == 1 + k);
  // The first replicate is the plain run.
  const auto plain = run_epsim("run " + small() + " --kube-api-qps 2 --format json");
  CHECK(point["runs"][0]["digest"] == nlohmann::ordered_json::parse(plain.out)["digest"]);
  const auto& storm = point["stats"]["storm_s"];
  double sum = 0;
  for (const auto& run : point["runs"]) sum += run["measures"]["storm_s"].get<double>();
  CHECK(storm["mean"].get<double>() == doctest::Approx(sum / 3).epsilon(1e-6));
  // Student's t interval of the mean: t(0.975, 2 degrees of freedom) = 4.302653.
  const double mean = sum / 3;
  double ss = 0, lo = 1e300, hi = -1e300;
  for (const auto& run : point["runs"]) {
    const double x = run["measures"]["storm_s"].get<double>();
    ss += (x - mean) * (x - mean);
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const double half = 4.302653 * std::sqrt(ss / 2) / std::sqrt(3.0);
  CHECK(storm["ci95_low"].get<double>() == doctest::Approx(mean - half).epsilon(1e-5));
  CHECK(storm["ci95_high"].get<double>() == doctest::Approx(mean + half).epsilon(1e-5));
  CHECK(storm["min"].get<double>() == lo);
  CHECK(storm["max"].get<double>() == hi);
  CHECK(hi > lo);  // the seeds differ, so the interval is not empty
}

TEST_CASE("shards 1/3..3/3 merge to exactly the unsharded output, and merge checks its input") {
  ScratchDir dir("sweep_shards");
  const std::string whole = (dir.dir / "whole").string();
  const auto unsharded = run_epsim("sweep " + small() + kGrid + " --out " + shell_quoted(whole));
  REQUIRE(unsharded.exit_code == 0);
  const std::string shards = (dir.dir / "shards").string();
  for (int k = 1; k <= 3; ++k) {
    const auto r = run_epsim("sweep " + small() + kGrid + " --shard " + std::to_string(k) + "/3 --out " +
                             shell_quoted(shards));
    REQUIRE(r.exit_code == 0);
  }
  const std::string merged = (dir.dir / "merged").string();
  const auto m = run_epsim("sweep merge " + shell_quoted(shards) + " --out " + shell_quoted(merged));
  REQUIRE(m.exit_code == 0);
  CHECK(m.out == unsharded.out);
  for (const char* f : {"sweep.csv", "sweep.json", "sweep.svg"}) {
    CAPTURE(f);
    CHECK(epsim::test::read_file(whole + "/" + f) == epsim::test::read_file(merged + "/" + f));
  }
  // A missing shard, a shard twice, and a shard of another sweep are errors.
  const auto missing = run_epsim("sweep merge " + shell_quoted(shards + "/shard-1-of-3.json") + " " +
                                 shell_quoted(shards + "/shard-3-of-3.json"));
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("shard(s) 2 of 3 missing") != std::string::npos);
  const auto twice = run_epsim("sweep merge " + shell_quoted(shards) + " " + shell_quoted(shards + "/shard-2-of-3.json"));
  CHECK(twice.exit_code == 2);
  CHECK(twice.err.find("given twice") != std::string::npos);
  const std::string other = (dir.dir / "other").string();
  REQUIRE(run_epsim("sweep " + small() + " --vary kube-api-qps=2,7 --shard 1/3 --out " + shell_quoted(other)).exit_code ==
          0);
  const auto mixed = run_epsim("sweep merge " + shell_quoted(other + "/shard-1-of-3.json") + " " +
                               shell_quoted(shards + "/shard-2-of-3.json") + " " + shell_quoted(shards + "/shard-3-of-3.json"));
  CHECK(mixed.exit_code == 2);
  CHECK(mixed.err.find("different sweeps (their grid differ)") != std::string::npos);
}

TEST_CASE("shards run by GNU parallel merge to the unsharded bytes") {
  ScratchDir dir("sweep_parallel");
  const auto unsharded = run_epsim("sweep " + small() + kGrid + " --format json");
  REQUIRE(unsharded.exit_code == 0);
  const std::string shards = (dir.dir / "shards").string();
  // GNU parallel is a test dependency (Makefile TEST_PACKAGES): missing, this fails.
  const std::string command = "parallel --will-cite --halt now,fail=1 " + shell_quoted(EPSIM_BINARY) + " sweep " +
                              small() + kGrid + " --jobs 1 --shard {}/4 --out " + shell_quoted(shards) +
                              " ::: 1 2 3 4 >/dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  const auto merged = run_epsim("sweep merge " + shell_quoted(shards) + " --format json");
  REQUIRE(merged.exit_code == 0);
  CHECK(merged.out == unsharded.out);
}

TEST_CASE("--shard auto takes the shard from a Kubernetes Indexed Job or a Slurm array task") {
  ScratchDir dir("sweep_auto");
  const std::string out = shell_quoted(dir.dir.string());
  const auto k8s = run_epsim("sweep " + small() + kGrid + " --shard auto --out " + out);  // no index: an error
  CHECK(k8s.exit_code == 2);
  const std::string env_k8s = "env JOB_COMPLETION_INDEX=1 EPSIM_SHARD_COUNT=2 ";
  const std::string binary = shell_quoted(EPSIM_BINARY);
  CHECK(std::system((env_k8s + binary + " sweep " + small() + kGrid + " --shard auto --out " + out + " >/dev/null")
                        .c_str()) == 0);
  CHECK(std::filesystem::exists(dir.dir / "shard-2-of-2.json"));
  const std::string env_slurm = "env SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=2 ";
  CHECK(std::system((env_slurm + binary + " sweep " + small() + kGrid + " --shard auto --out " + out + " >/dev/null")
                        .c_str()) == 0);
  CHECK(std::filesystem::exists(dir.dir / "shard-1-of-2.json"));
  CHECK(run_epsim("sweep merge " + out).exit_code == 0);
}

TEST_CASE("--emit k8s-job prints an Indexed Job that runs every shard") {
  const auto r = run_epsim("sweep " + small() + kGrid + " --emit k8s-job --shards 3 --out /results --image epsim:0.1.0 "
                           "--volume sweep-results");
  REQUIRE(r.exit_code == 0);
  const YAML::Node job = YAML::Load(r.out);
  CHECK(job["apiVersion"].as<std::string>() == "batch/v1");
  CHECK(job["kind"].as<std::string>() == "Job");
  CHECK(job["spec"]["completionMode"].as<std::string>() == "Indexed");
  CHECK(job["spec"]["completions"].as<int>() == 3);
  const YAML::Node container = job["spec"]["template"]["spec"]["containers"][0];
  CHECK(container["image"].as<std::string>() == "epsim:0.1.0");
  CHECK(container["env"][0]["name"].as<std::string>() == "EPSIM_SHARD_COUNT");
  CHECK(container["env"][0]["value"].as<std::string>() == "3");
  std::string command;
  for (const auto& word : container["command"]) command += word.as<std::string>() + " ";
  CHECK(command.find("sweep") != std::string::npos);
  CHECK(command.find("--shard auto") != std::string::npos);
  CHECK(command.find("--vary=kube-api-qps=2,5,50,100") != std::string::npos);
  CHECK(container["volumeMounts"][0]["mountPath"].as<std::string>() == "/results");
  CHECK(job["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"].as<std::string>() ==
        "sweep-results");
  CHECK(run_epsim("sweep " + small() + kGrid + " --emit k8s-job --out /results").exit_code == 2);  // no image
}

TEST_CASE("--fail-if exits 3 when a threshold holds, 0 when none does, 2 on a bad expression") {
  const auto incident = run_epsim("run --duration 17h --fail-if 'storm_s > 120'");
  CHECK(incident.exit_code == 3);
  CHECK(incident.err.find("storm_s > 120 (storm_s = 646.5") != std::string::npos);
  CHECK(incident.out.find("digest") != std::string::npos);  // the report is still printed
  const auto fixed = run_epsim("run " + shell_quoted(epsim::test::source_path("scenarios/incident-fixed.yaml")) +
                               " --duration 17h --fail-if 'storm_s > 120' --fail-if 'requests_504 > 0'");
  CHECK(fixed.exit_code == 0);
  const auto bad = run_epsim("run --fail-if 'storm_s >> 120'");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("column 10") != std::string::npos);
  CHECK(bad.out.empty());
  const auto sweep = run_epsim("sweep " + small() + " --vary kube-api-qps=2,100 --fail-if 'storm_s > 120'");
  CHECK(sweep.exit_code == 3);
  CHECK(sweep.out.find("1 of 2 points fail --fail-if") != std::string::npos);
  CHECK(sweep.out.find("point 1 (kube-api-qps=2)") != std::string::npos);
}

TEST_CASE("sweep rejects bad grids before running anything") {
  const auto value = run_epsim("sweep " + small() + " --vary kube-api-qps=2,-1");
  CHECK(value.exit_code == 2);
  CHECK(value.err.find("sweep point 2 (kube-api-qps=-1)") != std::string::npos);
  CHECK(value.out.empty());
  CHECK(run_epsim("sweep " + small() + " --vary seed=1,2 --seeds 2").exit_code == 2);
  CHECK(run_epsim("sweep " + small() + " --vary kube-api-qps=1 --vary kube-api-qps=2").exit_code == 2);
  CHECK(run_epsim("sweep " + small() + " --vary 'clusters[nope].controllerManager.kubeAPIQPS=1,2'").exit_code == 2);
  CHECK(run_epsim("sweep " + small() + " --vary kube-api-qps=1,2 --shard 4/3 --out /tmp").exit_code == 2);
}
