// Hostile and broken input through the epsim binary, as a user meets it: each
// case exits 2 with one message on stderr naming the problem, prints nothing
// on stdout and leaves no --out directory or file behind.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "app/input_error.h"
#include "app/scenario.h"
#include "run_epsim.h"

using epsim::test::run_epsim;

namespace {

using epsim::test::ScratchDir;

// A shell word for a path.
std::string quoted(const std::string& path) { return epsim::test::shell_quoted(path); }

namespace fs = std::filesystem;

// A scratch directory with scenario files written from strings.
struct Scratch : ScratchDir {
  Scratch() : ScratchDir("bad_input_test") {}
};

// A valid business cluster to append broken keys to (indentation: cluster
// keys at 4 spaces).
const char* const kBase = R"(name: t
duration: 1h
clusters:
  - name: idc
    services:
      - {count: 3, namePrefix: web-, headless: true, pods: 2}
)";

// Runs `epsim run <args> --out <fresh dir>` and checks the bad-input contract;
// returns stderr for further checks.
std::string expect_bad_input(Scratch& s, const std::string& args, const std::string& message) {
  static int counter = 0;
  const fs::path out = s.dir / ("out" + std::to_string(counter++));
  const auto r = run_epsim("run " + args + " --format json --out " + quoted(out.string()));
  CAPTURE(args);
  CAPTURE(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(message) != std::string::npos);
  CHECK(r.err.rfind("epsim: ", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
  CHECK(r.out.empty());
  CHECK_FALSE(fs::exists(out));
  return r.err;
}

std::string expect_bad_scenario(Scratch& s, const std::string& text, const std::string& message) {
  static int counter = 0;
  const std::string path = s.write("bad" + std::to_string(counter++) + ".yaml", text);
  const std::string err = expect_bad_input(s, quoted(path), message);
  CHECK(err.find(path) != std::string::npos);  // the message names the file
  return err;
}

std::string with_cluster_keys(const std::string& keys) { return std::string(kBase) + keys; }

}  // namespace

TEST_CASE("malformed YAML is refused with file line and column") {
  Scratch s;
  const auto bracket = expect_bad_scenario(s, "name: t\nclusters:\n  - {name: idc, services: [{count: 1}\n",
                                           "YAML syntax error");
  CHECK(bracket.find(".yaml:") != std::string::npos);
  const auto tab = expect_bad_scenario(s, "name: t\nclusters:\n\t- name: idc\n", "YAML syntax error");
  CHECK(tab.find(".yaml:3:") != std::string::npos);
  expect_bad_scenario(s, "name: t\n  indented: wrongly\n", "YAML syntax error");
  expect_bad_scenario(s, "just a string\n", "a scenario must be a mapping");
  expect_bad_scenario(s, "- a\n- list\n", "a scenario must be a mapping");
  expect_bad_scenario(s, "", "the scenario needs a clusters list");
  expect_bad_scenario(s, std::string("name: t\0\n", 9), "contains NUL bytes");
}

TEST_CASE("values of the wrong type name the key and what was found") {
  Scratch s;
  expect_bad_scenario(s, "name: t\nduration: [1h]\nclusters: []\n",
                      "duration must be a duration such as \"30s\", got a list");
  expect_bad_scenario(s, "name: {a: b}\nclusters: []\n", "name must be a string, got a mapping");
  expect_bad_scenario(s, "name: t\nclusters:\n  - name: idc\n    services: [{count: many}]\n",
                      "count must be an integer, got \"many\"");
  expect_bad_scenario(s, "name: t\nclusters:\n  - name: idc\n    services: [{count: 2.5}]\n",
                      "count must be an integer, got \"2.5\"");
  expect_bad_scenario(s, "name: t\nclusters:\n  - name: idc\n    services: [{count: 1, headless: yes}]\n",
                      "headless must be true or false, got \"yes\"");
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: 5\n"),
                      "controllerManager must be a mapping, got \"5\"");
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {kubeAPIQPS: fast}\n"),
                      "kubeAPIQPS must be a number, got \"fast\"");
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {kubeAPIQPS: .nan}\n"),
                      "kubeAPIQPS must be a number");
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {kubeAPIQPS: 1e999}\n"),
                      "kubeAPIQPS must be a number");
}

TEST_CASE("unknown keys are refused with the closest valid key") {
  Scratch s;
  expect_bad_scenario(s, std::string("durations: 1h\n") + kBase,
                      "unknown key \"durations\" in the scenario; did you mean \"duration\"?");
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {concurentEndpointSyncs: 5}\n"),
                      "did you mean \"concurrentEndpointSyncs\"?");
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {switches: {headlessLabelCompar: true}}\n"),
                      "did you mean \"headlessLabelCompare\"?");
  const auto far = expect_bad_scenario(s, with_cluster_keys("    zzzzzzzzzzzz: 1\n"), "unknown key \"zzzzzzzzzzzz\"");
  CHECK(far.find("valid keys: name, role") != std::string::npos);
  expect_bad_scenario(s, std::string(kBase) + "name: again\n", "duplicate key \"name\"");
}

TEST_CASE("zero or negative qps burst and workers are refused") {
  Scratch s;
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {kubeAPIQPS: 0}\n"),
                      "kubeAPIQPS = 0 is out of range: must be >= 0.0001");
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {kubeAPIQPS: -5}\n"),
                      "kubeAPIQPS = -5 is out of range");
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {kubeAPIBurst: 0}\n"),
                      "kubeAPIBurst = 0 is out of range: must be between 1 and");
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {kubeAPIBurst: -30}\n"),
                      "kubeAPIBurst = -30 is out of range");
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {concurrentEndpointSyncs: 0}\n"),
                      "concurrentEndpointSyncs = 0 is out of range: must be between 1 and 10000");
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {mirroringConcurrentServiceEndpointSyncs: -1}\n"),
                      "mirroringConcurrentServiceEndpointSyncs = -1 is out of range");
  expect_bad_scenario(s, std::string(kBase) + "sync: {workers: 0}\n", "workers = 0 is out of range");
  expect_bad_scenario(s, std::string(kBase) + "sync: {kubeAPIQPS: -1}\n", "kubeAPIQPS = -1 is out of range");
  expect_bad_scenario(s, std::string(kBase) + "sync: {kubeAPIBurst: 0}\n", "kubeAPIBurst = 0 is out of range");
  expect_bad_scenario(s, std::string(kBase) + "ingress: {syncRateLimit: 0}\n", "syncRateLimit = 0 is out of range");
  expect_bad_scenario(s, std::string(kBase) + "ingress: {workerProcesses: 0}\n", "workerProcesses = 0 is out of range");
  expect_bad_input(s, "--kube-api-qps -1", "--kube-api-qps");
  expect_bad_input(s, "--kube-api-burst 0", "--kube-api-burst");
  expect_bad_input(s, "--concurrent-endpoint-syncs -5", "--concurrent-endpoint-syncs");
}

TEST_CASE("durations need units and must fit in int64 nanoseconds") {
  Scratch s;
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {minResyncPeriod: 12}\n"), "missing unit");
  expect_bad_scenario(s, "name: t\nclusters:\n  - name: idc\n    services: [{count: 1, terminationGracePeriod: 30}]\n",
                      "missing unit");
  expect_bad_scenario(s, "name: t\nduration: 99999999h\nclusters: []\n", "does not fit");
  expect_bad_scenario(s, "name: t\nduration: 9223372036854775808ns\nclusters: []\n", "duration");
  expect_bad_scenario(s, "name: t\nduration: 100000000000000000000000000s\nclusters: []\n", "duration");
  expect_bad_scenario(s, "name: t\nduration: 106751d\nclusters: []\n", "duration");
  expect_bad_scenario(s, "name: t\nduration: 0s\nclusters: []\n", "duration = 0s must be at least");
  expect_bad_scenario(s, "name: t\nduration: -1h\nclusters: []\n", "duration");
  expect_bad_input(s, "--duration 30", "--duration");
  expect_bad_input(s, "--duration 99999999999h", "--duration");
  expect_bad_scenario(s, "name: t\nduration: 8785h\nclusters: []\n",
                      "duration = 8785h exceeds the limit of 8784h (366 days)");
  expect_bad_input(s, "--duration 2500000h", "--duration 2500000h0m0s exceeds the limit of 8784h (366 days)");
}

TEST_CASE("metrics.om flags are checked before the run, its size after it, and nothing is written") {
  Scratch s;
  expect_bad_input(s, "--duration 1m --epoch 2021-13-01T00:00:00Z", "--epoch 2021-13-01T00:00:00Z: give UTC as");
  expect_bad_input(s, "--duration 1m --epoch -1", "--epoch -1");
  expect_bad_input(s, "--duration 1m --scrape-interval 0s", "--scrape-interval 0s: must be > 0");
  expect_bad_input(s, "--duration 1m --scrape-interval 15", "--scrape-interval");
  // The time series samples every second: a scrape must fall on a sample.
  expect_bad_input(s, "--duration 1m --scrape-interval 1500ms", "multiple of the time-series sample interval");
  expect_bad_input(s, "--duration 1m --metrics-services some",
                   "--metrics-services some: give failing, rollouts or all");
  // 12,989 Services x 5,761 scrapes of a day: beyond 20 million samples.
  expect_bad_input(s, "--metrics-services all", "metrics.om would hold");
  // Without --out there is no metrics.om to shape.
  const auto r = run_epsim("run --duration 1m --scrape-interval 30s");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--scrape-interval requires --out") != std::string::npos);
}

TEST_CASE("sizes beyond the documented limits are refused with the limit before any allocation") {
  Scratch s;
  expect_bad_scenario(s, "name: t\nclusters:\n  - name: idc\n    services: [{count: 1000000000}]\n",
                      "count = 1000000000 is out of range: must be between 1 and 2000000");
  expect_bad_scenario(s,
                      "name: t\nclusters:\n  - name: idc\n    services:\n      - {count: 1500000, namePrefix: a-}\n"
                      "      - {count: 1500000, namePrefix: b-}\n",
                      "3000000 services in all exceeds the limit of 2000000");
  expect_bad_scenario(s, "name: t\nclusters:\n  - name: idc\n    services: [{count: 2000000, pods: 10000}]\n",
                      "20000000000 pods in all exceeds the limit of 20000000");
  expect_bad_scenario(s, "name: t\nclusters:\n  - name: idc\n    services: [{count: 1, pods: 10001}]\n",
                      "pods = 10001 is out of range: must be between 1 and 10000");
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {concurrentEndpointSyncs: 10001}\n"),
                      "must be between 1 and 10000");
  expect_bad_scenario(s, "name: t\nclusters:\n  - name: idc\n    services: [{count: 99999999999999999999}]\n",
                      "out of range");
}

TEST_CASE("scenario files that cannot be read are refused with the reason") {
  Scratch s;
  expect_bad_input(s, quoted((s.dir / "no-such.yaml").string()), "cannot read scenario file: No such file");
  expect_bad_input(s, quoted(s.dir.string()), "cannot read scenario file: is a directory");
  const std::string locked = s.write("locked.yaml", kBase);
  ::chmod(locked.c_str(), 0);
  // root reads a mode-000 file anyway (CI runs as root): check only when it cannot.
  if (::access(locked.c_str(), R_OK) != 0) {
    expect_bad_input(s, quoted(locked), "cannot read scenario file: Permission denied");
  }
  expect_bad_scenario(s, std::string("include: [missing.yaml]\n") + kBase, "cannot read included file");
  expect_bad_scenario(s, std::string("include: [.]\n") + kBase, "cannot read");
}

TEST_CASE("devices, FIFOs and files over 64 MiB are refused at once, as scenarios and includes") {
  // Before: /dev/zero grew to gigabytes of memory, a FIFO hung the run.
  Scratch s;
  expect_bad_input(s, "/dev/zero", "/dev/zero: cannot read scenario file: is a device, not a regular file");
  const std::string fifo = (s.dir / "pipe.yaml").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  expect_bad_input(s, quoted(fifo), "cannot read scenario file: is a FIFO, not a regular file");
  const std::string dev = s.write("dev.yaml", std::string("include: [/dev/urandom]\n") + kBase);
  expect_bad_input(s, quoted(dev) + " --include-dir /dev",
                   "cannot read included file /dev/urandom: is a device, not a regular file");
  expect_bad_scenario(s, "include: [" + fifo + "]\n" + kBase, "is a FIFO, not a regular file");
  const std::string big = s.write("big.yaml", kBase);
  fs::resize_file(big, (std::uintmax_t{64} << 20) + 1);  // sparse: one byte over the cap
  expect_bad_input(s, quoted(big), "cannot read scenario file: is larger than 64 MiB");
  const auto r = run_epsim("calibrate --observed /dev/zero");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("/dev/zero: cannot read the observations: is a device, not a regular file") != std::string::npos);
}

TEST_CASE("run - reads the scenario from the standard input") {
  Scratch s;
  const std::string file = s.write("web.yaml", kBase);
  const auto from_file = run_epsim("run " + quoted(file));
  const auto from_stdin = run_epsim("run -", file);
  REQUIRE(from_file.exit_code == 0);
  REQUIRE(from_stdin.exit_code == 0);
  // The same run: everything between the header and the digest agrees (the
  // digest still hashes the file's name with its text: issue 16).
  const auto body = [](const std::string& text) {
    const auto from = text.find("virtual time");
    return text.substr(from, text.rfind("digest ") - from);
  };
  CHECK(body(from_stdin.out) == body(from_file.out));
  const auto valid = run_epsim("validate -", file);
  CHECK(valid.exit_code == 0);
  CHECK(valid.out.rfind("<stdin>: valid: t ", 0) == 0);
  // Errors name the standard input by line and column.
  const std::string broken = s.write("broken.yaml", "name: [\n");
  const auto bad = run_epsim("run -", broken);
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.rfind("epsim: <stdin>:2:1: ", 0) == 0);
}

TEST_CASE("includes resolve inside the scenario's directory tree or an --include-dir") {
  // Before: include: [/etc/shadow] was loaded, and the error echoed its first line.
  Scratch s;
  const std::string top = s.write("site/scenario.yaml", std::string("include: [/etc/passwd]\n") + kBase);
  const std::string err =
      expect_bad_input(s, quoted(top), "included file /etc/passwd is outside the scenario's directory");
  CHECK(err.find("root:") == std::string::npos);  // not a line of the file
  // A sibling directory is outside too, until --include-dir names it.
  s.write("shared/api.yaml", "clusterDefaults: {apiServer: {mutatingThroughput: 45}}\n");
  const std::string sibling = s.write("site/sibling.yaml", std::string("include: [../shared/api.yaml]\n") + kBase);
  expect_bad_input(s, quoted(sibling), "is outside the scenario's directory");
  CHECK(run_epsim("run " + quoted(sibling) + " --include-dir " + quoted((s.dir / "shared").string())).exit_code == 0);
  // Below the scenario's own directory is fine.
  s.write("site/common/api.yaml", "clusterDefaults: {apiServer: {mutatingThroughput: 45}}\n");
  const std::string below = s.write("site/below.yaml", std::string("include: [common/api.yaml]\n") + kBase);
  CHECK(run_epsim("run " + quoted(below)).exit_code == 0);
  // A symlink inside the tree that points outside is outside.
  fs::create_directory_symlink("/etc", s.dir / "site" / "etc-link");
  const std::string linked = s.write("site/linked.yaml", std::string("include: [etc-link/passwd]\n") + kBase);
  expect_bad_input(s, quoted(linked), "is outside the scenario's directory");
  const auto missing = run_epsim("run " + quoted(below) + " --include-dir " + quoted((s.dir / "nope").string()));
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("--include-dir") != std::string::npos);
}

TEST_CASE("a file included many times over cannot multiply the load") {
  // Five files, each listing the next ten times: 10^5 loads of a few bytes,
  // no cycle, each file small. The whole load is bounded: 1,000 files.
  Scratch s;
  for (int level = 0; level < 5; ++level) {
    std::string text = "include: [";
    for (int k = 0; k < 10; ++k) {
      if (k > 0) text += ", ";
      text += fmt::format("l{}.yaml", level + 1);
    }
    text += "]\n";
    s.write(fmt::format("l{}.yaml", level), text);
  }
  s.write("l5.yaml", "seed: 1\n");
  const std::string top = s.write("top.yaml", std::string("include: [l0.yaml]\n") + kBase);
  expect_bad_input(s, quoted(top), "load more than 1000 files or 64 MiB in all");
}

TEST_CASE("include cycles are refused") {
  Scratch s;
  const std::string self = s.write("self.yaml", std::string("include: [self.yaml]\n") + kBase);
  expect_bad_input(s, quoted(self), "include cycle");
  s.write("a.yaml", "include: [b.yaml]\n");
  s.write("b.yaml", "include: [c.yaml]\n");
  s.write("c.yaml", "include: [a.yaml]\n");
  expect_bad_input(s, quoted((s.dir / "a.yaml").string()), "include cycle");
}

TEST_CASE("an --out path under a regular file is refused before the run") {
  Scratch s;
  const std::string file = s.write("plain-file", "x");
  const auto r = run_epsim("run --out " + quoted(file + "/reports"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--out " + file + "/reports") != std::string::npos);
  CHECK(r.out.empty());
  CHECK(epsim::test::read_file(file) == "x");
}

// Found by fuzz/scenario_fuzz: a name with a byte that is not UTF-8 loaded,
// ran, and then broke the JSON report (nlohmann type_error 316: exit 1).
TEST_CASE("a scenario that is not valid UTF-8 is refused with the position of the bad byte") {
  Scratch s;
  const auto err = expect_bad_scenario(s, "name: inciden\xCBt-fixed\nclusters:\n  - name: idc\n    services: [{count: 1}]\n",
                                       "not valid UTF-8 (byte 0xcb)");
  CHECK(err.find(".yaml:1:14:") != std::string::npos);
  expect_bad_scenario(s, std::string(kBase) + "description: \"x\"\n# \xED\xA0\x80 a UTF-16 surrogate\n", ":8:3: not valid UTF-8");
  expect_bad_scenario(s, "name: \"a\\uD800\"\n", "invalid unicode");
  // The fuzz target's path: text in, InputError out, never another exception.
  CHECK_THROWS_AS(epsim::app::load_scenario_text("name: \xC0\xAF\nclusters: [{name: idc, services: [{count: 1}]}]\n",
                                                 "fuzz.yaml"),
                  epsim::app::InputError);
  // Escapes and multi-byte UTF-8 are fine and reach the report intact.
  const std::string ok = s.write("utf8.yaml", "name: \"caf\\xe9 \xE2\x9C\x93 \xF0\x9F\x9A\x80\"\nduration: 1m\n"
                                              "clusters:\n  - name: idc\n    services: [{count: 1}]\n");
  const auto r = run_epsim("run " + quoted(ok) + " --format json");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x9A\x80") != std::string::npos);
}

// A name longer than PATH_MAX made std::filesystem throw: exit 1 (internal error).
TEST_CASE("a scenario or include name that is too long is bad input") {
  Scratch s;
  const std::string long_name = (s.dir / (std::string(5000, 'x') + ".yaml")).string();
  expect_bad_input(s, quoted(long_name), "cannot read scenario file: File name too long");
  expect_bad_scenario(s, "include: [" + std::string(5000, 'y') + ".yaml]\n" + kBase,
                      "cannot read included file");
}

// Durations that each fit in int64 nanoseconds but whose sums or products in
// the run do not: the pipeline turns sim::TimeOverflow into bad input.
TEST_CASE("durations whose sums overflow in the run are bad input") {
  Scratch s;
  // ControllerManager: the jittered resync period (up to 2x minResyncPeriod).
  expect_bad_scenario(s, with_cluster_keys("    controllerManager: {minResyncPeriod: 2500000h}\n"), "overflow");
  // Pipeline::schedule_deploys: first resync + period * (nth - 1) + offset.
  expect_bad_scenario(s,
                      "name: t\nduration: 1h\nclusters:\n  - name: idc\n    controllerManager: {resyncPeriod: 2000000h}\n"
                      "    services: [{count: 1}]\n"
                      "    deploys: [{service: default/svc-00001, at: {after: resync, nth: 1000}}]\n",
                      "overflow");
}

TEST_CASE("a --set path that does not exist is refused with the closest key") {
  Scratch s;
  const std::string path = quoted(s.write("ok.yaml", kBase));
  expect_bad_input(s, path + " --set clusters[idc].controllerManager.kubeAPIQSP=100",
                   "--set clusters[idc].controllerManager.kubeAPIQSP=100: unknown key \"kubeAPIQSP\" in "
                   "clusters[].controllerManager; did you mean \"kubeAPIQPS\"?");
  expect_bad_input(s, path + " --set clusters[idcx].controllerManager.kubeAPIQPS=100",
                   "no entry of clusters is named \"idcx\" (names: idc)");
  expect_bad_input(s, path + " --set clusters[4].name=x", "clusters has 1 entries; [4] does not exist");
  expect_bad_input(s, path + " --set controllerManager.kubeAPIQPS=1",
                   "cluster keys go under clusters[NAME].controllerManager or clusterDefaults.controllerManager");
  expect_bad_input(s, path + " --set clusters.controllerManager.kubeAPIQPS=1",
                   "clusters is a list: pick entries with clusters[NAME], clusters[INDEX] or clusters[*]");
  expect_bad_input(s, path + " --set duration.unit=s", "duration holds a value, not keys");
  expect_bad_input(s, path + " --set include=x.yaml", "include cannot be set from the command line");
  expect_bad_input(s, path + " --set kubeAPIQPS", "expected PATH=VALUE");
  expect_bad_input(s, path + " --set 'clusters[idc].services[web].pods=2'",
                   "services entries have no name; select them by index or with [*]");
}

TEST_CASE("a bad --set value is reported as the assignment, not as a file position") {
  Scratch s;
  const std::string path = quoted(s.write("ok.yaml", kBase));
  const std::string err =
      expect_bad_input(s, path + " --set 'clusters[0].controllerManager.kubeAPIQPS=abc'",
                       "--set clusters[0].controllerManager.kubeAPIQPS=abc: kubeAPIQPS must be a number, got \"abc\"");
  CHECK(err.find("ok.yaml") == std::string::npos);
  expect_bad_input(s, path + " --set duration=5", "--set duration=5: duration: invalid duration \"5\": missing unit");
  expect_bad_input(s, path + " --set 'clusters[*].services[0].pods=0'", "pods = 0 is out of range");
  expect_bad_input(s, path + " --set 'seed=[1'", "--set seed=[1: the value is not valid YAML");
}

TEST_CASE("--sync-rate-limit needs an ingress section") {
  Scratch s;
  expect_bad_input(s, quoted(s.write("ok.yaml", kBase)) + " --sync-rate-limit 1",
                   "--sync-rate-limit: the scenario has no ingress section");
  expect_bad_input(s, "--sync-rate-limit 0", "--sync-rate-limit");
}

TEST_CASE("an EndpointSlice-reading ingress-nginx needs an access cluster with slice mirroring") {
  Scratch s;
  const std::string text = std::string(kBase) + R"(  - name: access
    role: access
    kubernetesVersion: 1.17.3
sync: {from: [idc], to: access}
ingress: {cluster: access, version: 1.9.4}
)";
  expect_bad_scenario(s, text,
                      "ingress-nginx 1.9.4 reads EndpointSlices, but access cluster access runs Kubernetes 1.17.3, "
                      "which has no EndpointSlice mirroring (1.19+)");
}

TEST_CASE("rates outside 0.0001..10^6 per second, NaN and infinity are refused for flags and keys alike") {
  for (const char* flag : {"--kube-api-qps", "--sync-rate-limit"}) {
    for (const char* v : {"nan", "inf", "1e-300", "0", "0.00009", "1e7", "1e308"}) {
      CAPTURE(flag);
      CAPTURE(v);
      const auto r = run_epsim(std::string("run --duration 1h ") + flag + " " + v);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find(std::string("epsim: ") + flag) == 0);
      CHECK(r.err.find("from 0.0001 to 1000000") != std::string::npos);
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
  }
  // The bounds themselves are valid.
  CHECK(run_epsim("run --duration 1h --kube-api-qps 0.0001").exit_code == 0);
  CHECK(run_epsim("run --duration 1h --sync-rate-limit 1000000").exit_code == 0);
  for (const char* key : {"clusters[idc].controllerManager.kubeAPIQPS", "sync.kubeAPIQPS", "ingress.syncRateLimit"}) {
    CAPTURE(key);
    const auto r = run_epsim(std::string("run --duration 1h --set '") + key + "=1e-300'");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("must be >= 0.0001 and <= 1000000") != std::string::npos);
  }
}

TEST_CASE("seeds outside 0..2^63-1 are refused for the flag as for the key") {
  // Before: -5 wrapped to 2^64 - 5 and 99999999999999999999 was accepted.
  for (const char* v : {"-5", "99999999999999999999", "9223372036854775808", "1.5", "0x10"}) {
    CAPTURE(v);
    const auto r = run_epsim(std::string("run --duration 1s --seed ") + v);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("epsim: --seed: ") == 0);
    CHECK(r.err.find("from 0 to 9223372036854775807") != std::string::npos);
    const auto k = run_epsim(std::string("run --duration 1s --set seed=") + v);
    CHECK(k.exit_code == 2);
  }
  // 2^63 - 1 is the largest seed either way, and both give the same run.
  const auto flag = run_epsim("run --duration 1m --seed 9223372036854775807 --format json");
  const auto key = run_epsim("run --duration 1m --set seed=9223372036854775807 --format json");
  CHECK(flag.exit_code == 0);
  CHECK(key.exit_code == 0);
  CHECK(flag.out.find("\"seed\": 9223372036854775807") != std::string::npos);
  const auto sweep = run_epsim("sweep --duration 1s --vary seed=1,-5");
  CHECK(sweep.exit_code == 2);
  CHECK(sweep.err.find("--seed: \"-5\"") != std::string::npos);
}

// Every message is one line of printable text, whatever it quotes.
void check_no_control_characters(const std::string& err) {
  CAPTURE(err);
  REQUIRE(!err.empty());
  CHECK(err.back() == '\n');
  for (std::size_t i = 0; i + 1 < err.size(); ++i) {
    const auto c = static_cast<unsigned char>(err[i]);
    CHECK((c >= 0x20 && c != 0x7F));
  }
}

TEST_CASE("names are Kubernetes names and text holds no control characters") {
  // Before: raw escapes reached the terminal, charts.svg was invalid XML and a
  // '"' in a cluster name made invalid DOT.
  struct Case {
    const char* set;
    const char* message;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"name=\"a\\u001b[31mred\"", "name holds a control character (\"a\\x1B[31mred\"): write plain text"},
           {"name=\"nul\\u0000\"", "name holds a control character (\"nul\\x00\")"},
           {"description=\"bell\\u0007\"", "description holds a control character (\"bell\\x07\")"},
           {"clusters[idc].name=Idc", "cluster name \"Idc\" is not a valid name: lowercase letters, digits and '-'"},
           {"clusters[idc].name=\"a\\\"b\"", "cluster name \"a\"b\" is not a valid name"},
           {"clusters[idc].name=idc-", "cluster name \"idc-\" is not a valid name"},
           {"clusters[idc].services[0].namespace=prod_1", "namespace \"prod_1\" is not a valid name"},
           {"clusters[idc].services[0].namePrefix=Web-", "namePrefix \"Web-\" does not make valid Service names (\"Web-00001\")"},
           {"clusters[idc].services[0].namePrefix=9-", "namePrefix \"9-\" does not make valid Service names"},
           // 59 characters and 5 digits: 64, one over the label limit.
           {"clusters[idc].services[0].namePrefix=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "at most 63 characters with its 5-digit number"},
       }) {
    const std::string set = c.set;
    CAPTURE(set);
    const auto r = run_epsim("run --duration 1s --set " + quoted(set));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.message) != std::string::npos);
    check_no_control_characters(r.err);
  }
  // A 58-character prefix makes 63-character names: the longest allowed.
  Scratch s;
  const std::string base = s.write("base.yaml", kBase);
  CHECK(run_epsim("run " + quoted(base) + " --set clusters[idc].services[0].namePrefix=" + std::string(58, 'a'))
            .exit_code == 0);
  // Tab and newline are fine in a description, and raw control bytes in a
  // file are refused with their position, shown escaped.
  CHECK(run_epsim("run --duration 1s --set 'description=\"two\\nlines\\tand a tab\"'").exit_code == 0);
  const auto err = expect_bad_scenario(s, std::string("name: \"x\\e[2Jy\"\n") + std::string(kBase).substr(std::string(kBase).find('\n') + 1),
                                       "name holds a control character (\"x\\x1B[2Jy\")");
  check_no_control_characters(err);
}

// A 280-byte value whose aliases expand to 9^9 (387 million) strings.
std::string alias_bomb() {
  std::string v = "[&a [x,x,x,x,x,x,x,x,x]";
  for (char c = 'b'; c <= 'i'; ++c) {
    const char prev = static_cast<char>(c - 1);
    v += std::string(",&") + c + " [";
    for (int k = 0; k < 9; ++k) v += std::string(k ? "," : "") + "*" + prev;
    v += "]";
  }
  return v + "]";
}

TEST_CASE("YAML alias bombs and oversized documents are refused before they are built") {
  // Before: std::bad_alloc after 8-14 s (exit 1) with gigabytes resident.
  const std::string bomb = alias_bomb();
  REQUIRE(bomb.size() < 300);
  for (const char* key : {"description", "clusters[idc].controllerManager.leaderChanges"}) {
    CAPTURE(key);
    const auto r = run_epsim(std::string("run --duration 1s --set ") + quoted(std::string(key) + "=" + bomb));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("expands to more than 2000000 nodes through its aliases") != std::string::npos);
  }
  Scratch s;
  expect_bad_scenario(s, "name: t\nduration: 1h\ndescription: " + bomb + "\n",
                      "expands to more than 2000000 nodes through its aliases");
  // Without aliases: more than 2,000,000 nodes are refused by a scan that
  // builds none of them (about 4 MB of text).
  std::string wide = "name: t\nduration: 1h\ndescription: [x";
  for (int i = 0; i < 2'000'000; ++i) wide += ",x";
  wide += "]\n";
  expect_bad_scenario(s, wide, "a scenario file holds more than 2000000 YAML nodes");
  // A --set value is one document.
  const auto two = run_epsim("run --duration 1s --set 'description=a\n---\nb'");
  CHECK(two.exit_code == 2);
}

TEST_CASE("tiny rates mean no event in the run, and a tiny server throughput names its range") {
  // Before: "durations add up beyond int64 nanoseconds" for all three.
  const auto rare = run_epsim("run --duration 1h --format json --set 'clusters[idc].deploys[4].ratePerHour=1e-300'");
  CHECK(rare.exit_code == 0);
  CHECK(rare.out.find("\"rollouts\": 0") != std::string::npos);
  CHECK(run_epsim("run --duration 1h --set 'clusters[idc].services[0].podStatusChurnPerHour=1e-300'").exit_code == 0);
  const auto slow = run_epsim("run --duration 1h --set 'clusters[idc].apiServer.mutatingThroughput=1e-9'");
  CHECK(slow.exit_code == 2);
  CHECK(slow.err.find("mutatingThroughput must be 0 (no bound) or from 0.01 to 10000000 requests/s, got 1e-9") !=
        std::string::npos);
  CHECK(run_epsim("run --duration 1h --set 'clusters[idc].apiServer.mutatingThroughput=0.01'").exit_code == 0);
}

TEST_CASE("a mistyped flag or command gets the closest one, as a mistyped key does") {
  struct Case {
    const char* args;
    const char* hint;
  };
  for (const Case& c : std::initializer_list<Case>{{"run --kube-api-qs 5", "did you mean --kube-api-qps?"},
                                                   {"run --concurrent-endpoint-sync 5",
                                                    "did you mean --concurrent-endpoint-syncs?"},
                                                   {"sweep --vary kube-api-qps=1 --job 2", "did you mean --jobs?"},
                                                   {"runn", "did you mean run?"}}) {
    const std::string args = c.args;
    CAPTURE(args);
    const auto r = run_epsim(args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.hint) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  const auto far = run_epsim("run --xyzzy");
  CHECK(far.exit_code == 2);
  CHECK(far.err.find("did you mean") == std::string::npos);  // nothing close: no guess
}

TEST_CASE("a second YAML document is refused, not silently ignored") {
  Scratch s;
  // kBase is 6 lines; the second document begins with the --- on line 7.
  const std::string err =
      expect_bad_scenario(s, std::string(kBase) + "---\nname: other\n", "a second YAML document begins here");
  CHECK(err.find(".yaml:7:1: ") != std::string::npos);
  // One document that starts with --- is fine.
  const auto one = s.write("one.yaml", std::string("---\n") + kBase);
  CHECK(run_epsim("validate " + quoted(one)).exit_code == 0);
}
