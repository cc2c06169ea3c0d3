#include "models/endpoint_slice_controller.h"

#include <stdexcept>

namespace epsim::models {

// onServiceAdd / onServiceUpdate / onServiceDelete (endpointslice_controller.go,
// release-1.19) all call queueService: every periodic resync enqueues every
// Service, as in the endpoints controller; the sync then writes nothing.
class EndpointSliceController::ServiceHandler : public InformerHandler<Service> {
 public:
  explicit ServiceHandler(EndpointSliceController& c) : c_(c) {}
  void on_add(const Service& s) override { c_.enqueue(s.id); }
  void on_update(const Service&, const Service& s) override { c_.enqueue(s.id); }
  void on_delete(const Service& s) override { c_.enqueue(s.id); }
  void prefetch_update(std::uint32_t id) const override { c_.pool().queue().prefetch(id); }
  ResyncUse resync_use() const override { return ResyncUse::key_only; }
  void on_resync_key(std::uint32_t id) override { c_.enqueue(id); }

 private:
  EndpointSliceController& c_;
};

EndpointSliceController::EndpointSliceController(sim::Simulator& simulator, sim::MetricsRegistry& metrics,
                                                 ApiServer& api, EndpointSliceControllerConfig config,
                                                 std::size_t service_space)
    : config_(config),
      service_handler_(std::make_unique<ServiceHandler>(*this)),
      pods_by_service_(service_space, [this](ServiceId id) { enqueue_after_batch_period(id); }) {
  if (config_.concurrent_service_endpoint_syncs < 1) {
    throw std::invalid_argument("concurrent service endpoint syncs must be >= 1");
  }
  ClientWorkerPoolConfig pool{.queue_name = "endpoint_slice",
                              .user_agent = "endpointslice-controller",
                              .workers = config_.concurrent_service_endpoint_syncs,
                              .kube_api_qps = config_.kube_api_qps,
                              .kube_api_burst = config_.kube_api_burst,
                              .max_retries = config_.max_retries,
                              .client_max_retry_after = config_.client_max_retry_after,
                              .endpoint_slices = true,
                              .retry_limiter = {.base = config_.sync_backoff_base, .max = config_.sync_backoff_max},
                              .rest_client_metrics_cluster = {}};
  pool_ = std::make_unique<ClientWorkerPool>(simulator, metrics, api, std::move(pool), service_space,
                                             [this](Key key) { return sync_service(key); });
}

EndpointSliceController::~EndpointSliceController() = default;

void EndpointSliceController::attach(Informer<Service>& services, Informer<Pod>& pods, Informer<Endpoints>& slices) {
  services_ = &services;
  pods_ = &pods;
  slices_ = &slices;
  services.add_handler(service_handler_.get());
  // Pod handlers (release-1.19 addPod/updatePod/deletePod): the index queues
  // the pod's Service with AddAfter(endpointUpdatesBatchPeriod).
  pods.add_handler(&pods_by_service_);
  // The slice handlers queue a Service only for a slice the endpointSlice
  // tracker does not expect (a change by someone else, #85703); this
  // controller is the only writer of business slices here, and the tracker
  // expects each of its own writes (#87980), so no handler is registered.
}

void EndpointSliceController::begin_term(sim::Time now) {
  pool_->begin_term(now);
  pods_by_service_.clear();
}

void EndpointSliceController::rebuild_pod_index() { pods_by_service_.rebuild(*pods_); }

void EndpointSliceController::enqueue_after_batch_period(ServiceId id) {
  // With a 0 period an immediate Add that still counts a retry (delaying_queue.go).
  pool_->queue().add_after(id, config_.endpoint_slice_updates_batch_period);
}

Endpoints EndpointSliceController::desired_slice(ServiceId id, const Service& service, const Endpoints* current) const {
  // podToEndpoint (utils.go, release-1.19): ready = publishNotReadyAddresses
  // || IsPodReady; terminating pods are left out unless
  // publishNotReadyAddresses (ShouldPodBeInEndpoints, #89056): the lists the
  // endpoints controller computes. A not-ready endpoint is modelled in
  // `not_ready_addresses`.
  return desired_endpoints(id, service, pods_by_service_.pods(id), *pods_, current);
}

std::optional<ClientWrite> EndpointSliceController::sync_service(ServiceId id) {
  const Service* service = services_->get(id);
  // A deleted Service's slices go with it through their owner reference
  // (the garbage collector), not through this controller; a Service without
  // a selector is left to the mirroring controller.
  if (service == nullptr || !service->has_selector) return std::nullopt;
  const Endpoints* current = slices_->get(id);
  Endpoints desired = desired_slice(id, *service, current);
  if (current != nullptr) {
    // reconcileByAddressType: a slice is updated only when an endpoint was
    // added, removed, or changed beyond its hash (endpointsEqualBeyondHash:
    // topology, the ready condition, the TargetRef). Labels are not compared.
    const bool compare_rv = config_.target_ref_resource_version_compare;
    if (addresses_equal(current->addresses(), desired.addresses(), compare_rv) &&
        addresses_equal(current->not_ready_addresses(), desired.not_ready_addresses(), compare_rv)) {
      return std::nullopt;
    }
  }
  // Create, or Update of the cached slice (its resourceVersion the precondition).
  const bool create = current == nullptr;
  return ClientWrite{create ? Verb::create : Verb::update, std::move(desired), create ? 0 : current->resource_version};
}

}  // namespace epsim::models
