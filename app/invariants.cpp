#include "app/invariants.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "app/causality.h"

namespace epsim::app {

namespace {

// Violations grouped by kind, each kind capped, listed in kind order.
class Violations {
 public:
  explicit Violations(std::size_t cap) : cap_(cap) {}
  void add(const std::string& kind, std::string message) {
    Kind& k = kinds_[kind];
    ++k.count;
    if (k.messages.size() < cap_) k.messages.push_back(fmt::format("{}: {}", kind, message));
  }
  std::vector<std::string> take() {
    std::vector<std::string> out;
    for (auto& [kind, k] : kinds_) {
      for (auto& m : k.messages) out.push_back(std::move(m));
      if (k.count > k.messages.size()) {
        out.push_back(fmt::format("{}: … and {} more", kind, k.count - k.messages.size()));
      }
    }
    return out;
  }

 private:
  struct Kind {
    std::size_t count = 0;
    std::vector<std::string> messages;
  };
  std::size_t cap_;
  std::map<std::string, Kind> kinds_;
};

// Before any recorded instant (only compared, never subtracted from).
const sim::Time kBeginning = sim::Time::from_ns(std::numeric_limits<std::int64_t>::min());

std::string at(sim::Time t) { return fmt::format("t={:.3f}s", t.seconds_f()); }


std::string ips_text(const std::vector<models::PodIp>& ips) {
  std::string out = "[";
  for (std::size_t i = 0; i < ips.size(); ++i) {
    if (i != 0) out += ' ';
    out += pod_ip_text(ips[i]);
  }
  out += ']';
  return out;
}

const std::string* label(const sim::Labels& labels, const std::string& name) {
  for (const auto& [k, v] : labels.pairs()) {
    if (k == name) return &v;
  }
  return nullptr;
}

// Sum of a counter family over the series whose labels pass `keep`.
template <class Keep>
double counter_sum(const sim::MetricsRegistry& metrics, const std::string& family, Keep keep) {
  const auto it = metrics.families().find(family);
  if (it == metrics.families().end()) return 0;
  double sum = 0;
  for (const auto& [labels, counter] : it->second.counters) {
    if (keep(labels)) sum += counter->value();
  }
  return sum;
}

// A workqueue family's gauges of one queue (cluster and name labels).
double gauge_value(const sim::MetricsRegistry& metrics, const std::string& family, const std::string& cluster,
                   const std::string& name) {
  const auto it = metrics.families().find(family);
  if (it == metrics.families().end()) return 0;
  double sum = 0;
  for (const auto& [labels, gauge] : it->second.gauges) {
    const std::string* n = label(labels, "name");
    const std::string* c = label(labels, "cluster");
    if (n != nullptr && *n == name && c != nullptr && *c == cluster) sum += gauge->value();
  }
  return sum;
}

bool has_label(const sim::Labels& labels, const std::string& name, const std::string& value) {
  const std::string* v = label(labels, name);
  return v != nullptr && *v == value;
}

struct Context {
  const Pipeline& p;
  const InvariantOptions& options;
  InvariantStats& stats;
  Violations& violations;
  sim::Time end;

  void agree(const std::string& what, double a, double b) {
    ++stats.counters_compared;
    if (a != b) violations.add("counters disagree", fmt::format("{}: {} != {}", what, a, b));
  }
  void at_most(const std::string& what, double a, double b) {
    ++stats.counters_compared;
    if (a > b) violations.add("counters disagree", fmt::format("{}: {} > {}", what, a, b));
  }
};

// ---------------------------------------------------------------- (b) events

void check_events(Context& ctx) {
  const sim::Simulator& sim = ctx.p.simulator();
  if (sim.events_processed() > sim.max_events()) {
    ctx.violations.add("event bound", fmt::format("{} events processed, above the bound of {}", sim.events_processed(),
                                                  sim.max_events()));
  }
  if (ctx.options.max_events != 0 && sim.events_processed() > ctx.options.max_events) {
    ctx.violations.add("event bound", fmt::format("{} events processed, above the stated budget of {}",
                                                  sim.events_processed(), ctx.options.max_events));
  }
  if (sim.now() != ctx.end) {
    ctx.violations.add("event bound", fmt::format("the run stopped at {} before its end {}", at(sim.now()), at(ctx.end)));
  }
}

// -------------------------------------------------------------- (c) counters

void check_stage_log(Context& ctx, const std::string& who, const models::StageLog& log) {
  for (std::uint32_t object = 0; object < log.objects(); ++object) {
    sim::Time previous = kBeginning;
    for (const models::StageWrite& w : log.writes_of(object)) {
      if (!(w.queued <= w.started && w.started <= w.sent && w.sent <= w.stored && w.stored <= ctx.end)) {
        ctx.violations.add("times out of order",
                           fmt::format("{} write of object {}: queued {} started {} sent {} stored {}", who, object,
                                       at(w.queued), at(w.started), at(w.sent), at(w.stored)));
      }
      if (w.stored < previous) {
        ctx.violations.add("times out of order", fmt::format("{} writes of object {} stored out of order at {}", who,
                                                             object, at(w.stored)));
      }
      if (!std::is_sorted(w.ready_ips.begin(), w.ready_ips.end())) {
        ctx.violations.add("times out of order", fmt::format("{} write of object {} lists unsorted IPs", who, object));
      }
      previous = w.stored;
    }
  }
}

// Every writer's StageLog, from the stage list.
void check_stage_logs(Context& ctx) {
  for (const BuiltStage& stage : ctx.p.stages()) {
    if (stage.hooks.pool != nullptr) check_stage_log(ctx, stage.placement.vertex, stage.hooks.pool->writes());
  }
}

void check_api_server(Context& ctx, const std::string& cluster, const models::ApiServer& api) {
  const auto& m = ctx.p.metrics();
  ctx.agree(cluster + " apiserver requests = responses + inflight", static_cast<double>(api.requests_total()),
            static_cast<double>(api.responses_total() + static_cast<std::uint64_t>(api.mutating_inflight())));
  ctx.agree(cluster + " apiserver_request_total = responses",
            counter_sum(m, "apiserver_request_total", [&](const sim::Labels& l) { return has_label(l, "cluster", cluster); }),
            static_cast<double>(api.responses_total()));
  ctx.at_most(cluster + " apiserver writes applied + no-op updates <= responses",
              static_cast<double>(api.writes_applied() + api.noop_updates()), static_cast<double>(api.responses_total()));
}

void check_counters(Context& ctx) {
  const Pipeline& p = ctx.p;
  const auto& m = p.metrics();
  // (cluster, workqueue name) → Σ depth and adds of the live queues
  std::map<std::pair<std::string, std::string>, double> live_depth;
  std::map<std::pair<std::string, std::string>, double> live_adds;
  auto note_queue = [&](const models::WorkQueue& q) {
    live_depth[{q.cluster(), q.name()}] += static_cast<double>(q.depth());
    live_adds[{q.cluster(), q.name()}] += static_cast<double>(q.adds_total());
  };
  std::vector<models::PodIp> all_ips;
  for (const auto& cp : p.clusters()) {
    const ClusterRuntime& c = *cp;
    const std::string& name = c.spec->name;
    check_api_server(ctx, name, *c.api);
    const models::EndpointsController& ec = c.controller_manager->endpoints_controller();
    note_queue(ec.queue());
    ctx.agree(name + " apiserver_request_total{client=endpoint-controller} = controller responses",
              counter_sum(m, "apiserver_request_total",
                          [&](const sim::Labels& l) {
                            return has_label(l, "cluster", name) && has_label(l, "client", "endpoint-controller");
                          }),
              static_cast<double>(ec.pool().responses_total()));
    ctx.agree(name + " rest_client_requests_total = controller responses of the current term",
              counter_sum(m, "rest_client_requests_total", [&](const sim::Labels& l) { return has_label(l, "cluster", name); }),
              static_cast<double>(ec.pool().responses_total() - ec.pool().stale_responses()));
    // Every PUT (POST, DELETE) the controller counts is one it got an answer
    // other than 429 for: its rest_client_requests_total without code 429.
    ctx.agree(name + " endpoint writes = rest_client_requests_total{code!=429}",
              static_cast<double>(ec.endpoint_writes_total()),
              counter_sum(m, "rest_client_requests_total", [&](const sim::Labels& l) {
                return has_label(l, "cluster", name) && !has_label(l, "code", "429");
              }));
    std::uint64_t episode_puts = 0;
    sim::Time previous = kBeginning;
    for (const models::SyncEpisode& e : ec.episodes()) {
      episode_puts += e.puts;
      if (e.noop_puts > e.puts || e.at < previous || (e.finished && e.ended < e.at)) {
        ctx.violations.add("counters disagree", fmt::format("{} episode at {}: puts {} noop {} ended {}", name, at(e.at),
                                                            e.puts, e.noop_puts, e.finished ? at(e.ended) : "-"));
      }
      previous = e.at;
    }
    ctx.at_most(name + " PUTs inside episodes <= endpoint writes", static_cast<double>(episode_puts),
                static_cast<double>(ec.endpoint_writes_total()));

    models::PodId pod = 0;
    for (const models::PodRecord& r : c.deployments->pod_records()) {
      const models::PodId id = pod++;
      all_ips.push_back(r.ip);
      const bool ok = r.created <= r.ready_at && r.created <= r.terminating_at && r.terminating_at <= r.dead_at &&
                      (r.ready_at == sim::Time::max() || r.ready_at <= ctx.end);
      if (!ok) {
        ctx.violations.add("times out of order",
                           fmt::format("{} pod {}: created {} ready {} terminating {} dead {}", name, id, at(r.created),
                                       at(r.ready_at), at(r.terminating_at), at(r.dead_at)));
      }
    }
    for (const models::RolloutRecord& r : c.deployments->rollouts()) {
      if (r.finished < r.started) {
        ctx.violations.add("times out of order", fmt::format("{} rollout of {} finished {} before it started {}", name,
                                                             c.service_names[r.service], at(r.finished), at(r.started)));
      }
    }
  }
  // Pod IPs are never reused, in any cluster.
  std::sort(all_ips.begin(), all_ips.end());
  if (const auto dup = std::adjacent_find(all_ips.begin(), all_ips.end()); dup != all_ips.end()) {
    ctx.violations.add("counters disagree", fmt::format("pod IP {} was given to two pods", pod_ip_text(*dup)));
  }

  if (const DataPlane* dp = p.data_plane()) {
    const std::string& access = dp->spec->name;
    check_api_server(ctx, access, *dp->api);
    // Every writer stage of the access cluster (the sync, mirroring).
    for (const BuiltStage& stage : p.stages()) {
      const models::ClientWorkerPool* w = stage.hooks.pool;
      if (w == nullptr || stage.placement.cluster != access) continue;
      const std::string& client = w->config().user_agent;
      note_queue(w->queue());
      ctx.agree(access + " apiserver_request_total{client=" + client + "} = its responses",
                counter_sum(m, "apiserver_request_total",
                            [&](const sim::Labels& l) {
                              return has_label(l, "cluster", access) && has_label(l, "client", client);
                            }),
                static_cast<double>(w->responses_total()));
      ctx.at_most(client + " writes <= responses", static_cast<double>(w->writes_total()),
                  static_cast<double>(w->responses_total()));
    }
    const models::IngressNginx& in = *dp->ingress;
    const auto& syncs = in.syncs();
    ctx.agree("ingress-nginx version = configurations applied", static_cast<double>(in.version()),
              static_cast<double>(syncs.size()));
    for (std::size_t i = 0; i < syncs.size(); ++i) {
      const models::IngressSync& s = syncs[i];
      const bool ok = s.version == i + 1 && s.event <= s.read_at && s.read_at <= s.applied_at && s.applied_at <= ctx.end &&
                      (i == 0 || syncs[i - 1].applied_at <= s.read_at);
      if (!ok) {
        ctx.violations.add("times out of order", fmt::format("ingress-nginx configuration {}: event {} read {} applied {}",
                                                             s.version, at(s.event), at(s.read_at), at(s.applied_at)));
      }
    }
    for (int w = 0; w < in.workers(); ++w) {
      ctx.at_most(fmt::format("nginx worker {} version <= ingress-nginx version", w),
                  static_cast<double>(in.worker_version(w)), static_cast<double>(in.version()));
    }
    if (!in.config().dynamic_configuration) {
      ctx.agree("ingress-nginx reloads = nginx_ingress_controller_success", static_cast<double>(in.reloads()),
                counter_sum(m, "nginx_ingress_controller_success", [](const sim::Labels&) { return true; }));
    }
    const models::BackendTotals totals = dp->traffic->grand_totals();
    const double failed = totals.requests_502 + totals.requests_503 + totals.requests_504;
    ctx.at_most("failed requests <= requests", failed, totals.requests * (1 + 1e-9) + 1e-6);
    for (const models::TrafficWindow& w : dp->traffic->windows()) {
      if (!(w.start <= w.end && w.end <= ctx.end)) {
        ctx.violations.add("times out of order",
                           fmt::format("window of backend {} from {} to {}", w.backend, at(w.start), at(w.end)));
      }
    }
  }
  // The workqueue gauges and counters are shared by every queue of a cluster
  // and name (the queues of successive leadership terms); the gauge must be
  // what the live queues hold, the counter at least what they added.
  for (const auto& [key, depth] : live_depth) {
    const std::string& cluster = key.first;  // a lambda may not capture a structured binding before clang 16
    const std::string& name = key.second;
    const std::string series = "{cluster=" + cluster + ",name=" + name + "}";
    ctx.agree("workqueue_depth" + series + " = depth of the live queues",
              gauge_value(m, "workqueue_depth", cluster, name), depth);
    ctx.at_most("adds of the live queues <= workqueue_adds_total" + series, live_adds[key],
                counter_sum(m, "workqueue_adds_total", [&](const sim::Labels& l) {
                  return has_label(l, "cluster", cluster) && has_label(l, "name", name);
                }));
  }
}

// ----------------------------------------------------------- (a) propagation

struct PodChange {
  sim::Time at;
  models::PodIp ip = 0;
  bool removal = false;
};

// The stages on the path of a cluster's changes, and whether a change at `t`
// is still inside a backlog of one of them at the end.
struct Path {
  std::vector<const models::WorkQueue*> queues;
  bool backlogged_at(sim::Time t) const {
    for (const models::WorkQueue* q : queues) {
      if (!q->idle() && t >= q->last_idle_at()) return true;
    }
    return false;
  }
  // Whether a stage still has work for this service: its key waiting,
  // queued or being processed (the endpoints controller keys by service, the
  // sync component and the mirroring controller by backend, the access
  // cluster's Service). Other services' keys do not hold this one back.
  bool holds(models::ServiceId service, std::uint32_t backend) const {
    for (std::size_t i = 0; i < queues.size(); ++i) {
      const models::WorkQueue* q = queues[i];
      const std::uint32_t key = i == 0 ? service : backend;
      if (q->is_dirty(key) || q->is_processing(key) || q->is_waiting(key)) return true;
    }
    return false;
  }
};

// Where a change that follow_change could not follow stopped.
std::string stopped_at(const Pipeline& p, const ClusterRuntime& c, models::ServiceId service, const PodChange& ch) {
  const DataPlane* dp = p.data_plane();
  const std::uint32_t backend = c.backend_offset + service;
  auto next = [&](const models::StageLog& log, std::uint32_t object, sim::Time after) {
    return ch.removal ? log.first_without(object, ch.ip, after) : log.first_with(object, ch.ip, after);
  };
  const models::StageWrite* b = next(c.controller_manager->endpoints_controller().writes(), service, ch.at);
  if (b == nullptr) return "the endpoints controller never wrote it";
  const models::StageWrite* s = next(dp->sync->pool().writes(), backend, b->stored);
  if (s == nullptr) return fmt::format("the controller stored it at {}; the sync component never copied it", at(b->stored));
  sim::Time upstream = s->stored;
  if (dp->mirroring) {
    const models::StageWrite* m = next(dp->mirroring->pool().writes(), backend, s->stored);
    if (m == nullptr) return fmt::format("the sync component stored it at {}; mirroring never wrote it", at(s->stored));
    upstream = m->stored;
  }
  const auto& syncs = dp->ingress->syncs();
  const auto it = std::lower_bound(syncs.begin(), syncs.end(), upstream,
                                   [](const models::IngressSync& x, sim::Time t) { return x.read_at < t; });
  if (it == syncs.end()) return fmt::format("stored upstream at {}; no ingress-nginx configuration read it", at(upstream));
  for (int w = 0; w < dp->ingress->workers(); ++w) {
    if (dp->ingress->worker_pickup(w, it->version) == sim::Time::max()) {
      return fmt::format("ingress-nginx applied it at {} (configuration {}); nginx worker {} never picked it up",
                         at(it->applied_at), it->version, w);
    }
  }
  return "followed";  // not reached: follow_change found it
}

std::vector<models::PodIp> sorted(std::vector<models::PodIp> ips) {
  std::sort(ips.begin(), ips.end());
  return ips;
}

void check_propagation(Context& ctx) {
  const Pipeline& p = ctx.p;
  const DataPlane* dp = p.data_plane();
  std::set<std::size_t> synced;
  if (dp != nullptr) {
    for (const Backend& b : dp->backends) synced.insert(b.cluster);
  }
  for (std::size_t ci = 0; ci < p.clusters().size(); ++ci) {
    const ClusterRuntime& c = *p.clusters()[ci];
    const bool feeds_ingress = synced.count(ci) != 0;
    const models::EndpointsController& ec = c.controller_manager->endpoints_controller();
    Path path;
    path.queues.push_back(&ec.queue());
    if (feeds_ingress) {
      path.queues.push_back(&dp->sync->pool().queue());
      if (dp->mirroring) path.queues.push_back(&dp->mirroring->pool().queue());
    }
    const std::size_t services = c.service_names.size();
    const models::PodRecords records = c.deployments->pod_records();
    std::vector<std::vector<models::PodId>> pods(services);
    for (models::PodId id = 0; id < records.size(); ++id) pods[records[id].service].push_back(id);
    // A service without changes counts as settled since before the start.
    std::vector<sim::Time> last_change(services, sim::Time::zero() - ctx.options.in_flight);
    for (const models::RolloutRecord& r : c.deployments->rollouts()) {
      last_change[r.service] = std::max(last_change[r.service], r.started);
    }
    for (models::ServiceId s = 0; s < services; ++s) {
      const models::Service* service = c.api->service(s);
      if (service == nullptr || !service->has_selector) continue;
      const bool publish = service->publish_not_ready;
      std::vector<PodChange> changes;
      std::vector<models::PodIp> expected;
      for (const models::PodId id : pods[s]) {
        const models::PodRecord r = records[id];
        const bool seeded = r.created == sim::Time::zero() && r.ready_at == sim::Time::zero();
        for (sim::Time t : {r.created, r.ready_at, r.terminating_at, r.dead_at}) {
          if (t <= ctx.end && !seeded) last_change[s] = std::max(last_change[s], t);
        }
        if (publish) {
          // Listed from creation (ready or not) until the pod object is gone.
          if (!seeded) changes.push_back({r.created, r.ip, false});
          if (r.dead_at < ctx.end) changes.push_back({r.dead_at, r.ip, true});
          if (r.dead_at == sim::Time::max()) expected.push_back(r.ip);
        } else {
          // Routed from Ready until deletionTimestamp; a pod that never was
          // Ready never was routed, so its removal changes no routing.
          if (r.ready_at > sim::Time::zero() && r.ready_at < ctx.end) changes.push_back({r.ready_at, r.ip, false});
          if (r.terminating_at < ctx.end && r.ready_at < r.terminating_at) {
            changes.push_back({r.terminating_at, r.ip, true});
          }
          if (r.ready_at <= ctx.end && r.terminating_at == sim::Time::max()) expected.push_back(r.ip);
        }
      }
      std::sort(expected.begin(), expected.end());
      const bool settled =
          ctx.end - last_change[s] >= ctx.options.in_flight && !path.holds(s, c.backend_offset + s);

      // Convergence: the stored Endpoints, and downstream what nginx routes.
      if (settled) {
        ++ctx.stats.backends_converged;
        const models::Endpoints* e = c.api->endpoints(s);
        const std::vector<models::PodIp> stored = e == nullptr ? std::vector<models::PodIp>{} : models::ready_ips(*e);
        if (stored != expected) {
          ctx.violations.add("not converged", fmt::format("{} {}: Endpoints list {} at the end, its ready pods are {}",
                                                          c.spec->name, c.service_names[s], ips_text(stored),
                                                          ips_text(expected)));
        }
        if (feeds_ingress) {
          const std::uint32_t backend = c.backend_offset + s;
          const models::IngressNginx& in = *dp->ingress;
          if (in.running(backend) != expected) {
            ctx.violations.add("not converged",
                               fmt::format("{} {}: ingress-nginx's configuration lists {} at the end, its ready pods are {}",
                                           c.spec->name, c.service_names[s], ips_text(in.running(backend)),
                                           ips_text(expected)));
          }
          for (int w = 0; w < in.workers(); ++w) {
            // A worker behind the newest configuration missed a POST stamped
            // with the second it had already synced (balancer.lua), a
            // modelled upstream behaviour: it catches up with the next POST.
            if (in.worker_version(w) != in.version()) continue;
            const auto routed = sorted(dp->traffic->upstreams(backend, w));
            if (routed != expected) {
              ctx.violations.add("not converged",
                                 fmt::format("{} {}: nginx worker {} routes {} at the end, its ready pods are {}",
                                             c.spec->name, c.service_names[s], w, ips_text(routed), ips_text(expected)));
            }
          }
        }
      }
      if (!feeds_ingress) continue;

      // Every change reached every worker, or was superseded, or is in flight.
      std::sort(changes.begin(), changes.end(),
                [](const PodChange& a, const PodChange& b) { return a.at < b.at || (a.at == b.at && a.ip < b.ip); });
      bool later_ok = false;
      std::vector<std::string> lost;  // newest first
      for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
        ++ctx.stats.pod_changes;
        if (follow_change(p, c, s, it->ip, it->at, it->removal)) {
          ++ctx.stats.reached;
          later_ok = true;
        } else if (later_ok) {
          ++ctx.stats.superseded;
        } else if (ctx.end - it->at < ctx.options.in_flight || path.backlogged_at(it->at)) {
          ++ctx.stats.in_flight;
          later_ok = true;
        } else {
          lost.push_back(fmt::format("{} {}: {} of {} at {} never reached every nginx worker and nothing later "
                                     "superseded it ({})",
                                     c.spec->name, c.service_names[s], it->removal ? "removal" : "addition",
                                     pod_ip_text(it->ip), at(it->at), stopped_at(p, c, s, *it)));
        }
      }
      for (auto it = lost.rbegin(); it != lost.rend(); ++it) ctx.violations.add("pod change lost", std::move(*it));
    }
  }
}

}  // namespace

std::vector<std::string> check_invariants(const Pipeline& pipeline, const InvariantOptions& options,
                                          InvariantStats* stats) {
  InvariantStats local;
  InvariantStats& st = stats != nullptr ? *stats : local;
  st = InvariantStats{};
  Violations violations(options.max_messages_per_kind);
  Context ctx{pipeline, options, st, violations, sim::Time::zero() + pipeline.scenario().duration};
  check_events(ctx);
  check_counters(ctx);
  check_stage_logs(ctx);
  check_propagation(ctx);
  return violations.take();
}

}  // namespace epsim::app
