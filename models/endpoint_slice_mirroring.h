// kube-controller-manager's EndpointSliceMirroring controller in the access
// cluster (pkg/controller/endpointslicemirroring, PR #91637, Kubernetes 1.19):
// for a Service without a selector it mirrors the Endpoints into an
// EndpointSlice. Needed when ingress-nginx reads EndpointSlices (>= 1.4).
// Defaults: --mirroring-concurrent-service-endpoint-syncs 5, and the access
// cluster's kube-controller-manager client bucket (20 qps / 30 burst).
// It skips a write when the desired slice equals the existing one, and does
// not mirror the trigger-time annotation (#98116). One slice per Service: the
// modelled Services stay under --mirroring-max-endpoints-per-subset (1000,
// config/v1alpha1/defaults.go @95f0849). Simplified: every Endpoints object of
// the access cluster is mirrored (they are all the sync component's
// selector-less ones); the skip-mirror label is not modelled.
#pragma once

#include <optional>

#include "models/api_server.h"
#include "models/client_worker_pool.h"
#include "models/informer.h"

namespace epsim::models {

struct MirroringConfig {
  int workers = 5;            // --mirroring-concurrent-service-endpoint-syncs
  double kube_api_qps = 20;   // the access cluster's --kube-api-qps
  int kube_api_burst = 30;    // the access cluster's --kube-api-burst
};

class EndpointSliceMirroring {
 public:
  EndpointSliceMirroring(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& access,
                         MirroringConfig config, std::size_t backend_space);
  ~EndpointSliceMirroring();
  void start_steady();

  // Its workqueue "endpoint_slice_mirroring", workers and client.
  const ClientWorkerPool& pool() const { return pool_; }

 private:
  class Handler;
  std::optional<ClientWrite> sync(Key backend);
  void enqueue(Key backend) { pool_.queue().add(backend); }
  ApiServer& access_;
  Informer<Endpoints> endpoints_;
  Informer<Endpoints> slices_;
  std::unique_ptr<Handler> handler_;
  ClientWorkerPool pool_;
};

}  // namespace epsim::models
