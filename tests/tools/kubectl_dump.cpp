// Writes dumps shaped exactly like kubectl's JSON output, for `epsim import`
// tests and bench/import_bench (no cluster is at hand):
//   kubectl_dump DIR [--headless N] [--normal N] [--git-version V] [--kcm-flags "..."] [--ingress-tag T]
// DIR/cluster.json   kubectl get services,endpoints,pods -A -o json: N headless Services
//                    (web-00001.., namespace shop, 3 pods each) and N with a ClusterIP
//                    (api-00001.., namespace payments, 2 pods each), their Endpoints and Pods
// DIR/version.json   kubectl version -o json
// DIR/kcm.json       kubectl -n kube-system get pod -l component=kube-controller-manager -o json
// DIR/ingress.json   kubectl -n edge get deploy,configmap -o json (ingress-nginx, renamed)
// Field names and shapes follow the v1 API as kubectl prints it: metadata.resourceVersion,
// spec.clusterIP "None" for headless, subsets[].addresses[].targetRef, the Ready condition's
// lastTransitionTime, the controller-manager Pod's spec.containers[].command.
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using json = nlohmann::ordered_json;

namespace {

std::uint64_t resource_version = 1000;
std::string rv() { return std::to_string(++resource_version); }

std::string uid(const std::string& seed) {
  std::uint64_t h = 1469598103934665603ULL;
  for (char c : seed) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", h >> 32, (h >> 16) & 0xffff, h & 0xffff, (h >> 48) & 0xffff,
                     h & 0xffffffffffffULL);
}

std::string at(int seconds) {  // a fixed day, so the dumps are the same every time
  return fmt::format("2026-11-02T{:02d}:{:02d}:{:02d}Z", seconds / 3600, seconds / 60 % 60, seconds % 60);
}

// Items of one List, written as they come: the file never sits in memory.
class ListWriter {
 public:
  explicit ListWriter(const std::string& path) : out_(path) {
    out_ << "{\n    \"apiVersion\": \"v1\",\n    \"items\": [";
  }
  void add(const json& item) {
    out_ << (first_ ? "\n" : ",\n") << item.dump(4);
    first_ = false;
  }
  ~ListWriter() {
    out_ << "\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n";
  }

 private:
  std::ofstream out_;
  bool first_ = true;
};

json meta(const std::string& ns, const std::string& name, json labels = json::object()) {
  json m = {{"creationTimestamp", at(0)},
            {"name", name},
            {"namespace", ns},
            {"resourceVersion", rv()},
            {"uid", uid(ns + "/" + name)}};
  if (!labels.empty()) m["labels"] = labels;
  return m;
}

void service_group(ListWriter& services, ListWriter& endpoints, ListWriter& pods, const std::string& ns,
                   const std::string& prefix, int count, int pods_per_service, bool headless, int& ip) {
  for (int s = 1; s <= count; ++s) {
    const std::string name = fmt::format("{}{:05d}", prefix, s);
    json svc = {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", meta(ns, name, {{"app", name}})}};
    svc["spec"] = {
        {"clusterIP", headless ? std::string("None") : fmt::format("10.96.{}.{}", s / 250, s % 250 + 1)},
        {"ports", json::array({{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}, {"targetPort", 8080}}})},
        {"selector", {{"app", name}}},
        {"sessionAffinity", "None"},
        {"type", "ClusterIP"}};
    svc["status"] = {{"loadBalancer", json::object()}};
    services.add(svc);
    json addresses = json::array();
    for (int p = 0; p < pods_per_service; ++p) {
      const std::string pod_name = fmt::format("{}-5d8f7b{}-{:05x}", name, p, s * 7 + p);
      const std::string pod_ip = fmt::format("10.{}.{}.{}", 64 + ip / 65536, ip / 256 % 256, ip % 256);
      ++ip;
      json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta(ns, pod_name, {{"app", name}})}};
      pod["spec"] = {
          {"containers", json::array({{{"image", "registry.example.com/shop/web:1.4.2"},
                                       {"name", "web"},
                                       {"readinessProbe",
                                        {{"httpGet", {{"path", "/ready"}, {"port", 8080}}}, {"periodSeconds", 5}}}}})},
          {"nodeName", fmt::format("node-{}", ip % 40)},
          {"terminationGracePeriodSeconds", 30}};
      // Started at 60 s, Ready 10 s later.
      pod["status"] = {
          {"conditions",
           json::array({{{"lastTransitionTime", at(60)}, {"status", "True"}, {"type", "Initialized"}},
                        {{"lastTransitionTime", at(70)}, {"status", "True"}, {"type", "Ready"}},
                        {{"lastTransitionTime", at(70)}, {"status", "True"}, {"type", "ContainersReady"}}})},
          {"phase", "Running"},
          {"podIP", pod_ip},
          {"startTime", at(60)}};
      addresses.push_back({{"ip", pod_ip},
                           {"nodeName", fmt::format("node-{}", ip % 40)},
                           {"targetRef",
                            {{"kind", "Pod"},
                             {"name", pod_name},
                             {"namespace", ns},
                             {"resourceVersion", pod["metadata"]["resourceVersion"]},
                             {"uid", pod["metadata"]["uid"]}}}});
      pods.add(pod);
    }
    json labels = {{"app", name}};
    if (headless) labels["service.kubernetes.io/headless"] = "";
    json ep = {{"apiVersion", "v1"}, {"kind", "Endpoints"}, {"metadata", meta(ns, name, labels)}};
    ep["subsets"] = json::array({{{"addresses", addresses},
                                  {"ports", json::array({{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}})}}});
    endpoints.add(ep);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: kubectl_dump DIR [--headless N] [--normal N] [--git-version V] [--kcm-flags \"...\"] "
                 "[--ingress-tag T]\n";
    return 2;
  }
  const std::string dir = argv[1];
  int headless = 12954, normal = 35;
  std::string git_version = "v1.17.3", kcm_flags, ingress_tag = "v1.3.1";
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--headless")
      headless = std::atoi(value.c_str());
    else if (flag == "--normal")
      normal = std::atoi(value.c_str());
    else if (flag == "--git-version")
      git_version = value;
    else if (flag == "--kcm-flags")
      kcm_flags = value;
    else if (flag == "--ingress-tag")
      ingress_tag = value;
    else {
      std::cerr << "kubectl_dump: unknown flag " << flag << "\n";
      return 2;
    }
  }
  {
    // kubectl prints the kinds in the order asked: services, endpoints, pods.
    const std::string tmp = dir + "/.cluster-part-";
    int ip = 1;
    {
      ListWriter services(tmp + "services"), endpoints(tmp + "endpoints"), pods(tmp + "pods");
      service_group(services, endpoints, pods, "shop", "web-", headless, 3, true, ip);
      service_group(services, endpoints, pods, "payments", "api-", normal, 2, false, ip);
    }
    // One List of all three: the items of each part, concatenated.
    std::ofstream out(dir + "/cluster.json");
    out << "{\n    \"apiVersion\": \"v1\",\n    \"items\": [";
    bool first = true;
    for (const char* part : {"services", "endpoints", "pods"}) {
      std::ifstream in(tmp + part);
      std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const auto open = content.find('[');
      const auto close = content.rfind(']');
      std::string items = content.substr(open + 1, close - open - 1);
      while (!items.empty() && (items.back() == '\n' || items.back() == ' ')) items.pop_back();
      if (items.find('{') != std::string::npos) {
        out << (first ? "" : ",") << items;
        first = false;
      }
      std::remove((tmp + part).c_str());
    }
    out << "\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n";
  }
  {
    std::ofstream out(dir + "/version.json");
    json v = {
        {"clientVersion", {{"major", "1"}, {"minor", "28"}, {"gitVersion", "v1.28.4"}, {"platform", "linux/amd64"}}},
        {"kustomizeVersion", "v5.0.4-0.20230601165947-6ce0bf390ce3"},
        {"serverVersion", {{"major", "1"}, {"minor", "17"}, {"gitVersion", git_version}, {"platform", "linux/amd64"}}}};
    out << v.dump(4) << "\n";
  }
  {
    ListWriter kcm(dir + "/kcm.json");
    json command = json::array({"kube-controller-manager", "--allocate-node-cidrs=true",
                                "--kubeconfig=/etc/kubernetes/controller-manager.conf", "--leader-elect=true"});
    std::string word;
    for (std::size_t i = 0; i <= kcm_flags.size(); ++i) {
      if (i == kcm_flags.size() || kcm_flags[i] == ' ') {
        if (!word.empty()) command.push_back(word);
        word.clear();
      } else {
        word += kcm_flags[i];
      }
    }
    json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", meta("kube-system", "kube-controller-manager-control-plane-1",
                                  {{"component", "kube-controller-manager"}, {"tier", "control-plane"}})}};
    pod["spec"] = {{"containers", json::array({{{"command", command},
                                                {"image", "registry.k8s.io/kube-controller-manager:" + git_version},
                                                {"name", "kube-controller-manager"}}})},
                   {"priorityClassName", "system-node-critical"}};
    pod["status"] = {{"phase", "Running"}, {"startTime", at(0)}};
    kcm.add(pod);
  }
  {
    ListWriter ingress(dir + "/ingress.json");
    json deploy = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"metadata", meta("edge", "gateway-controller")}};
    deploy["spec"] = {
        {"replicas", 2},
        {"template",
         {{"spec",
           {{"containers",
             json::array(
                 {{{"args", json::array({"/nginx-ingress-controller", "--configmap=$(POD_NAMESPACE)/gateway-controller",
                                         "--sync-rate-limit=0.3"})},
                   {"image", "registry.k8s.io/ingress-nginx/controller:" + ingress_tag +
                                 "@sha256:31f47c1e202b39fadecf822a9b76370bd4baed199a005b3e7d4d1455f4fd3fe2"},
                   {"name", "controller"}}})}}}}}};
    ingress.add(deploy);
    json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", meta("edge", "gateway-controller")}};
    cm["data"] = {{"allow-snippet-annotations", "false"},
                  {"proxy-connect-timeout", "5"},
                  {"proxy-next-upstream", "error timeout"},
                  {"proxy-next-upstream-tries", "3"},
                  {"worker-processes", "4"},
                  {"worker-shutdown-timeout", "240s"}};
    ingress.add(cm);
    json ca = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", meta("edge", "kube-root-ca.crt")}};
    ca["data"] = {{"ca.crt", "-----BEGIN CERTIFICATE-----\nMIIC...\n-----END CERTIFICATE-----\n"}};
    ingress.add(ca);
  }
  return 0;
}
