#include "models/controller_manager.h"

#include <algorithm>

namespace epsim::models {


ControllerManager::ControllerManager(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& api,
                                     std::uint64_t seed, const std::string& cluster, ControllerManagerConfig config,
                                     std::size_t service_space)
    : sim_(simulator),
      api_(api),
      cluster_(cluster),
      config_(config),
      service_space_(service_space),
      seed_(seed),
      resync_rng_(seed, "kube-controller-manager/" + cluster + "/resync-period"),
      controller_(std::make_unique<EndpointsController>(simulator, metrics, api, cluster, config.endpoints,
                                                        service_space)) {
  if (config_.endpoint_slice_controller) {
    slice_controller_ =
        std::make_unique<EndpointSliceController>(simulator, metrics, api, config_.endpoint_slices, service_space);
  }
}

sim::Duration ControllerManager::sample_resync_period() {
  // ResyncPeriod(c)(): MinResyncPeriod.Nanoseconds() * (rand.Float64() + 1).
  const double factor = resync_rng_.uniform01() + 1.0;
  const sim::Duration sampled =
      sim::Duration::nanoseconds(static_cast<std::int64_t>(static_cast<double>(config_.min_resync_period.ns()) * factor));
  return config_.resync_period.value_or(sampled);
}

void ControllerManager::new_informers() {
  if (services_) {
    services_->set_running(false);
    pods_->set_running(false);
    endpoints_->set_running(false);
    old_services_.push_back(std::move(services_));
    old_pods_.push_back(std::move(pods_));
    old_endpoints_.push_back(std::move(endpoints_));
    if (slices_) {
      slices_->set_running(false);
      old_slices_.push_back(std::move(slices_));
    }
  }
  // Each term's factory has new informers, each walking its map in its own
  // order: the term is part of the stream's name.
  const std::string term = "/term-" + std::to_string(term_);
  services_ = std::make_unique<Informer<Service>>(cluster_ + "/services" + term, seed_);
  pods_ = std::make_unique<Informer<Pod>>(cluster_ + "/pods" + term, seed_);
  endpoints_ = std::make_unique<Informer<Endpoints>>(cluster_ + "/endpoints" + term, seed_);
  api_.watch_services(services_.get());
  api_.watch_pods(pods_.get());
  api_.watch_endpoints(endpoints_.get());
  controller_->attach(*services_, *pods_, *endpoints_);
  if (slice_controller_) {
    slices_ = std::make_unique<Informer<Endpoints>>(cluster_ + "/endpointslices" + term, seed_);
    api_.watch_endpoint_slices(slices_.get());
    slice_controller_->attach(*services_, *pods_, *slices_);
  }
}

void ControllerManager::start_steady(sim::Time informers_started_at) {
  ++term_;
  resync_period_ = sample_resync_period();
  new_informers();
  const ResourceVersion listed_at = api_.resource_version();
  services_->list(api_.service_store(), false, listed_at);
  pods_->list(api_.pod_store(), false, listed_at);
  endpoints_->list(api_.endpoints_store(), false, listed_at);
  controller_->begin_term(sim_.now(), true);
  controller_->rebuild_pod_index();
  if (slice_controller_) {
    slice_controller_->begin_term(sim_.now());
    slice_controller_->rebuild_pod_index();
    seed_endpoint_slices();
    slices_->list(api_.endpoint_slice_store(), false, api_.resource_version());
  }
  // Steady state: this process has synced every service before, so the
  // trigger-time tracker knows each one and its pods' latest transition.
  std::vector<sim::Time> latest(service_space_, sim::Time::zero());
  for (std::uint32_t p = 0; p < pods_->id_space(); ++p) {
    if (const Pod* pod = pods_->get(p)) latest[pod->service] = std::max(latest[pod->service], pod->ready_transition);
  }
  for (std::uint32_t id = 0; id < service_space_; ++id) {
    if (services_->get(id) != nullptr) controller_->mark_seen(id, latest[id]);
  }
  // The reflector's resync timer ticks every period from the factory start.
  sim::Time first = informers_started_at + resync_period_;
  while (first < sim_.now()) first += resync_period_;
  first_resync_ = first;
  schedule_resync(first);
}

// Steady state: every selector Service already has the slice this controller
// would write (seeded into the store as the Deployments seed the Endpoints).
void ControllerManager::seed_endpoint_slices() {
  for (std::uint32_t id = 0; id < service_space_; ++id) {
    const Service* service = services_->get(id);
    if (service == nullptr || !service->has_selector || api_.endpoint_slice(id) != nullptr) continue;
    api_.seed_endpoint_slice(slice_controller_->desired_slice(id, *service));
  }
}

void ControllerManager::schedule_resync(sim::Time at) {
  sim_.cancel(resync_event_);
  next_resync_ = at;
  resync_event_ = sim_.schedule_at(at, [this] { resync(); });
}

void ControllerManager::resync() {
  EndpointsController& c = *controller_;
  c.begin_episode(SyncEpisode::Kind::resync);
  // Each informer's reflector fires its own resync; Services first is an
  // arbitrary but fixed order. Within each, the map's order (list_keys).
  services_->resync();
  record_queue_positions();
  pods_->resync();
  endpoints_->resync();
  if (slices_) slices_->resync();
  c.end_episode_dispatch();
  schedule_resync(sim_.now() + resync_period_);
}

void ControllerManager::watch_queue_position(std::uint32_t service) {
  if (std::find(watched_.begin(), watched_.end(), service) == watched_.end()) watched_.push_back(service);
}

void ControllerManager::record_queue_positions() {
  if (watched_.empty()) return;
  ResyncQueuePositions r;
  r.at = sim_.now();
  r.queue_length = controller_->queue().len();
  for (const std::uint32_t service : watched_) {
    if (const auto p = controller_->queue().position(service)) r.positions.emplace_back(service, *p);
  }
  queue_positions_.push_back(std::move(r));
}

void ControllerManager::schedule_leader_change(sim::Time at) {
  sim_.schedule_at(at, [this] { leader_change(); });
}

void ControllerManager::leader_change() {
  ++term_;
  resync_period_ = sample_resync_period();
  controller_->begin_term(sim_.now(), true);
  if (slice_controller_) slice_controller_->begin_term(sim_.now());
  new_informers();
  controller_->begin_episode(SyncEpisode::Kind::startup);
  // The reflectors LIST: every object arrives as Add (Services enqueue, Pods
  // AddAfter their Services), then Run() checks leftover Endpoints.
  // Each list is taken at the server's current resourceVersion; watch events
  // of changes made before it (still in their watch delay) are not delivered
  // to the new informers again.
  const ResourceVersion listed_at = api_.resource_version();
  endpoints_->list(api_.endpoints_store(), true, listed_at);
  if (slices_) slices_->list(api_.endpoint_slice_store(), true, listed_at);
  services_->list(api_.service_store(), true, listed_at);
  pods_->list(api_.pod_store(), true, listed_at);
  controller_->check_leftover_endpoints(endpoints_->list_keys());
  controller_->end_episode_dispatch();
  schedule_resync(sim_.now() + resync_period_);
}

}  // namespace epsim::models
