// The multi-cluster endpoint sync component of the incident (docs/model.md §9):
// informers on the Endpoints of one or more business clusters, a workqueue,
// workers and its own client bucket to the access cluster, where it writes
// the Endpoints of selector-less Services of the same name. The pattern of
// k8s-endpoints-sync-controller, Karmada and Submariner
// (their controllers' informer/workqueue code): informer → workqueue → a
// client-go writer with a token bucket.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/api_server.h"
#include "models/client_worker_pool.h"
#include "models/informer.h"

namespace epsim::models {

struct EndpointSyncConfig {
  int workers = 10;
  double kube_api_qps = 50;
  int kube_api_burst = 100;
  // Read the access cluster's copy (from an informer) and skip equal writes.
  bool compare_before_write = true;
  // Periodic resync of the component's own informers (0 = none).
  sim::Duration resync_period;
};

class EndpointSync {
 public:
  // `seed` seeds the order of its informers' resync walks.
  EndpointSync(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& access, EndpointSyncConfig config,
               std::size_t backend_space, std::uint64_t seed);
  ~EndpointSync();

  // Business cluster `source`: its Service s maps to backend `offset + s`.
  void add_source(ApiServer& source, std::uint32_t offset, std::size_t services, const std::string& cluster);
  // Caches synced, access copies up to date: no start-up burst.
  void start_steady(sim::Time until);

  // Its workqueue "endpoint-sync", workers and client to the access cluster.
  const ClientWorkerPool& pool() const { return pool_; }

 private:
  struct Source;
  class SourceHandler;
  void resync();
  std::optional<ClientWrite> sync(Key backend);
  void enqueue(Key backend) { pool_.queue().add(backend); }

  sim::Simulator& sim_;
  ApiServer& access_;
  EndpointSyncConfig config_;
  std::uint64_t seed_;
  std::vector<std::unique_ptr<Source>> sources_;
  Informer<Endpoints> access_cache_;
  sim::Time resync_until_;
  ClientWorkerPool pool_;
};

}  // namespace epsim::models
