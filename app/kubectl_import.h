// `epsim import`: a scenario from what kubectl prints about the user's own
// cluster (docs/import.md). It reads `kubectl get services,endpoints,pods -A
// -o json` and, optionally, `kubectl version -o json`, the
// kube-controller-manager Pod and the ingress-nginx Deployment and ConfigMap,
// each with a streaming JSON reader (one List item in memory at a time), and
// writes a scenario whose every value says where it came from: read from a
// dump, a kube-controller-manager or ingress-nginx default, or assumed.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace epsim::app {

struct ImportOptions {
  std::vector<std::string> files;        // kubectl JSON dumps, any order
  bool anonymize = false;                // namespaces and names become stable hashes
  bool exact = false;                    // one service group per Service
  std::optional<std::string> apiserver;  // an include with clusterDefaults.apiServer (epsim calibrate --write)
  double rps = 0;                        // requests/s through ingress-nginx to each Service
  double deploys_per_hour = 0;           // background deploys in the cluster
};

// The scenario YAML. Throws InputError (with the file and the JSON path of
// the problem) on anything that is not kubectl JSON epsim can use.
std::string import_scenario(const ImportOptions& options);

// A Kubernetes or ingress-nginx release as a scenario spells it: "v1.17.13-eks.1",
// "v1.18.2+k3s1", "v1.24.9-gke.100" and "controller-v1.3.1" give "1.17.13",
// "1.18.2", "1.24.9", "1.3.1"; nullopt when no MAJOR.MINOR[.PATCH] leads it.
std::optional<std::string> release_of(const std::string& version_text);

}  // namespace epsim::app
