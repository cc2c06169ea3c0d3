// kube-controller-manager as far as endpoints are concerned: one shared
// informer factory per leadership term (Services, Pods, Endpoints, and
// EndpointSlices when that controller runs) whose
// resync period is min-resync-period × U[1,2), sampled once per term
// (cmd/kube-controller-manager/app/controllermanager.go ResyncPeriod, called
// in CreateControllerContext), and the endpoints controller (and optionally
// the EndpointSlice controller) on top.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/api_server.h"
#include "models/endpoint_slice_controller.h"
#include "models/endpoints_controller.h"
#include "models/informer.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace epsim::models {

// Where some Services' keys sat in the endpoints queue right after the
// Services informer's resync re-added every key (the report's "queued
// 11,803rd of 12,989").
struct ResyncQueuePositions {
  sim::Time at;
  std::size_t queue_length = 0;    // keys waiting in the queue after it
  std::vector<std::pair<std::uint32_t, std::size_t>> positions;  // service -> 1-based place; absent: not waiting
};

struct ControllerManagerConfig {
  sim::Duration min_resync_period = sim::Duration::hours(12);  // --min-resync-period
  std::optional<sim::Duration> resync_period;                  // pin instead of sampling
  EndpointsControllerConfig endpoints;
  // The EndpointSlice controller (on by default upstream from 1.18, #86137;
  // epsim's default is off, as 1.17). On: the factory gains an EndpointSlices
  // informer, and the steady start seeds each selector Service's slice.
  bool endpoint_slice_controller = false;
  EndpointSliceControllerConfig endpoint_slices;
};

class ControllerManager {
 public:
  ControllerManager(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& api, std::uint64_t seed,
                    const std::string& cluster, ControllerManagerConfig config, std::size_t service_space);

  // The scenario begins with this controller manager already leading, its
  // caches synced and every Endpoints up to date: no start-up burst. Its
  // factory started at `informers_started_at` (<= 0, the resync phase).
  void start_steady(sim::Time informers_started_at);
  // A start or leader change at `at`: a new term lists everything (every
  // Service and Pod delivered as Add), runs checkLeftoverEndpoints, samples
  // a new resync period and begins a new resync phase.
  void schedule_leader_change(sim::Time at);

  // The resync period of the current term and the instants of the resyncs
  // scheduled so far.
  sim::Duration resync_period() const { return resync_period_; }
  sim::Time next_resync_at() const { return next_resync_; }
  // The first periodic resync after the steady start (for relative deploys).
  sim::Time first_resync_at() const { return first_resync_; }

  // Record, at every periodic resync, where this Service's key sits in the
  // endpoints queue (for the named deploys of the report).
  void watch_queue_position(std::uint32_t service);
  const std::vector<ResyncQueuePositions>& queue_positions() const { return queue_positions_; }

  EndpointsController& endpoints_controller() { return *controller_; }
  const EndpointsController& endpoints_controller() const { return *controller_; }
  const Informer<Pod>& pod_informer() const { return *pods_; }
  // nullptr when `endpoint_slice_controller` is off.
  const EndpointSliceController* endpoint_slice_controller() const { return slice_controller_.get(); }
  // The EndpointSlices informer of the current term; nullptr when off.
  const Informer<Endpoints>* endpoint_slice_informer() const { return slices_.get(); }

 private:
  void new_informers();
  sim::Duration sample_resync_period();
  void schedule_resync(sim::Time at);
  void resync();
  void leader_change();
  void record_queue_positions();
  void seed_endpoint_slices();

  sim::Simulator& sim_;
  ApiServer& api_;
  std::string cluster_;
  ControllerManagerConfig config_;
  std::size_t service_space_;
  std::uint64_t seed_;
  sim::RandomStream resync_rng_;
  std::unique_ptr<EndpointsController> controller_;
  std::unique_ptr<Informer<Service>> services_;
  std::unique_ptr<Informer<Pod>> pods_;
  std::unique_ptr<Informer<Endpoints>> endpoints_;
  std::unique_ptr<EndpointSliceController> slice_controller_;  // null when off
  std::unique_ptr<Informer<Endpoints>> slices_;                // null when off
  // Informers of previous terms stay registered with the API server's watch
  // but stopped; they are kept alive here.
  std::vector<std::unique_ptr<Informer<Service>>> old_services_;
  std::vector<std::unique_ptr<Informer<Pod>>> old_pods_;
  std::vector<std::unique_ptr<Informer<Endpoints>>> old_endpoints_;
  std::vector<std::unique_ptr<Informer<Endpoints>>> old_slices_;
  sim::Duration resync_period_;
  sim::Time next_resync_ = sim::Time::max();
  sim::Time first_resync_ = sim::Time::max();
  sim::EventId resync_event_;
  std::uint32_t term_ = 0;
  std::vector<std::uint32_t> watched_;
  std::vector<ResyncQueuePositions> queue_positions_;
};

}  // namespace epsim::models
