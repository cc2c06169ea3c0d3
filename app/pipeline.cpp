#include "app/pipeline.h"

#include <fmt/format.h>

#include "app/input_error.h"
#include "app/limits.h"
#include "app/topology.h"

#include <algorithm>

namespace epsim::app {

Pipeline::Pipeline(const Scenario& scenario)
    : scenario_(scenario), simulator_(sim::SimulatorOptions{scenario.max_events}) {
  try {
    build();
  } catch (const sim::TimeOverflow& e) {
    throw InputError((scenario_.path.empty() ? std::string("<embedded scenario>") : scenario_.path) +
                     ": the scenario's durations add up beyond int64 nanoseconds (about 292 years): " + e.what());
  }
}

sim::Duration sample_interval(sim::Duration run) {
  constexpr std::int64_t kPerSecond = kMaxSamples * 1'000'000'000;  // ns of run per second of interval
  const std::int64_t whole_seconds = run.ns() / kPerSecond + (run.ns() % kPerSecond != 0 ? 1 : 0);
  return sim::Duration::seconds(std::max<std::int64_t>(1, whole_seconds));
}

void Pipeline::build() {
  const Scenario& scenario = scenario_;
  // Components start in topology order (sources before their consumers);
  // building the order also proves the topology acyclic.
  (void)Topology(scenario).start_order();
  sampler_ = std::make_unique<sim::TimeSeriesSampler>(simulator_, sample_interval(scenario.duration));
  for (const ClusterSpec& c : scenario.clusters) {
    if (c.role == "business") build_cluster(c);
  }
  if (scenario.sync.present) build_data_plane();
  wire_dead_ips();
  for (auto& c : clusters_) add_series(*c);
  if (data_plane_) add_data_plane_series();
  sampler_->start(sim::Time::zero(), sim::Time::zero() + scenario.duration);
}

void Pipeline::build_data_plane() {
  const SyncSpec& sync = scenario_.sync;
  const IngressSpec& in = scenario_.ingress;
  auto dp = std::make_unique<DataPlane>();
  for (const auto& c : scenario_.clusters) {
    if (c.name == sync.to) dp->spec = &c;
  }
  dp->api = std::make_unique<models::ApiServer>(simulator_, metrics_, scenario_.seed, dp->spec->name,
                                                dp->spec->api_server);
  // Backends: the services of each synced business cluster, in sync.from order.
  std::vector<double> rates;
  std::vector<ClusterRuntime*> sources;
  for (const auto& name : sync.from) {
    for (std::size_t i = 0; i < clusters_.size(); ++i) {
      ClusterRuntime& c = *clusters_[i];
      if (c.spec->name != name) continue;
      c.backend_offset = static_cast<std::uint32_t>(dp->backends.size());
      sources.push_back(&c);
      models::ServiceId id = 0;
      for (const ServiceGroupSpec& g : c.spec->services) {
        for (std::uint32_t k = 0; k < g.count; ++k, ++id) {
          dp->backends.push_back(Backend{i, id});
          rates.push_back(g.requests_per_second);
        }
      }
    }
  }
  const std::size_t backends = dp->backends.size();
  const auto traits = *ingress_version_traits(in.version);
  // Steady state: the access cluster's Endpoints (and slices) copy the business ones.
  for (std::uint32_t b = 0; b < backends; ++b) {
    const ClusterRuntime& c = *clusters_[dp->backends[b].cluster];
    models::Service service;
    service.id = b;
    service.has_selector = false;
    dp->api->seed_service(service);
    if (const models::Endpoints* e = c.api->endpoints(dp->backends[b].service)) {
      models::Endpoints copy;
      copy.service = b;
      copy.addresses = e->addresses;
      copy.not_ready_addresses = e->not_ready_addresses;
      dp->api->seed_endpoints(copy);
      if (traits.read_endpoint_slices) dp->api->seed_endpoint_slice(copy);
    }
  }
  dp->sync = std::make_unique<models::EndpointSync>(simulator_, metrics_, *dp->api, sync.config, backends,
                                                     scenario_.seed);
  for (ClusterRuntime* c : sources) {
    dp->sync->add_source(*c->api, c->backend_offset, c->service_names.size(), c->spec->name);
  }
  const sim::Time end = sim::Time::zero() + scenario_.duration;
  dp->sync->start_steady(end);
  if (traits.read_endpoint_slices) {
    models::MirroringConfig m;
    m.workers = dp->spec->mirroring_workers;
    m.kube_api_qps = dp->spec->controller_manager.endpoints.kube_api_qps;
    m.kube_api_burst = dp->spec->controller_manager.endpoints.kube_api_burst;
    dp->mirroring = std::make_unique<models::EndpointSliceMirroring>(simulator_, metrics_, *dp->api, m, backends);
    dp->mirroring->start_steady();
  }
  models::IngressNginxConfig ic = in.config;
  ic.read_endpoint_slices = traits.read_endpoint_slices;
  ic.dynamic_configuration = traits.dynamic_configuration;
  dp->traffic = std::make_unique<models::Traffic>(simulator_, scenario_.seed, scenario_.traffic, ic.worker_processes);
  for (double r : rates) dp->traffic->add_backend(r);
  dp->ingress = std::make_unique<models::IngressNginx>(simulator_, metrics_, *dp->api, *dp->traffic, scenario_.seed,
                                                      ic, backends);
  dp->ingress->start_steady();
  for (ClusterRuntime* c : sources) c->ingress_traffic = dp->traffic.get();
  dp->traffic->start(end);
  data_plane_ = std::move(dp);
}

// A pod's IP stops answering: every consumer that may still route to it
// hears it (ingress-nginx's traffic, kube-proxy's in-cluster clients).
void Pipeline::wire_dead_ips() {
  for (auto& c : clusters_) {
    models::Traffic* traffic = c->ingress_traffic;
    models::KubeProxy* proxy = c->kube_proxy.get();
    if (traffic == nullptr && proxy == nullptr) continue;
    c->deployments->set_on_ip_dead([traffic, proxy](models::PodIp ip) {
      if (traffic != nullptr) traffic->set_ip_dead(ip);
      if (proxy != nullptr) proxy->set_ip_dead(ip);
    });
  }
}

void Pipeline::build_kube_proxy(ClusterRuntime& c) {
  const ClusterSpec& spec = *c.spec;
  c.kube_proxy = std::make_unique<models::KubeProxy>(simulator_, *c.api, scenario_.seed, spec.name,
                                                     resolve_kube_proxy(spec), c.service_names.size());
  models::ServiceId id = 0;
  for (const ServiceGroupSpec& g : spec.services) {
    for (std::uint32_t k = 0; k < g.count; ++k, ++id) {
      if (g.in_cluster_rps > 0) c.kube_proxy->add_client_service(id, g.in_cluster_rps);
    }
  }
  c.kube_proxy->start_steady(sim::Time::zero() + scenario_.duration);
}

void Pipeline::add_series(ClusterRuntime& c) {
  using Kind = sim::TimeSeriesSampler::Kind;
  const std::string prefix = c.spec->name + "/";
  const auto& controller = c.controller_manager->endpoints_controller();
  const models::ApiServer* api = c.api.get();
  const models::EndpointsController* ec = &controller;
  sampler_->add_series(prefix + "workqueue_depth", Kind::level, [ec] {
    return static_cast<double>(ec->queue().len() + ec->queue().processing_count());
  });
  sampler_->add_series(prefix + "workqueue_adds", Kind::delta,
                       [ec] { return static_cast<double>(ec->queue().adds_total()); });
  sampler_->add_series(prefix + "endpoint_puts", Kind::delta,
                       [ec] { return static_cast<double>(ec->endpoint_writes_total()); });
  sampler_->add_series(prefix + "apiserver_requests", Kind::delta,
                       [api] { return static_cast<double>(api->requests_total()); });
  sampler_->add_series(prefix + "apiserver_writes", Kind::delta,
                       [api] { return static_cast<double>(api->writes_applied()); });
  sampler_->add_series(prefix + "apiserver_mutating_inflight", Kind::level,
                       [api] { return static_cast<double>(api->mutating_inflight()); });
  add_latency_series(prefix, *api);
}

// Mean latency of the requests the API server answered in each interval
// (0 when it answered none): the histogram's sum and count since the last
// sample. The sampler calls each probe once per sample, in time order.
void Pipeline::add_latency_series(const std::string& prefix, const models::ApiServer& api) {
  const sim::Histogram* h = &api.request_duration();
  sampler_->add_series(prefix + "apiserver_latency_mean_s", sim::TimeSeriesSampler::Kind::level,
                       [h, last_sum = 0.0, last_count = std::uint64_t{0}]() mutable {
                         const double sum = h->sum() - last_sum;
                         const std::uint64_t count = h->count() - last_count;
                         last_sum = h->sum();
                         last_count = h->count();
                         return count == 0 ? 0.0 : sum / static_cast<double>(count);
                       });
}

// Data-plane columns: the access cluster's API server, the sync component's
// queue, ingress-nginx's syncs and the traffic (expected counts per second:
// the failure probabilities integrated over the second).
void Pipeline::add_data_plane_series() {
  using Kind = sim::TimeSeriesSampler::Kind;
  const DataPlane* dp = data_plane_.get();
  const models::ApiServer* api = dp->api.get();
  const std::string access = dp->spec->name + "/";
  sampler_->add_series(access + "apiserver_writes", Kind::delta,
                       [api] { return static_cast<double>(api->writes_applied()); });
  add_latency_series(access, *api);
  const models::EndpointSync* sync = dp->sync.get();
  sampler_->add_series("sync/queue_depth", Kind::level, [sync] {
    return static_cast<double>(sync->pool().queue().len() + sync->pool().queue().processing_count());
  });
  sampler_->add_series("sync/writes", Kind::delta, [sync] { return static_cast<double>(sync->pool().writes_total()); });
  const models::IngressNginx* ingress = dp->ingress.get();
  sampler_->add_series("ingress/syncs", Kind::delta, [ingress] { return static_cast<double>(ingress->syncs().size()); });
  const models::Traffic* traffic = dp->traffic.get();
  sampler_->add_series("ingress/requests", Kind::delta, [traffic] { return traffic->expected_requests(); });
  sampler_->add_series("ingress/requests_5xx", Kind::delta, [traffic] { return traffic->expected_failures(); });
  sampler_->add_series("ingress/requests_504", Kind::delta, [traffic] { return traffic->expected_504s(); });
}

namespace {

// A stage's writes: the client's throttle wait, then the request (the trace
// output splits overlapping spans of several workers into lanes).
void record_writes(sim::SpanRecorder& spans, const std::string& track_name, const models::StageLog& log,
                   std::uint32_t throttle, std::uint32_t request) {
  const std::uint32_t track = spans.track(track_name);
  for (std::uint32_t object = 0; object < log.objects(); ++object) {
    for (const models::StageWrite& w : log.writes_of(object)) {
      if (w.sent > w.started) spans.record(track, throttle, w.started, w.sent);
      spans.record(track, request, w.sent, w.stored);
    }
  }
}

}  // namespace

void Pipeline::record_spans() {
  const sim::Time end = sim::Time::zero() + scenario_.duration;
  const std::uint32_t resync = spans_.name("resync storm");
  const std::uint32_t startup = spans_.name("controller start");
  const std::uint32_t rollout = spans_.name("rollout");
  const std::uint32_t throttle = spans_.name("client throttle wait");
  const std::uint32_t put = spans_.name("Endpoints write");
  for (const auto& c : clusters_) {
    const std::uint32_t track = spans_.track(c->spec->name + " endpoints controller");
    for (const auto& e : c->controller_manager->endpoints_controller().episodes()) {
      spans_.record(track, e.kind == models::SyncEpisode::Kind::resync ? resync : startup, e.at,
                    e.finished ? e.ended : end);
    }
    const std::uint32_t deploys = spans_.track(c->spec->name + " deployments");
    for (const auto& r : c->deployments->rollouts()) {
      spans_.record(deploys, rollout, r.started, std::min(r.finished, end));
    }
    record_writes(spans_, c->spec->name + " endpoints writes", c->controller_manager->endpoints_controller().writes(),
                  throttle, put);
  }
  if (data_plane_) {
    record_writes(spans_, "sync component writes", data_plane_->sync->pool().writes(), throttle, put);
    if (data_plane_->mirroring) {
      record_writes(spans_, "EndpointSlice mirroring writes", data_plane_->mirroring->pool().writes(), throttle,
                    spans_.name("EndpointSlice write"));
    }
    const std::uint32_t ingress = spans_.track("ingress-nginx syncs");
    const std::uint32_t sync = spans_.name("ingress-nginx sync");
    for (const auto& s : data_plane_->ingress->syncs()) spans_.record(ingress, sync, s.read_at, std::min(s.applied_at, end));
  }
}

void Pipeline::build_cluster(const ClusterSpec& spec) {
  auto rt = std::make_unique<ClusterRuntime>();
  rt->spec = &spec;
  rt->switches = resolve_switches(spec);
  rt->api = std::make_unique<models::ApiServer>(simulator_, metrics_, scenario_.seed, spec.name, spec.api_server);
  // Pod IPs: each business cluster gets its own range (2^24 pods).
  const auto first_ip = static_cast<models::PodIp>((clusters_.size() << 24) + 1);
  rt->deployments = std::make_unique<models::Deployments>(simulator_, *rt->api, scenario_.seed, spec.name, first_ip);

  models::ServiceId next = 0;
  double churn = -1;
  for (const ServiceGroupSpec& g : spec.services) {
    for (std::uint32_t i = 1; i <= g.count; ++i) {
      const std::string name = fmt::format("{}/{}{:05d}", g.namespace_name, g.name_prefix, i);
      if (!rt->service_ids.emplace(name, next).second) {
        throw InputError(fmt::format("{}: service {} is defined twice in cluster {}", g.origin, name, spec.name));
      }
      rt->service_names.push_back(name);
      models::Service s;
      s.id = next;
      s.headless = g.headless;
      s.has_selector = g.selector;
      s.publish_not_ready = g.publish_not_ready_addresses;
      s.creation_time = sim::Time::zero();
      rt->deployments->add_service(s, g.workload);
      ++next;
    }
    // One churn rate per cluster: the largest any group asks for.
    churn = std::max(churn, g.pod_status_churn_per_hour);
  }

  models::ControllerManagerConfig cm = spec.controller_manager;
  cm.endpoints.switches = rt->switches;
  // The EndpointSlice controller (on by default from 1.18): its own workers,
  // and its own client with kube-controller-manager's QPS and burst.
  cm.endpoint_slice_controller = resolve_endpoint_slice_controller(spec);
  cm.endpoint_slices.concurrent_service_endpoint_syncs = spec.concurrent_service_endpoint_syncs;
  cm.endpoint_slices.kube_api_qps = cm.endpoints.kube_api_qps;
  cm.endpoint_slices.kube_api_burst = cm.endpoints.kube_api_burst;
  // It compared TargetRef.ResourceVersion too, until #108078 (switch C).
  cm.endpoint_slices.target_ref_resource_version_compare = rt->switches.target_ref_resource_version_compare;
  rt->controller_manager = std::make_unique<models::ControllerManager>(simulator_, metrics_, *rt->api, scenario_.seed,
                                                                       spec.name, cm, rt->service_names.size());
  rt->controller_manager->start_steady(sim::Time::zero() - spec.informer_start);
  for (const sim::Duration& at : spec.leader_changes) {
    rt->controller_manager->schedule_leader_change(sim::Time::zero() + at);
  }
  const sim::Time end = sim::Time::zero() + scenario_.duration;
  if (churn > 0) rt->deployments->start_status_churn(churn, end);
  if (in_cluster_clients(spec)) build_kube_proxy(*rt);
  clusters_.push_back(std::move(rt));
  schedule_deploys(*clusters_.back());
}

void Pipeline::schedule_deploys(ClusterRuntime& cluster) {
  const sim::Time end = sim::Time::zero() + scenario_.duration;
  // Background entries add up: one Poisson process at the summed rate.
  double background_per_hour = 0;
  for (const DeploySpec& d : cluster.spec->deploys) {
    if (d.kind == DeploySpec::Kind::background) background_per_hour += d.rate_per_hour;
  }
  if (background_per_hour > 0) {
    std::vector<models::ServiceId> all(cluster.service_names.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<models::ServiceId>(i);
    cluster.deployments->start_background_deploys(background_per_hour, end, std::move(all));
  }
  for (const DeploySpec& d : cluster.spec->deploys) {
    if (d.kind == DeploySpec::Kind::background) continue;
    const auto it = cluster.service_ids.find(d.service);
    if (it == cluster.service_ids.end()) {
      throw InputError(fmt::format("{}: deploy of unknown service \"{}\" in cluster {} (names look like {})", d.origin,
                                   d.service, cluster.spec->name, cluster.service_names.front()));
    }
    cluster.controller_manager->watch_queue_position(it->second);
    sim::Time at = sim::Time::zero() + d.at;
    if (d.kind == DeploySpec::Kind::after_resync) {
      // Resync instants of the first term are fixed at start: first + (n-1)·P.
      const auto& cm = *cluster.controller_manager;
      at = cm.first_resync_at() + cm.resync_period() * (d.nth_resync - 1) + d.offset;
    }
    if (at > end) continue;  // beyond the scenario: nothing to simulate
    cluster.deployments->schedule_rollout(it->second, at);
  }
}

void Pipeline::record_scrapes(sim::Duration interval) {
  const sim::Duration sample = sampler_->interval();
  if (!(interval > sim::Duration::zero()) || interval.ns() % sample.ns() != 0) {
    throw InputError(
        fmt::format("--scrape-interval {}: must be a positive multiple of the time-series sample "
                    "interval of this run ({})",
                    sim::format_duration(interval), sim::format_duration(sample)));
  }
  scrapes_ = std::make_unique<MetricScrapes>(interval);
  MetricScrapes* scrapes = scrapes_.get();
  const sim::MetricsRegistry* registry = &metrics_;
  sampler_->add_observer([scrapes, registry](sim::Time now) { scrapes->on_sample(now, *registry); });
  if (data_plane_) {
    data_plane_->traffic->set_booking_listener(
        [scrapes](std::uint32_t backend, sim::Time from, sim::Time to, const models::BackendTotals& counts) {
          scrapes->on_booking(backend, from, to, counts);
        });
  }
}

void Pipeline::run(const std::function<void(double fraction_done)>& progress) {
  const sim::Time end = sim::Time::zero() + scenario_.duration;
  sim::RunOutcome outcome = sim::RunOutcome::reached_end;
  try {
    // In steps of 1/200 of the run for the progress callback; run_until is
    // inclusive and resumable, so the steps change nothing in the run.
    constexpr int kSteps = 200;
    for (int step = 1; step <= kSteps && outcome == sim::RunOutcome::reached_end; ++step) {
      const sim::Time until = step == kSteps ? end : sim::Time::zero() + (scenario_.duration / kSteps) * step;
      outcome = simulator_.run_until(until);
      if (progress) progress(static_cast<double>(step) / kSteps);
    }
  } catch (const sim::TimeOverflow& e) {
    throw InputError((scenario_.path.empty() ? std::string("<embedded scenario>") : scenario_.path) +
                     ": the scenario's durations add up beyond int64 nanoseconds (about 292 years): " + e.what());
  }
  if (outcome == sim::RunOutcome::event_limit) {
    throw InputError(fmt::format("event limit of {} reached at t={:.3f}s before the scenario end ({}s); raise maxEvents "
                                 "or shorten the duration",
                                 simulator_.max_events(), simulator_.now().seconds_f(), end.seconds_f()));
  }
  if (data_plane_) data_plane_->traffic->finish();
  for (auto& c : clusters_) {
    if (c->kube_proxy) c->kube_proxy->finish();
  }
  record_spans();
  for (auto& c : clusters_) c->limits = limit_cover(*c);
}

}  // namespace epsim::app
