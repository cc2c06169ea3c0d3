// kube-proxy on the nodes of a business cluster whose Services have
// in-cluster clients (models/kube_proxy.h): its registration, and the
// consumer its windows, chains and programmings come from (app/consumer.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "app/consumer.h"
#include "app/report.h"
#include "app/stages/registrations.h"
#include "models/kube_proxy.h"

namespace epsim::app {

namespace {

// The chain of a pod change to in-cluster clients: the write of the stage
// upstream of kube-proxy (the endpoints controller, or with
// EndpointSliceProxying the EndpointSlice controller), then each node's
// proxier.
struct NodesChain {
  const models::StageWrite* write = nullptr;
  std::vector<sim::Time> applied;  // by node
  sim::Time all_nodes;             // the last node's rules took the change
};

class KubeProxyConsumer final : public Consumer {
 public:
  KubeProxyConsumer(const ClusterRuntime& cluster, std::unique_ptr<models::KubeProxy> proxy,
                    const models::StageLog* source, std::string written)
      : cluster_(cluster), proxy_(std::move(proxy)), source_(source), written_(std::move(written)) {}

  models::KubeProxy& proxy() { return *proxy_; }

  std::vector<ConsumerWindow> windows(const Pipeline&) const override {
    std::vector<ConsumerWindow> out;
    const auto& windows = proxy_->windows();
    for (std::size_t i = 0; i < windows.size(); ++i) {
      const models::KubeProxyWindow& w = windows[i];
      out.push_back({&cluster_, w.service, w.start, w.end, w.requests, 0, 0, 0, w.failed, w.peak_fail_fraction, i});
    }
    return out;
  }

  // Among the Service's pods that died before the window ended, the one
  // whose removal reached the last node latest within the window.
  std::optional<WindowExplanation> explain(const Pipeline&, const ConsumerWindow& window) const override {
    std::optional<models::PodRecord> pod;
    std::optional<NodesChain> cause;
    for (const models::PodRecord& rec : cluster_.deployments->pod_records()) {
      if (rec.service != window.service || rec.dead_at > window.end) continue;
      auto chain = follow(rec.service, rec.ip, rec.terminating_at, true);
      if (!chain || chain->all_nodes < window.start) continue;
      if (!cause || std::min(chain->all_nodes, window.end) > std::min(cause->all_nodes, window.end)) {
        cause = std::move(chain);
        pod = rec;
      }
    }
    if (!cause) return std::nullopt;
    const models::StageWrite& w = *cause->write;
    const std::string failing = "connections";
    WindowExplanation e;
    e.pod = pod;
    e.steps = writer_steps(*pod, window.start, failing,
                           written_ == "EndpointSlice" ? "EndpointSlice controller" : "endpoints controller", written_,
                           pod->terminating_at, w.started, w.sent, w.stored);
    e.steps.push_back({cause->all_nodes, "last_node",
                       fmt::format("kube-proxy on the last of {} nodes applies its rules (+{})",
                                   proxy_->config().nodes, wait_text(w.stored, cause->all_nodes))});
    close_chain(e.steps, window.end, failing);
    const sim::Time change = pod->terminating_at;
    e.stages.seconds["workqueue_wait_s"] = overlap_s(change, w.started, window.start, window.end);
    e.stages.seconds["client_throttle_s"] = overlap_s(w.started, w.sent, window.start, window.end);
    e.stages.seconds["apiserver_s"] = overlap_s(w.sent, w.stored, window.start, window.end);
    e.stages.seconds["kube_proxy_s"] = overlap_s(w.stored, cause->all_nodes, window.start, window.end);
    return e;
  }

  // Each node's programming of every pod change of the Services it
  // programs (ClusterIP: neither headless nor selector-less).
  std::vector<Programming> programmings(const Pipeline& p, const ClusterRuntime& cluster) const override {
    std::vector<Programming> out;
    if (&cluster != &cluster_) return out;
    const sim::Time end = sim::Time::zero() + p.scenario().duration;
    std::vector<bool> cluster_ip;
    for (const ServiceGroupSpec& g : cluster_.spec->services) {
      cluster_ip.insert(cluster_ip.end(), g.count, !g.headless && g.selector);
    }
    for (const models::PodRecord& rec : cluster_.deployments->pod_records()) {
      if (!cluster_ip[rec.service]) continue;
      const std::pair<sim::Time, bool> changes[] = {{rec.terminating_at, true}, {rec.ready_at, false}};
      for (const auto& [change, removal] : changes) {
        if (change >= end || change <= sim::Time::zero()) continue;
        if (const auto chain = follow(rec.service, rec.ip, change, removal)) {
          for (const sim::Time t : chain->applied) out.push_back({change, t});
        }
      }
    }
    return out;
  }

  std::vector<double> totals() const override {
    return {proxy_->expected_connections(), proxy_->expected_failures()};
  }

 private:
  // When each node's rules took the change; nullopt when the upstream writer
  // never wrote it or some node never ran after it.
  std::optional<NodesChain> follow(models::ServiceId service, models::PodIp ip, sim::Time change,
                                   bool removal) const {
    if (source_ == nullptr) return std::nullopt;
    NodesChain c;
    c.write = removal ? source_->first_without(service, ip, change) : source_->first_with(service, ip, change);
    if (c.write == nullptr) return std::nullopt;
    // Each node's first run that read its cache after the watch brought the write.
    const sim::Time visible = c.write->stored + cluster_.api->config().watch_delay;
    c.all_nodes = visible;
    for (int n = 0; n < proxy_->config().nodes; ++n) {
      const models::KubeProxySync* s = proxy_->first_sync_from(n, visible);
      if (s == nullptr) return std::nullopt;
      c.applied.push_back(s->applied);
      c.all_nodes = std::max(c.all_nodes, s->applied);
    }
    return c;
  }

  const ClusterRuntime& cluster_;
  std::unique_ptr<models::KubeProxy> proxy_;
  const models::StageLog* source_;  // the upstream writer's writes
  std::string written_;             // what that writer writes ("Endpoints", "EndpointSlice")
};

std::optional<StagePlacement> place_kube_proxy(const Scenario&, const ClusterSpec* c) {
  if (!in_cluster_clients(*c)) return std::nullopt;
  const char* reads = resolve_kube_proxy(*c).read_endpoint_slices ? "/EndpointSlices" : "/Endpoints";
  return StagePlacement{c->name + "/kube-proxy", c->name, {c->name + reads}, {}, "kube-proxy/" + c->name};
}

StageHooks build_kube_proxy(StageContext& context) {
  ClusterRuntime& c = *context.cluster;
  const ClusterSpec& spec = *c.spec;
  auto proxy = std::make_unique<models::KubeProxy>(context.simulator, *c.api, context.metrics, context.scenario.seed,
                                                   spec.name, resolve_kube_proxy(spec), c.service_names.size());
  models::ServiceId id = 0;
  for (const ServiceGroupSpec& g : spec.services) {
    for (std::uint32_t k = 0; k < g.count; ++k, ++id) {
      if (g.in_cluster_rps > 0) proxy->add_client_service(id, g.in_cluster_rps);
    }
  }
  proxy->start_steady(sim::Time::zero() + context.scenario.duration);
  // What it reads comes from the writer upstream of it in the stage list
  // (validation makes sure the EndpointSlice controller runs when
  // EndpointSliceProxying is on).
  const models::StageLog* source = nullptr;
  std::string written;
  for (const UpstreamStage& up : context.upstream) {
    if (up.pool == nullptr || up.writes.empty()) continue;
    source = &up.pool->writes();
    const std::string& kind = up.writes.front().substr(up.writes.front().find('/') + 1);
    written = kind == "EndpointSlices" ? "EndpointSlice" : kind;
    break;
  }
  auto consumer = std::make_shared<KubeProxyConsumer>(c, std::move(proxy), source, written);
  models::KubeProxy* p = &consumer->proxy();
  c.on_ip_dead.emplace_back([p](models::PodIp ip) { p->set_ip_dead(ip); });
  StageHooks hooks;
  hooks.finish = [p] { p->finish(); };
  hooks.consumer = std::move(consumer);
  return hooks;
}

}  // namespace

StageRegistration kube_proxy_registration() {
  StageRegistration r{"kube-proxy", StageKind::consumer, StageScope::business_cluster, place_kube_proxy,
                      build_kube_proxy, {}};
  ConsumerTexts& t = r.consumer_texts;
  t.rank = 1;  // after ingress-nginx at the same start (the order report.json has always had)
  t.window = "kube-proxy";
  t.failing = "connections";
  t.instance = "kube-proxy";
  t.counts = [](const ConsumerWindow& w) {
    return fmt::format("{} in-cluster connections went to dead pod IPs", std::llround(w.failed));
  };
  t.table_title = "kube-proxy windows";
  t.count_columns = {{"failed", "failed"}};
  t.totals = {"in_cluster_connections", "in_cluster_connections_failed"};
  t.summary_text = [](const nlohmann::ordered_json& sm) -> std::string {
    if (sm["in_cluster_connections"].get<std::int64_t>() <= 0) return "";
    return fmt::format("in-cluster clients through kube-proxy: {} connections; {} to dead pod IPs\n",
                       grouped_number(sm["in_cluster_connections"].get<std::int64_t>()),
                       grouped_number(sm["in_cluster_connections_failed"].get<std::int64_t>()));
  };
  return r;
}

}  // namespace epsim::app
