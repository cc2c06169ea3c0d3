#include "models/endpoints_controller.h"

#include <algorithm>

#include "sim/invariant.h"

namespace epsim::models {

// Service handlers (1.17): Add, Update and Delete all enqueue the key with no
// check at all, so every periodic resync enqueues every Service.
class EndpointsController::ServiceHandler : public InformerHandler<Service> {
 public:
  explicit ServiceHandler(EndpointsController& c) : c_(c) {}
  void on_add(const Service& s) override { add(s.id); }
  void on_update(const Service&, const Service& s) override { add(s.id); }
  void on_delete(const Service& s) override { add(s.id); }
  void prefetch_update(std::uint32_t id) const override { c_.pool_->queue().prefetch(id); }
  ResyncUse resync_use() const override { return ResyncUse::key_only; }
  void on_resync_key(std::uint32_t id) override { add(id); }

 private:
  void add(ServiceId id) {
    c_.pool_->queue().add(id);
    c_.note_depth();
  }
  EndpointsController& c_;
};

EndpointsController::EndpointsController(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& api,
                                         const std::string& cluster, EndpointsControllerConfig config,
                                         std::size_t service_space)
    : sim_(simulator),
      api_(api),
      cluster_(cluster),
      config_(config),
      service_space_(service_space),
      service_handler_(std::make_unique<ServiceHandler>(*this)),
      pods_by_service_(service_space, [this](ServiceId id) { enqueue_pod_services(id); }) {
  pods_by_service_.reset_tracked(kNotSeen);
  if (config_.concurrent_endpoint_syncs < 1) throw std::invalid_argument("concurrent endpoint syncs must be >= 1");
  ClientWorkerPoolConfig pool;
  pool.queue_name = "endpoint";
  pool.user_agent = "endpoint-controller";
  pool.workers = config_.concurrent_endpoint_syncs;
  pool.kube_api_qps = config_.kube_api_qps;
  pool.kube_api_burst = config_.kube_api_burst;
  pool.max_retries = config_.max_retries;
  pool.client_max_retry_after = config_.client_max_retry_after;
  pool.rest_client_metrics_cluster = cluster_;
  pool_ = std::make_unique<ClientWorkerPool>(simulator, metrics, api, std::move(pool), service_space,
                                             [this](Key key) { return sync_service(key); });
  pool_->set_listener(this);
  pool_->set_prefetch([this](std::span<const Key> keys, int stage) { prefetch(keys, stage); });
  // Registered in 1.17 but its updater is a TODO: always 0.
  metrics.gauge("endpoint_controller_rate_limiter_use", "A metric measuring the saturation of the rate limiter",
                 {{"cluster", cluster_}});
}

EndpointsController::~EndpointsController() = default;

void EndpointsController::attach(Informer<Service>& services, Informer<Pod>& pods, Informer<Endpoints>& endpoints) {
  services_ = &services;
  pods_ = &pods;
  endpoints_ = &endpoints;
  services.add_handler(service_handler_.get());
  // Pod handlers (1.17 endpoints_controller.go addPod/updatePod/deletePod):
  // the index queues the pod's Service.
  pods.add_handler(&pods_by_service_);
  // 1.17 registers no Endpoints handler: only the lister is used.
}

void EndpointsController::begin_term(sim::Time now, bool fresh_tracker) {
  pool_->begin_term(now);
  pods_by_service_.clear();
  if (fresh_tracker) pods_by_service_.reset_tracked(kNotSeen);
}

void EndpointsController::mark_seen(ServiceId id, sim::Time max_ready_transition) {
  EPSIM_INVARIANT(max_ready_transition != kNotSeen, "a Ready transition at the tracker's not-seen mark");
  pods_by_service_.tracked(id) = max_ready_transition;
}

void EndpointsController::rebuild_pod_index() { pods_by_service_.rebuild(*pods_); }

void EndpointsController::check_leftover_endpoints(const std::vector<std::uint32_t>& endpoints) {
  for (const std::uint32_t id : endpoints) {
    EPSIM_INVARIANT(endpoints_->get(id) != nullptr, "checkLeftoverEndpoints of an Endpoints not in the cache");
    pool_->queue().add(id);
    note_depth();
  }
}

void EndpointsController::enqueue_pod_services(ServiceId service) {
  // AddAfter(key, endpointUpdatesBatchPeriod): with 0 an immediate Add that
  // still counts a retry (delaying_queue.go).
  pool_->queue().add_after(service, config_.endpoint_updates_batch_period);
  note_depth();
}

std::optional<sim::Time> EndpointsController::trigger_time(ServiceId id, const Service& service) {
  // The first time this process sees a service the trigger time is its
  // creation time; later, the earliest pod Ready transition newer than the
  // last call, or zero when nothing moved.
  sim::Time& tracked = pods_by_service_.tracked(id);
  const bool seen = tracked != kNotSeen;
  const sim::Time last = seen ? tracked : sim::Time::zero();
  sim::Time latest = last;
  sim::Time earliest_new = sim::Time::max();
  for (PodId p : pods_by_service_.pods(id)) {
    const Pod* pod = pods_->get(p);
    if (pod == nullptr) continue;
    if (pod->ready_transition > last) earliest_new = std::min(earliest_new, pod->ready_transition);
    latest = std::max(latest, pod->ready_transition);
  }
  EPSIM_INVARIANT(latest != kNotSeen, "a Ready transition at the tracker's not-seen mark");
  tracked = latest;
  if (!seen) return service.creation_time;
  if (earliest_new == sim::Time::max()) return std::nullopt;
  return earliest_new;
}

// What sync_service(id) reads, for the pool's look-ahead: the cached Service
// and Endpoints, the Service's first pod, the trigger-time tracker, and the
// server's current Endpoints that the write replaces. Of the cached
// objects only the Endpoints has its reference count loaded too: the
// write's response releases that version soon after, the Service and the
// Pod are only read.
void EndpointsController::prefetch(std::span<const ServiceId> ids, int stage) const {
  if (services_ == nullptr) return;
  switch (stage) {
    case 0:
      for (const ServiceId id : ids) {
        if (id >= service_space_) continue;
        services_->prefetch_handle(id);
        endpoints_->prefetch_handle(id);
        pods_by_service_.prefetch(id);
        api_.endpoints_store().prefetch_current(id);
      }
      break;
    case 1:
      for (const ServiceId id : ids) {
        if (id >= service_space_) continue;
        services_->load_ahead_object(id);
        endpoints_->prefetch_object(id);
        pods_->prefetch_handle(pods_by_service_.first_pod(id));
      }
      break;
    default:
      for (const ServiceId id : ids) {
        if (id >= service_space_) continue;
        pods_->load_ahead_object(pods_by_service_.first_pod(id));
        if (const Endpoints* cached = endpoints_->get(id); cached != nullptr && !cached->subsets.empty()) {
          // Both ends of the first address: a block of 8 + 16·n bytes can
          // put it across two cache lines.
          const auto* first = reinterpret_cast<const char*>(cached->addresses().data());
          sim::load_ahead(first);
          sim::load_ahead(first + sizeof(EndpointAddress) - 1);
        }
      }
      break;
  }
}

std::optional<ClientWrite> EndpointsController::sync_service(ServiceId id) {
  const Service* service = services_->get(id);
  const Endpoints* current = endpoints_->get(id);
  if (service == nullptr) {
    // Service gone: DELETE its Endpoints (404 ignored).
    if (current == nullptr) return std::nullopt;
    return ClientWrite{Verb::remove, *current, 0};
  }
  if (!service->has_selector) return std::nullopt;

  Endpoints desired = desired_endpoints(id, *service, pods_by_service_.pods(id), *pods_, current);
  // ComputeEndpointLastChangeTriggerTime is called on every sync, even a no-op one.
  const std::optional<sim::Time> trigger = trigger_time(id, *service);

  const bool create = current == nullptr;
  if (!create) {
    const bool compare_rv = config_.switches.target_ref_resource_version_compare;
    const bool subsets_equal = addresses_equal(current->addresses(), desired.addresses(), compare_rv) &&
                               addresses_equal(current->not_ready_addresses(), desired.not_ready_addresses(), compare_rv);
    // Labels: the Service's labels never carry the headless label. With the
    // bug (A) the stored labels are compared as they are; fixed, the headless
    // label is stripped first. B made the cached Service carry it too.
    bool labels_equal = true;
    if (config_.switches.headless_label_compare && !config_.switches.service_label_mutation) {
      labels_equal = !current->headless_label;
    }
    if (subsets_equal && labels_equal) return std::nullopt;
  }
  desired.headless_label = service->headless;
  if (config_.switches.trigger_time_annotation_rewrite || trigger) {
    // Set to the trigger time, or deleted when nothing triggered this sync.
    desired.has_trigger_time = trigger.has_value();
    desired.trigger_time = trigger.value_or(sim::Time::zero());
  } else if (current != nullptr) {
    desired.has_trigger_time = current->has_trigger_time;
    desired.trigger_time = current->trigger_time;
  }
  // POST, or PUT with the cached RV.
  return ClientWrite{create ? Verb::create : Verb::update, std::move(desired), create ? 0 : current->resource_version};
}

void EndpointsController::on_settled(const ClientWrite&, const ApiResponse& response) {
  if (episode_open_ || (!episodes_.empty() && !episodes_.back().finished)) {
    SyncEpisode& e = episodes_.back();
    ++e.puts;
    if (response.noop) ++e.noop_puts;
  }
}

void EndpointsController::on_key_done() {
  note_depth();
  close_episode_if_idle();
}

void EndpointsController::begin_episode(SyncEpisode::Kind kind) {
  // A new burst closes one still running: its work merges into the new one.
  if (!episodes_.empty() && !episodes_.back().finished) {
    episodes_.back().finished = true;
    episodes_.back().ended = sim_.now();
  }
  SyncEpisode e;
  e.kind = kind;
  e.at = sim_.now();
  episodes_.push_back(e);
  episode_open_ = true;
  episode_adds_before_ = pool_->queue().adds_total();
}

void EndpointsController::end_episode_dispatch() {
  EPSIM_INVARIANT(episode_open_, "end_episode_dispatch() without begin_episode()");
  episode_open_ = false;
  episodes_.back().enqueued = pool_->queue().adds_total() - episode_adds_before_;
  note_depth();
  close_episode_if_idle();
}

void EndpointsController::note_depth() {
  if (episodes_.empty() || episodes_.back().finished) return;
  const auto depth = static_cast<std::uint64_t>(pool_->queue().len() + pool_->queue().processing_count());
  episodes_.back().max_queue_depth = std::max(episodes_.back().max_queue_depth, depth);
}

void EndpointsController::close_episode_if_idle() {
  if (episode_open_ || episodes_.empty() || episodes_.back().finished) return;
  if (!pool_->queue().idle()) return;
  episodes_.back().finished = true;
  episodes_.back().ended = sim_.now();
}

}  // namespace epsim::models
