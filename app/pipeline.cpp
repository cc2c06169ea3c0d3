#include "app/pipeline.h"

#include <fmt/format.h>

#include "app/input_error.h"
#include "app/limits.h"
#include "app/topology.h"

#include <algorithm>

namespace epsim::app {

Pipeline::Pipeline(const Scenario& scenario, const StageRegistry& stages)
    : scenario_(scenario), registry_(stages), simulator_(sim::SimulatorOptions{scenario.max_events}) {
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
  sampler_ = std::make_unique<sim::TimeSeriesSampler>(simulator_, sample_interval(scenario.duration));
  const std::vector<PlannedStage> planned = plan_stages(scenario, registry_);
  // Components start in topology order (sources before their consumers);
  // building the order also proves the topology acyclic.
  std::map<std::string, const PlannedStage*> by_vertex;
  for (const PlannedStage& p : planned) by_vertex.emplace(p.placement.vertex, &p);
  std::vector<const PlannedStage*> order;
  for (const std::string& vertex : Topology(planned).start_order()) {
    const auto it = by_vertex.find(vertex);
    if (it != by_vertex.end()) order.push_back(it->second);
  }
  // A business cluster's deploys need its controllers (their resync
  // instants): they are scheduled once its last stage is built.
  std::map<std::string, std::size_t> last_of_cluster;
  for (std::size_t i = 0; i < order.size(); ++i) last_of_cluster[order[i]->placement.cluster] = i;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const PlannedStage& p = *order[i];
    StageContext context{scenario, simulator_, metrics_, clusters_};
    if (p.registration->scope == StageScope::business_cluster) {
      context.cluster = &cluster_of(*p.cluster_spec);
    } else {
      context.data_plane = &access_cluster();
    }
    for (const std::string& vertex : p.upstream) {
      for (const BuiltStage& s : stages_) {
        if (s.placement.vertex == vertex) context.upstream.push_back({vertex, s.placement.writes, s.hooks.pool});
      }
    }
    stages_.push_back(BuiltStage{p.registration, p.placement, p.upstream, p.registration->build(context)});
    if (context.cluster != nullptr && last_of_cluster[p.placement.cluster] == i) schedule_deploys(*context.cluster);
  }
  wire_dead_ips();
  for (const BuiltStage& s : stages_) {
    if (s.hooks.add_series) s.hooks.add_series(*sampler_);
  }
  sampler_->start(sim::Time::zero(), sim::Time::zero() + scenario.duration);
}

// The business cluster a stage runs in: its API server, its Deployments
// and Services, built with its first stage.
ClusterRuntime& Pipeline::cluster_of(const ClusterSpec& spec) {
  for (auto& c : clusters_) {
    if (c->spec == &spec) return *c;
  }
  build_cluster(spec);
  return *clusters_.back();
}

// The access cluster: its API server, with the Endpoints (and slices) of
// every backend copied in as at steady state; its components are stages.
DataPlane& Pipeline::access_cluster() {
  if (data_plane_) return *data_plane_;
  const SyncSpec& sync = scenario_.sync;
  auto dp = std::make_unique<DataPlane>();
  for (const auto& c : scenario_.clusters) {
    if (c.name == sync.to) dp->spec = &c;
  }
  dp->api = std::make_unique<models::ApiServer>(simulator_, metrics_, scenario_.seed, dp->spec->name,
                                                dp->spec->api_server);
  // Backends: the services of each synced business cluster, in sync.from order.
  for (const auto& name : sync.from) {
    for (std::size_t i = 0; i < clusters_.size(); ++i) {
      ClusterRuntime& c = *clusters_[i];
      if (c.spec->name != name) continue;
      c.backend_offset = static_cast<std::uint32_t>(dp->backends.size());
      models::ServiceId id = 0;
      for (const ServiceGroupSpec& g : c.spec->services) {
        for (std::uint32_t k = 0; k < g.count; ++k, ++id) dp->backends.push_back(Backend{static_cast<std::uint32_t>(i), id, g.requests_per_second});
      }
    }
  }
  const std::size_t backends = dp->backends.size();
  const auto traits = *ingress_version_traits(scenario_.ingress.version);
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
      copy.subsets = e->subsets;
      dp->api->seed_endpoints(copy);
      if (traits.read_endpoint_slices) dp->api->seed_endpoint_slice(copy);
    }
  }
  data_plane_ = std::move(dp);
  return *data_plane_;
}

// A pod's IP stops answering: every consumer that may still route to it
// hears it (the stages' on_ip_dead listeners).
void Pipeline::wire_dead_ips() {
  for (auto& c : clusters_) {
    if (c->on_ip_dead.empty()) continue;
    const auto* listeners = &c->on_ip_dead;
    c->deployments->set_on_ip_dead([listeners](models::PodIp ip) {
      for (const auto& listener : *listeners) listener(ip);
    });
  }
}

namespace {

// A writer's writes: the client's throttle wait, then the request (the trace
// output splits overlapping spans of several workers into lanes).
void record_pool_writes(sim::SpanRecorder& spans, const StageHooks& hooks) {
  const std::uint32_t track = spans.track(hooks.writes_track);
  const std::uint32_t throttle = spans.name("client throttle wait");
  const std::uint32_t request = spans.name(hooks.written_span);
  const models::StageLog& log = hooks.pool->writes();
  for (std::uint32_t object = 0; object < log.objects(); ++object) {
    for (const models::StageWrite& w : log.writes_of(object)) {
      if (w.sent > w.started) spans.record(track, throttle, w.started, w.sent);
      spans.record(track, request, w.sent, w.stored);
    }
  }
}

}  // namespace

// Each cluster's tracks, clusters in stage order: what its stages do, then
// what they write.
void Pipeline::record_spans() {
  const sim::Time end = sim::Time::zero() + scenario_.duration;
  std::vector<std::string> clusters;
  for (const BuiltStage& s : stages_) {
    if (std::find(clusters.begin(), clusters.end(), s.placement.cluster) == clusters.end()) {
      clusters.push_back(s.placement.cluster);
    }
  }
  for (const std::string& cluster : clusters) {
    for (const BuiltStage& s : stages_) {
      if (s.placement.cluster == cluster && s.hooks.record_activity) s.hooks.record_activity(spans_, end);
    }
    for (const BuiltStage& s : stages_) {
      if (s.placement.cluster != cluster) continue;
      if (s.hooks.record_writes) s.hooks.record_writes(spans_, end);
      if (s.hooks.pool != nullptr && !s.hooks.writes_track.empty()) record_pool_writes(spans_, s.hooks);
    }
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

  rt->service_names = ServiceNames(spec);
  models::ServiceId next = 0;
  double churn = -1;
  for (const ServiceGroupSpec& g : spec.services) {
    models::Service s;
    s.id = next;
    s.headless = g.headless;
    s.has_selector = g.selector;
    s.publish_not_ready = g.publish_not_ready_addresses;
    s.creation_time = sim::Time::zero();
    rt->deployments->add_services(s, g.count, g.workload);
    next += g.count;
    // One churn rate per cluster: the largest any group asks for.
    churn = std::max(churn, g.pod_status_churn_per_hour);
  }

  const sim::Time end = sim::Time::zero() + scenario_.duration;
  if (churn > 0) rt->deployments->start_status_churn(churn, end);
  clusters_.push_back(std::move(rt));
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
    const std::optional<models::ServiceId> service = cluster.service_names.find(d.service);
    if (!service) {
      throw InputError(fmt::format("{}: deploy of unknown service \"{}\" in cluster {} (names look like {})", d.origin,
                                   d.service, cluster.spec->name, cluster.service_names.name(0)));
    }
    cluster.controller_manager->watch_queue_position(*service);
    sim::Time at = sim::Time::zero() + d.at;
    if (d.kind == DeploySpec::Kind::after_resync) {
      // Resync instants of the first term are fixed at start: first + (n-1)·P.
      const auto& cm = *cluster.controller_manager;
      at = cm.first_resync_at() + cm.resync_period() * (d.nth_resync - 1) + d.offset;
    }
    if (at > end) continue;  // beyond the scenario: nothing to simulate
    cluster.deployments->schedule_rollout(*service, at);
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
  for (BuiltStage& s : stages_) {
    if (s.hooks.finish) s.hooks.finish();
  }
  record_spans();
  for (auto& c : clusters_) c->limits = limit_cover(*c);
}

}  // namespace epsim::app
