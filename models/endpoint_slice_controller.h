// kube-controller-manager's EndpointSlice controller in the business cluster
// (pkg/controller/endpointslice/endpointslice_controller.go and
// reconciler.go, release-1.19): Service and Pod handlers feed a rate-limited
// workqueue named "endpoint_slice"; `--concurrent-service-endpoint-syncs`
// workers run syncService, which writes a Service's slice only when its
// endpoints differ from the slice in the informer cache, through the
// controller's own client token bucket (each controller gets its own client
// from the ClientBuilder, with --kube-api-qps / --kube-api-burst).
//
// On by default from 1.18: the EndpointSlice feature gate, which from then on
// only governs this controller, became enabled by default in kubernetes PR
// #86137 (kube-proxy's consumption moved to EndpointSliceProxying); 1.17 had
// it off (#85365). docs/model.md §7.
//
// Unlike the 1.17 endpoints controller it compares no labels (no #94112
// headless-label storm). It does compare the TargetRef, resourceVersion
// included, until #108078 (1.24): endpointsEqualBeyondHash ->
// objectRefPtrChanged (pkg/controller/endpointslice/utils.go, release-1.19),
// hence `target_ref_resource_version_compare`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "models/api_server.h"
#include "models/client_worker_pool.h"
#include "models/informer.h"
#include "models/pod_endpoints.h"
#include "models/stage_log.h"
#include "sim/metrics.h"
#include "sim/simulator.h"

namespace epsim::models {

struct EndpointSliceControllerConfig {
  int concurrent_service_endpoint_syncs = 5;          // --concurrent-service-endpoint-syncs
  double kube_api_qps = 20;                           // kube-controller-manager --kube-api-qps
  int kube_api_burst = 30;                            // kube-controller-manager --kube-api-burst
  sim::Duration endpoint_slice_updates_batch_period;  // --endpointslice-updates-batch-period (0)
  int max_retries = 15;                               // endpointslice_controller.go maxRetries
  // The queue's retry backoff: defaultSyncBackOff 1 s (PR #89438, 1.19) to
  // maxSyncBackOff 100 s (raised to 1000 s in 1.26 by PR #112353), with
  // the default overall bucket of 10 qps / 100.
  sim::Duration sync_backoff_base = sim::Duration::seconds(1);
  sim::Duration sync_backoff_max = sim::Duration::seconds(100);
  int client_max_retry_after = 10;                    // client-go rest/request.go maxRetries
  // endpointsEqualBeyondHash compares the TargetRef with its resourceVersion
  // (every release before 1.24, #108078): the same fix as the endpoints
  // controller's switch C, so a caller sets both alike.
  bool target_ref_resource_version_compare = true;
};

class EndpointSliceController {
 public:
  EndpointSliceController(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& api,
                          EndpointSliceControllerConfig config, std::size_t service_space);
  ~EndpointSliceController();
  EndpointSliceController(const EndpointSliceController&) = delete;
  EndpointSliceController& operator=(const EndpointSliceController&) = delete;

  // Wires the controller to its (shared) informers; called once per term.
  void attach(Informer<Service>& services, Informer<Pod>& pods, Informer<Endpoints>& slices);
  // A new process or leadership term: a fresh workqueue, client bucket and
  // pod index. Old in-flight responses are ignored.
  void begin_term(sim::Time now);
  // Rebuilds the pod lister's per-service index from the pod informer cache
  // (after a silent list).
  void rebuild_pod_index();

  // The slice syncService wants for a Service with a selector: its pods'
  // addresses (what the steady start seeds).
  // `current`: the cached slice, whose address block an unchanged slice shares.
  Endpoints desired_slice(ServiceId id, const Service& service, const Endpoints* current = nullptr) const;

  // The workqueue "endpoint_slice", the workers and the client.
  const ClientWorkerPool& pool() const { return *pool_; }
  // Every slice write that changed storage, per service (for causality).
  const StageLog& writes() const { return pool_->writes(); }
  const EndpointSliceControllerConfig& config() const { return config_; }
  std::uint64_t syncs_total() const { return pool_->syncs_total(); }    // keys synced (a write or not)
  std::uint64_t writes_total() const { return pool_->writes_total(); }  // settled slice writes

 private:
  class ServiceHandler;

  void enqueue(ServiceId id) { pool_->queue().add(id); }
  void enqueue_after_batch_period(ServiceId id);
  std::optional<ClientWrite> sync_service(ServiceId id);

  EndpointSliceControllerConfig config_;
  Informer<Service>* services_ = nullptr;
  Informer<Pod>* pods_ = nullptr;
  Informer<Endpoints>* slices_ = nullptr;
  std::unique_ptr<ServiceHandler> service_handler_;
  ServicePodIndex pods_by_service_;  // the pod lister's index
  std::unique_ptr<ClientWorkerPool> pool_;
};

}  // namespace epsim::models
