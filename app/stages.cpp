// The registrations of the components epsim models (app/stage.h): where
// each runs (place_*) and how it is built (build_*), and the table
// default_stage_registry() returns. The consumers' registrations, with
// what the reports need of them (app/consumer.h), have their own files in
// app/stages/.
#include <algorithm>

#include "app/causality.h"
#include "app/pipeline.h"
#include "app/stage.h"
#include "app/stages/registrations.h"

namespace epsim::app {

namespace {

using Kind = sim::TimeSeriesSampler::Kind;

// Mean latency of the requests the API server answered in each interval
// (0 when it answered none): the histogram's sum and count since the last
// sample. The sampler calls each probe once per sample, in time order.
void add_latency_series(sim::TimeSeriesSampler& sampler, const std::string& prefix, const models::ApiServer& api) {
  const sim::Histogram* h = &api.request_duration();
  sampler.add_series(prefix + "apiserver_latency_mean_s", Kind::level,
                     [h, last_sum = 0.0, last_count = std::uint64_t{0}]() mutable {
                       const double sum = h->sum() - last_sum;
                       const std::uint64_t count = h->count() - last_count;
                       last_sum = h->sum();
                       last_count = h->count();
                       return count == 0 ? 0.0 : sum / static_cast<double>(count);
                     });
}

// Deployments and the kubelet: the pods every other stage follows. The
// pipeline builds them with the cluster (its Services need them first) and
// schedules the scenario's deploys once the cluster's controllers exist.
std::optional<StagePlacement> place_deployments(const Scenario&, const ClusterSpec* c) {
  return StagePlacement{c->name + "/deployments+kubelet", c->name, {}, {c->name + "/Pods"}, {}};
}

StageHooks build_deployments(StageContext& context) {
  const ClusterRuntime* c = context.cluster;
  StageHooks hooks;
  hooks.record_writes = [c](sim::SpanRecorder& spans, sim::Time end) {
    const std::uint32_t track = spans.track(c->spec->name + " deployments");
    const std::uint32_t rollout = spans.name("rollout");
    for (const auto& r : c->deployments->rollouts()) spans.record(track, rollout, r.started, std::min(r.finished, end));
  };
  return hooks;
}

// kube-controller-manager's endpoints controller. It builds the controller
// manager, which also runs the EndpointSlice controller when that is on
// (models/controller_manager.h: one process, one leadership).
std::optional<StagePlacement> place_endpoints_controller(const Scenario&, const ClusterSpec* c) {
  return StagePlacement{c->name + "/endpoints-controller",
                        c->name,
                        {c->name + "/Pods", c->name + "/Services"},
                        {c->name + "/Endpoints"},
                        {}};
}

StageHooks build_endpoints_controller(StageContext& context) {
  ClusterRuntime& rt = *context.cluster;
  const ClusterSpec& spec = *rt.spec;
  models::ControllerManagerConfig cm = spec.controller_manager;
  cm.endpoints.switches = rt.switches;
  // The EndpointSlice controller (on by default from 1.18): its own workers,
  // and its own client with kube-controller-manager's QPS and burst.
  cm.endpoint_slice_controller = resolve_endpoint_slice_controller(spec);
  cm.endpoint_slices.concurrent_service_endpoint_syncs = spec.concurrent_service_endpoint_syncs;
  cm.endpoint_slices.kube_api_qps = cm.endpoints.kube_api_qps;
  cm.endpoint_slices.kube_api_burst = cm.endpoints.kube_api_burst;
  // It compared TargetRef.ResourceVersion too, until #108078 (switch C).
  cm.endpoint_slices.target_ref_resource_version_compare = rt.switches.target_ref_resource_version_compare;
  rt.controller_manager = std::make_unique<models::ControllerManager>(
      context.simulator, context.metrics, *rt.api, context.scenario.seed, spec.name, cm, rt.service_names.size());
  rt.controller_manager->start_steady(sim::Time::zero() - spec.informer_start);
  for (const sim::Duration& at : spec.leader_changes) {
    rt.controller_manager->schedule_leader_change(sim::Time::zero() + at);
  }
  const ClusterRuntime* c = &rt;
  StageHooks hooks;
  hooks.pool = &rt.controller_manager->endpoints_controller().pool();
  // Its queue and writes, and the API server it writes to.
  hooks.add_series = [c](sim::TimeSeriesSampler& sampler) {
    const std::string prefix = c->spec->name + "/";
    const models::EndpointsController* ec = &c->controller_manager->endpoints_controller();
    const models::ApiServer* api = c->api.get();
    sampler.add_series(prefix + "workqueue_depth", Kind::level,
                       [ec] { return static_cast<double>(ec->queue().len() + ec->queue().processing_count()); });
    sampler.add_series(prefix + "workqueue_adds", Kind::delta,
                       [ec] { return static_cast<double>(ec->queue().adds_total()); });
    sampler.add_series(prefix + "endpoint_puts", Kind::delta,
                       [ec] { return static_cast<double>(ec->endpoint_writes_total()); });
    sampler.add_series(prefix + "apiserver_requests", Kind::delta,
                       [api] { return static_cast<double>(api->requests_total()); });
    sampler.add_series(prefix + "apiserver_writes", Kind::delta,
                       [api] { return static_cast<double>(api->writes_applied()); });
    sampler.add_series(prefix + "apiserver_mutating_inflight", Kind::level,
                       [api] { return static_cast<double>(api->mutating_inflight()); });
    add_latency_series(sampler, prefix, *api);
  };
  hooks.record_activity = [c](sim::SpanRecorder& spans, sim::Time end) {
    const std::uint32_t track = spans.track(c->spec->name + " endpoints controller");
    const std::uint32_t resync = spans.name("resync storm");
    const std::uint32_t startup = spans.name("controller start");
    for (const auto& e : c->controller_manager->endpoints_controller().episodes()) {
      spans.record(track, e.kind == models::SyncEpisode::Kind::resync ? resync : startup, e.at,
                   e.finished ? e.ended : end);
    }
  };
  hooks.writes_track = spec.name + " endpoints writes";
  hooks.written_span = "Endpoints write";
  return hooks;
}

// The EndpointSlice controller (models/endpoint_slice_controller.h): built
// inside kube-controller-manager by the endpoints controller's stage.
std::optional<StagePlacement> place_endpoint_slice_controller(const Scenario&, const ClusterSpec* c) {
  if (!resolve_endpoint_slice_controller(*c)) return std::nullopt;
  return StagePlacement{c->name + "/endpointslice-controller",
                        c->name,
                        {c->name + "/Pods", c->name + "/Services"},
                        {c->name + "/EndpointSlices"},
                        {}};
}

StageHooks build_endpoint_slice_controller(StageContext& context) {
  StageHooks hooks;
  hooks.pool = &context.cluster->controller_manager->endpoint_slice_controller()->pool();
  return hooks;
}

// The multi-cluster sync component: business Endpoints copied into the
// access cluster (models/endpoint_sync.h).
std::optional<StagePlacement> place_endpoint_sync(const Scenario& s, const ClusterSpec*) {
  StagePlacement p{"endpoint-sync", s.sync.to, {}, {s.sync.to + "/Endpoints"}, {}};
  for (const auto& from : s.sync.from) p.watches.push_back(from + "/Endpoints");
  return p;
}

StageHooks build_endpoint_sync(StageContext& context) {
  DataPlane& dp = *context.data_plane;
  dp.sync = std::make_unique<models::EndpointSync>(context.simulator, context.metrics, *dp.api,
                                                   context.scenario.sync.config, dp.backends.size(),
                                                   context.scenario.seed);
  for (const auto& name : context.scenario.sync.from) {
    for (const auto& c : context.clusters) {
      if (c->spec->name == name) dp.sync->add_source(*c->api, c->backend_offset, c->service_names.size(), name);
    }
  }
  dp.sync->start_steady(sim::Time::zero() + context.scenario.duration);
  const DataPlane* plane = &dp;
  StageHooks hooks;
  hooks.pool = &dp.sync->pool();
  // The access cluster's API server, then the sync's queue and writes.
  hooks.add_series = [plane](sim::TimeSeriesSampler& sampler) {
    const models::ApiServer* api = plane->api.get();
    const std::string access = plane->spec->name + "/";
    sampler.add_series(access + "apiserver_writes", Kind::delta,
                       [api] { return static_cast<double>(api->writes_applied()); });
    add_latency_series(sampler, access, *api);
    const models::EndpointSync* sync = plane->sync.get();
    sampler.add_series("sync/queue_depth", Kind::level, [sync] {
      return static_cast<double>(sync->pool().queue().len() + sync->pool().queue().processing_count());
    });
    sampler.add_series("sync/writes", Kind::delta, [sync] { return static_cast<double>(sync->pool().writes_total()); });
  };
  hooks.writes_track = "sync component writes";
  hooks.written_span = "Endpoints write";
  return hooks;
}

// EndpointSlice mirroring in the access cluster, when ingress-nginx reads
// EndpointSlices (>= 1.4; models/endpoint_slice_mirroring.h).
std::optional<StagePlacement> place_endpoint_slice_mirroring(const Scenario& s, const ClusterSpec*) {
  const auto traits = ingress_version_traits(s.ingress.version);
  if (!traits || !traits->read_endpoint_slices) return std::nullopt;
  const std::string& access = s.sync.to;
  return StagePlacement{
      access + "/endpointslice-mirroring", access, {access + "/Endpoints"}, {access + "/EndpointSlices"}, {}};
}

StageHooks build_endpoint_slice_mirroring(StageContext& context) {
  DataPlane& dp = *context.data_plane;
  models::MirroringConfig m;
  m.workers = dp.spec->mirroring_workers;
  m.kube_api_qps = dp.spec->controller_manager.endpoints.kube_api_qps;
  m.kube_api_burst = dp.spec->controller_manager.endpoints.kube_api_burst;
  dp.mirroring = std::make_unique<models::EndpointSliceMirroring>(context.simulator, context.metrics, *dp.api, m,
                                                                  dp.backends.size());
  dp.mirroring->start_steady();
  StageHooks hooks;
  hooks.pool = &dp.mirroring->pool();
  hooks.writes_track = "EndpointSlice mirroring writes";
  hooks.written_span = "EndpointSlice write";
  return hooks;
}

}  // namespace

// The stages a window's removal waits in: the business writer's (its
// workqueue, client and API server: the endpoints controller's, or the
// EndpointSlice controller's for kube-proxy with EndpointSliceProxying), the
// sync component's, mirroring's, ingress-nginx's and its workers', and
// kube-proxy's. A new consumer adds the wait its chain ends with.
const std::vector<WindowStage>& window_stages() {
  static const std::vector<WindowStage> stages = {
      {"workqueue_wait_s", "endpoints workqueue", "waiting in the endpoints controller's workqueue"},
      {"client_throttle_s", "client throttle", "waiting for the client rate limiter"},
      {"apiserver_s", "API server", "in the API server"},
      {"sync_component_s", "sync component", "in the sync component"},
      {"mirroring_s", "slice mirroring", "in EndpointSlice mirroring"},
      {"ingress_s", "ingress sync", "in ingress-nginx's sync"},
      {"nginx_worker_s", "nginx worker pickup", "waiting for nginx workers to pick it up"},
      {"kube_proxy_s", "kube-proxy sync", "waiting for kube-proxy on every node"},
  };
  return stages;
}

const StageRegistry& default_stage_registry() {
  static const StageRegistry registry = {
      {"deployments+kubelet", StageKind::source, StageScope::business_cluster, place_deployments, build_deployments, {}},
      {"endpoints-controller", StageKind::writer, StageScope::business_cluster, place_endpoints_controller,
       build_endpoints_controller, {}},
      {"endpointslice-controller", StageKind::writer, StageScope::business_cluster, place_endpoint_slice_controller,
       build_endpoint_slice_controller, {}},
      kube_proxy_registration(),
      {"endpoint-sync", StageKind::writer, StageScope::access_cluster, place_endpoint_sync, build_endpoint_sync, {}},
      {"endpointslice-mirroring", StageKind::writer, StageScope::access_cluster, place_endpoint_slice_mirroring,
       build_endpoint_slice_mirroring, {}},
      ingress_nginx_registration(),
  };
  return registry;
}

}  // namespace epsim::app
