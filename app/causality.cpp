#include "app/causality.h"

#include <fmt/format.h>

#include <algorithm>

namespace epsim::app {

std::string pod_ip_text(models::PodIp ip) {
  return fmt::format("{}.{}.{}.{}", 10 + (ip >> 24), (ip >> 16) & 255u, (ip >> 8) & 255u, ip & 255u);
}

std::optional<PropagationChain> follow_change(const Pipeline& p, const ClusterRuntime& cluster,
                                              models::ServiceId service, models::PodIp ip, sim::Time change,
                                              bool removal) {
  const DataPlane* dp = p.data_plane();
  if (dp == nullptr) return std::nullopt;
  const std::uint32_t backend = cluster.backend_offset + service;
  auto next = [&](const models::StageLog& log, std::uint32_t object, sim::Time after) {
    return removal ? log.first_without(object, ip, after) : log.first_with(object, ip, after);
  };
  PropagationChain c;
  c.change = change;
  const models::StageWrite* b = next(cluster.controller_manager->endpoints_controller().writes(), service, change);
  if (b == nullptr) return std::nullopt;
  c.controller_started = b->started;
  c.controller_sent = b->sent;
  c.controller_stored = b->stored;
  const models::StageWrite* s = next(dp->sync->pool().writes(), backend, b->stored);
  if (s == nullptr) return std::nullopt;
  c.sync_stored = s->stored;
  sim::Time upstream = s->stored;
  if (dp->mirroring) {
    const models::StageWrite* m = next(dp->mirroring->pool().writes(), backend, s->stored);
    if (m == nullptr) return std::nullopt;
    c.mirroring_stored = m->stored;
    upstream = m->stored;
  }
  // The first configuration read after ingress-nginx's informer saw the
  // upstream write (the access API server's watch delay later).
  const sim::Time visible = upstream + dp->api->config().watch_delay;
  const auto& syncs = dp->ingress->syncs();
  const auto it = std::lower_bound(syncs.begin(), syncs.end(), visible,
                                   [](const models::IngressSync& x, sim::Time t) { return x.read_at < t; });
  if (it == syncs.end()) return std::nullopt;
  c.ingress_applied = it->applied_at;
  c.all_workers = c.ingress_applied;
  for (int w = 0; w < dp->ingress->workers(); ++w) {
    const sim::Time t = dp->ingress->worker_pickup(w, it->version);
    if (t == sim::Time::max()) return std::nullopt;
    c.all_workers = std::max(c.all_workers, t);
  }
  return c;
}

std::vector<Programming> ingress_programmings(const Pipeline& p, const ClusterRuntime& c) {
  std::vector<Programming> out;
  if (p.data_plane() == nullptr || c.ingress_traffic == nullptr) return out;
  const sim::Time end = sim::Time::zero() + p.scenario().duration;
  for (const models::PodRecord& rec : c.deployments->pod_records()) {
    const std::pair<sim::Time, bool> changes[] = {{rec.terminating_at, true}, {rec.ready_at, false}};
    for (const auto& [change, removal] : changes) {
      if (change >= end || change <= sim::Time::zero()) continue;  // steady-start pods were Ready before t = 0
      if (const auto chain = follow_change(p, c, rec.service, rec.ip, change, removal)) {
        out.push_back({change, chain->all_workers});
      }
    }
  }
  return out;
}

WindowCauses::WindowCauses(const Pipeline& p) : pipeline_(p), dead_pods_(p.clusters().size()) {
  for (std::size_t ci = 0; ci < p.clusters().size(); ++ci) {
    const ClusterRuntime& c = *p.clusters()[ci];
    std::vector<DeadPod>& dead = dead_pods_[ci];
    for (const auto& rec : c.deployments->pod_records()) {
      if (rec.dead_at != sim::Time::max()) dead.emplace_back(rec.service, rec);
    }
    std::stable_sort(dead.begin(), dead.end(),
                     [](const DeadPod& a, const DeadPod& b) { return a.first < b.first; });
  }
}

std::optional<WindowCause> WindowCauses::of(const models::TrafficWindow& w) const {
  const DataPlane* dp = pipeline_.data_plane();
  if (dp == nullptr) return std::nullopt;
  const Backend& b = dp->backends[w.backend];
  const ClusterRuntime& c = *pipeline_.clusters()[b.cluster];
  std::optional<WindowCause> cause;
  const std::vector<DeadPod>& dead = dead_pods_[b.cluster];
  const auto [first, last] = std::equal_range(dead.begin(), dead.end(), DeadPod{b.service, {}},
                                              [](const DeadPod& x, const DeadPod& y) { return x.first < y.first; });
  for (auto it = first; it != last; ++it) {
    const models::PodRecord& rec = it->second;
    if (rec.dead_at > w.end) continue;
    auto chain = follow_change(pipeline_, c, b.service, rec.ip, rec.terminating_at, true);
    if (!chain || chain->all_workers < w.start) continue;
    if (!cause || std::min(chain->all_workers, w.end) > std::min(cause->chain.all_workers, w.end)) {
      cause = WindowCause{rec, *chain};
    }
  }
  return cause;
}

double overlap_s(sim::Time a, sim::Time b, sim::Time start, sim::Time end) {
  const sim::Time lo = std::max(a, start);
  const sim::Time hi = std::min(b, end);
  return hi > lo ? (hi - lo).seconds_f() : 0.0;
}

double StageBreakdown::of(const std::string& key) const {
  const auto it = seconds.find(key);
  return it == seconds.end() ? 0.0 : it->second;
}

StageBreakdown breakdown(const PropagationChain& c, sim::Time start, sim::Time end) {
  StageBreakdown out;
  out.seconds["workqueue_wait_s"] = overlap_s(c.change, c.controller_started, start, end);
  out.seconds["client_throttle_s"] = overlap_s(c.controller_started, c.controller_sent, start, end);
  out.seconds["apiserver_s"] = overlap_s(c.controller_sent, c.controller_stored, start, end);
  out.seconds["sync_component_s"] = overlap_s(c.controller_stored, c.sync_stored, start, end);
  const sim::Time upstream = c.mirroring_stored.value_or(c.sync_stored);
  if (c.mirroring_stored) out.seconds["mirroring_s"] = overlap_s(c.sync_stored, *c.mirroring_stored, start, end);
  out.seconds["ingress_s"] = overlap_s(upstream, c.ingress_applied, start, end);
  out.seconds["nginx_worker_s"] = overlap_s(c.ingress_applied, c.all_workers, start, end);
  return out;
}

}  // namespace epsim::app
