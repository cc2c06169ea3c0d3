// `epsim import` (docs/import.md) on dumps shaped like kubectl's output
// (tests/tools/kubectl_dump.cpp), the incident's shape first: importing it
// and running the result gives the shipped incident's storm.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "app/kubectl_import.h"
#include "run_epsim.h"

using epsim::test::run_epsim;
using epsim::test::shell_quoted;

namespace {

// The four dumps of the incident's shape (12,954 headless + 35 ClusterIP
// Services), written once for the whole file.
const std::filesystem::path& incident_dumps() {
  static epsim::test::ScratchDir dir("import_dumps");
  static const bool written = [] {
    const std::string cmd = std::string(KUBECTL_DUMP_BINARY) + " " + shell_quoted(dir.dir.string()) +
                            " --kcm-flags '--concurrent-endpoint-syncs=5 --kube-api-qps 20 --kube-api-burst=30'";
    return std::system(cmd.c_str()) == 0;
  }();
  REQUIRE(written);
  return dir.dir;
}

std::string dumps(std::initializer_list<const char*> names) {
  std::string out;
  for (const char* n : names) {
    out += ' ';  // (not " " + ...: GCC 12 -Wrestrict false positive)
    out += shell_quoted((incident_dumps() / n).string());
  }
  return out;
}

}  // namespace

TEST_CASE("import of the incident's shape, run, gives the incident's storm") {
  epsim::test::ScratchDir scratch("import_run");
  const std::string scenario = (scratch.dir / "my-cluster.yaml").string();
  const auto imported = run_epsim("import" + dumps({"cluster.json", "version.json", "kcm.json", "ingress.json"}) +
                                  " -o " + shell_quoted(scenario));
  REQUIRE_MESSAGE(imported.exit_code == 0, imported.err);
  CHECK(imported.err.find("wrote " + scenario) != std::string::npos);
  const std::string yaml = epsim::test::read_file(scenario);
  // Two groups, as the dump was made: 3 pods Ready 10 s after start, 30 s grace.
  CHECK(yaml.find("{count: 12954, namespace: \"default\", namePrefix: \"g1-\", headless: true, selector: true, "
                  "publishNotReadyAddresses: false, pods: 3, readinessDelay: 10s, terminationGracePeriod: 30s, rps: 0}"
                  "   # 12954 Services; pods from their Endpoints, readiness the median of 38862 Ready pods\n") !=
        std::string::npos);
  CHECK(yaml.find("{count: 35, namespace: \"default\", namePrefix: \"g2-\", headless: false, selector: true, "
                  "publishNotReadyAddresses: false, pods: 2,") != std::string::npos);
  CHECK(yaml.find("kubernetesVersion: \"1.17.3\"   # version.json: serverVersion.gitVersion v1.17.3") !=
        std::string::npos);
  CHECK(yaml.find("kubeAPIQPS: 20   # kcm.json (kube-controller-manager Pod): --kube-api-qps=20") != std::string::npos);
  CHECK(yaml.find("minResyncPeriod: 12h0m0s   # kube-controller-manager's default") != std::string::npos);
  CHECK(yaml.find("version: \"1.3.1\"") != std::string::npos);
  CHECK(yaml.find("proxy-connect-timeout: \"5\"") != std::string::npos);
  CHECK(run_epsim("validate " + shell_quoted(scenario)).exit_code == 0);

  // The storm: every headless Service PUT, through the same 20 qps bucket as
  // the shipped incident, within 1% of its length.
  const auto run = run_epsim("run " + shell_quoted(scenario) + " --format json");
  REQUIRE(run.exit_code == 0);
  const auto mine = nlohmann::json::parse(run.out);
  const auto incident = nlohmann::json::parse(run_epsim("run --format json").out);
  REQUIRE(mine["clusters"][0]["resyncs"].size() >= 1);
  const auto& storm = mine["clusters"][0]["resyncs"][0];
  const auto& theirs = incident["clusters"][0]["resyncs"][0];
  CHECK(storm["puts"].get<int>() == 12954);  // no deploys: the headless Services alone
  CHECK(storm["duration_s"].get<double>() == doctest::Approx(theirs["duration_s"].get<double>()).epsilon(0.01));
  CHECK(mine["clusters"][0]["kube_api_qps"] == incident["clusters"][0]["kube_api_qps"]);
}

TEST_CASE("import --anonymize leaves none of the cluster's namespaces and names") {
  const auto exact = run_epsim("import --exact" + dumps({"cluster.json"}));
  REQUIRE(exact.exit_code == 0);
  CHECK(exact.out.find("namespace: \"shop\", namePrefix: \"web-00001-\"") != std::string::npos);
  const auto anonymous = run_epsim("import --exact --anonymize" + dumps({"cluster.json"}));
  REQUIRE(anonymous.exit_code == 0);
  for (const char* name : {"shop", "payments", "web-0", "api-0", "5d8f7b"}) {
    CAPTURE(name);
    CHECK(anonymous.out.find(name) == std::string::npos);
  }
  // Stable: the same dump gives the same hashes.
  CHECK(run_epsim("import --exact --anonymize" + dumps({"cluster.json"})).out == anonymous.out);
}

TEST_CASE("import refuses what is not kubectl JSON, with the JSON path, and writes nothing") {
  epsim::test::ScratchDir scratch("import_bad");
  const std::string out = (scratch.dir / "out.yaml").string();
  const auto refused = [&](const std::string& name, const std::string& content, const std::string& message) {
    CAPTURE(name);
    const std::string path = scratch.write(name, content);
    const auto r = run_epsim("import " + shell_quoted(path) + " -o " + shell_quoted(out));
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.err.find(message) != std::string::npos, r.err);
    CHECK_FALSE(std::filesystem::exists(out));
  };
  refused("scenario.yaml", "name: x\nclusters: []\n", "not kubectl JSON");
  refused("truncated.json", "{\"apiVersion\": \"v1\", \"items\": [{\"kind\": \"Service\"", "not kubectl JSON");
  refused("nokind.json", R"({"apiVersion": "v1", "kind": "List", "items": [{"metadata": {"name": "x"}}]})",
          "items[0]: no \"kind\"");
  refused("noname.json",
          R"({"kind": "List", "items": [{"kind": "Service", "metadata": {"namespace": "a"}, "spec": {}}]})",
          "items[0].metadata.name: missing");
  refused("empty.json", R"({"kind": "List", "items": []})", "no Service in");
  // A version epsim does not model, next to a good dump.
  {
    const std::string old_version = scratch.write("old-version.json",
                                                  R"({"serverVersion": {"gitVersion": "v1.15.3"}})");
    const auto r = run_epsim("import" + dumps({"cluster.json"}) + " " + shell_quoted(old_version) + " -o " +
                             shell_quoted(out));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(
              "old-version.json: serverVersion.gitVersion v1.15.3: Kubernetes 1.15.3 is not a release epsim models") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
  }
  // An existing output is kept unless --force.
  scratch.write("out.yaml", "mine\n");
  const auto kept = run_epsim("import" + dumps({"cluster.json"}) + " -o " + shell_quoted(out));
  CHECK(kept.exit_code == 2);
  CHECK(kept.err.find("exists") != std::string::npos);
  CHECK(epsim::test::read_file(out) == "mine\n");
  CHECK(run_epsim("import" + dumps({"cluster.json"}) + " -o " + shell_quoted(out) + " --force").exit_code == 0);
  CHECK(epsim::test::read_file(out).rfind("# Imported by `epsim import`", 0) == 0);
}

TEST_CASE("import counts the kinds it ignores and takes the API server from --apiserver") {
  epsim::test::ScratchDir scratch("import_extra");
  const std::string dump = scratch.write("dump.json", R"({"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"namespace": "a", "name": "s", "resourceVersion": "1"},
     "spec": {"clusterIP": "None", "selector": {"app": "s"}}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"namespace": "a", "name": "t"}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"namespace": "a", "name": "u"}}],
    "metadata": {"resourceVersion": ""}})");
  const std::string include = scratch.write(
      "apiserver.yaml", "clusterDefaults:\n  apiServer: {mutatingThroughput: 77, watchDelay: 250ms}\n");
  const auto r = run_epsim("import " + shell_quoted(dump) + " --apiserver " + shell_quoted(include));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("# Ignored: 2 Secret object(s).") != std::string::npos);
  CHECK(r.out.find("# 1 Services had no endpoint address: each is modelled with one pod.") != std::string::npos);
  CHECK(r.out.find("apiServer:   # assumed: --apiserver " + include) != std::string::npos);
  CHECK(r.out.find("    mutatingThroughput: 77\n") != std::string::npos);
  CHECK(r.out.find("    watchDelay: 250ms\n") != std::string::npos);
  CHECK(r.out.find("kubernetesVersion: \"1.17.3\"   # assumed: no version.json") != std::string::npos);
}

TEST_CASE("import writes numbers it parsed and text it quoted, never a dump's raw text") {
  // Values from a dump that would end a comment or a value and start a key
  // of their own.
  epsim::test::ScratchDir scratch("import_inject");
  const std::string service =
      R"({"kind": "Service", "metadata": {"namespace": "a", "name": "s"}, "spec": {"selector": {"app": "s"}}})";
  const auto pod_with = [](const std::string& flag) {
    return R"({"kind": "Pod", "metadata": {"namespace": "kube-system", "name": "kcm"}, "spec": {"containers": [)"
           R"({"name": "kube-controller-manager", "command": ["kube-controller-manager", ")" +
           flag + R"("]}]}})";
  };
  const std::string bad_qps = scratch.write("bad-qps.json", R"({"kind": "List", "items": [)" + service + ", " +
                                                                pod_with(R"(--kube-api-qps=20\n  x: 1)") + "]}");
  const auto refused = run_epsim("import " + shell_quoted(bad_qps));
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("--kube-api-qps=20?  x: 1: \"20?  x: 1\" is not a number") != std::string::npos);
  const std::string odd = scratch.write(
      "odd.json", R"({"kind": "List", "items": [)" + service + R"(, {"kind": "Odd\nname: evil", "metadata": {}}]})");
  const auto r = run_epsim("import " + shell_quoted(odd));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("# Ignored: 1 Odd?name: evil object(s).") != std::string::npos);
  CHECK(r.out.find("\nname: evil") == std::string::npos);
}

TEST_CASE("import counts a Service given twice once, and refuses dumps that disagree") {
  const auto once = run_epsim("import" + dumps({"cluster.json"}));
  const auto twice = run_epsim("import" + dumps({"cluster.json", "cluster.json"}));
  REQUIRE(once.exit_code == 0);
  REQUIRE(twice.exit_code == 0);
  CHECK(twice.out.find("{count: 12954,") != std::string::npos);
  epsim::test::ScratchDir scratch("import_conflict");
  const std::string other = scratch.write("other-version.json", R"({"serverVersion": {"gitVersion": "v1.22.4"}})");
  const auto disagree = run_epsim("import" + dumps({"cluster.json", "version.json"}) + " " + shell_quoted(other));
  CHECK(disagree.exit_code == 2);
  CHECK(disagree.err.find("v1.22.4 disagrees with version.json") != std::string::npos);
  const std::string numbers = scratch.write("numbers.json", R"({"kind": "List", "items": [1, 2]})");
  const auto not_objects = run_epsim("import " + shell_quoted(numbers));
  CHECK(not_objects.exit_code == 2);
  CHECK(not_objects.err.find("items[0]: not an object") != std::string::npos);
  const std::string huge = scratch.write("huge.json",
                                         R"({"kind": "List", "items": [{"kind": "Pod", "spec": {"x": 1e400}}]})");
  const auto too_big = run_epsim("import " + shell_quoted(huge));
  CHECK(too_big.exit_code == 2);
  CHECK(too_big.err.find("not kubectl JSON") != std::string::npos);
}

TEST_CASE("Kubernetes versions with vendor suffixes and ingress-nginx tags") {
  using epsim::app::release_of;
  CHECK(release_of("v1.17.13-eks.1") == "1.17.13");
  CHECK(release_of("v1.18.2+k3s1") == "1.18.2");
  CHECK(release_of("v1.24.9-gke.100") == "1.24.9");
  CHECK(release_of("v1.22") == "1.22");
  CHECK(release_of("controller-v1.3.1") == "1.3.1");
  CHECK(release_of("1.9.4") == "1.9.4");
  CHECK_FALSE(release_of("latest").has_value());
  CHECK_FALSE(release_of("v1").has_value());
}
