// Deployments, their pods and rolling updates, and the kubelet's part of a
// pod's life. A rollout follows the Deployment controller's RollingUpdate
// strategy (apps/v1 defaults: maxSurge 25 % rounded up, maxUnavailable 25 %
// rounded down, pkg/controller/deployment/rolling.go): new pods are created
// up to replicas + maxSurge, old pods are scaled down while at least
// replicas − maxUnavailable pods are available. The rollout is paced by pod
// readiness, never by Endpoints, which is why a backlogged endpoints
// controller lets it finish while the old IPs are still routed to.
//
// Pod deletion: the API server sets deletionTimestamp (an informer Update);
// after the termination grace period (30 s default,
// core/v1 DefaultTerminationGracePeriodSeconds; a preStop hook runs inside
// it) the process is gone and its IP no longer answers; the kubelet then
// deletes the pod object.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/api_server.h"
#include "models/objects.h"
#include "sim/chunked_array.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace epsim::models {

struct WorkloadSpec {
  int replicas = 3;
  sim::Duration readiness_delay = sim::Duration::seconds(10);          // creation → Ready
  sim::Duration termination_grace_period = sim::Duration::seconds(30); // deletion → IP dead
  double max_surge_fraction = 0.25;        // rounded up
  double max_unavailable_fraction = 0.25;  // rounded down
};

// One pod's life as the data plane will need it; pod_records()[id] is pod
// `id`'s. 40 bytes: one per pod ever created (issue 12).
struct PodRecord {
  ServiceId service = 0;
  PodIp ip = 0;
  sim::Time created;
  sim::Time ready_at = sim::Time::max();
  sim::Time terminating_at = sim::Time::max();  // deletionTimestamp stored
  sim::Time dead_at = sim::Time::max();         // IP stops answering
};

struct RolloutRecord {
  ServiceId service = 0;
  sim::Time started;
  sim::Time finished = sim::Time::max();  // every old pod terminating and every new pod ready
};

class Deployments : public ApiClient {
 public:
  // Pod IPs are allocated from `first_ip` upwards and never reused, so IPs of
  // different clusters never collide.
  Deployments(sim::Simulator& simulator, ApiServer& api, std::uint64_t seed, const std::string& cluster,
              PodIp first_ip = 1);
  // Called at the instant a pod's IP stops answering.
  void set_on_ip_dead(std::function<void(PodIp)> callback) { on_ip_dead_ = std::move(callback); }
  PodIp next_ip() const { return next_ip_; }

  // Room for this many Services in all, so that setup fills the array
  // instead of regrowing it (optional; per-pod tables grow in chunks).
  void reserve_services(std::size_t services);
  // `count` Services with ids first.id, first.id + 1, ... and first's flags,
  // each with `spec.replicas` ready pods and up-to-date Endpoints, as the
  // scenario's steady state (seeded into the API server directly).
  void add_services(const Service& first, std::uint32_t count, const WorkloadSpec& spec);
  void add_service(const Service& service, const WorkloadSpec& spec) { add_services(service, 1, spec); }

  void schedule_rollout(ServiceId service, sim::Time at);
  // Poisson deploys at `per_hour` over [now, until), each on a service drawn
  // uniformly from `candidates`.
  void start_background_deploys(double per_hour, sim::Time until, std::vector<ServiceId> candidates);
  // RV-only pod updates (status heartbeats, annotations) at `per_pod_per_hour`.
  // Starts before any pod is deleted (std::logic_error otherwise), as the
  // pipeline does at setup.
  void start_status_churn(double per_pod_per_hour, sim::Time until);

  const sim::ChunkedArray<PodRecord>& pod_records() const { return records_; }
  static_assert(sizeof(PodRecord) <= 40, "a PodRecord grew: every pod ever created pays for it");
  const std::vector<RolloutRecord>& rollouts() const { return rollouts_; }
  std::size_t live_pods() const { return live_count_; }

  void on_response(std::uint64_t tag, const ApiResponse& response) override;

 private:
  enum class Op : std::uint8_t { create, ready, terminate, remove, churn };
  static constexpr std::uint32_t kNone = 0xffffffffU;
  // Per Service, without a heap block of its own: the pods not yet deleted
  // form a list in creation order, linked through next_pod_.
  struct Workload {
    std::uint32_t spec = 0;         // index into specs_
    std::uint32_t revision = 0;
    std::uint32_t rollout = kNone;  // index into rollouts_ while one runs
    PodId first_pod = kNone;
    PodId last_pod = kNone;
  };
  // What this model knows of a pod beyond its PodRecord (Service and IP
  // are there; the node follows from the id): 8 bytes instead of a whole
  // Pod, which pod() puts together when a write needs one. No
  // resourceVersion: a pod write carries no precondition
  // (ApiServer::write_pod), and the endpoints a seed lists read the
  // server's. The two times a write sets live in in-flight tables below.
  struct PodState {
    std::uint32_t revision = 0;    // the Workload revision it was created for
    bool ready = false;
    bool terminating = false;
  };

  void rollout(ServiceId service);
  void step(ServiceId service);
  PodId create_pod(ServiceId service, bool seeded);
  void terminate(PodId pod);
  void write(Op op, PodId pod, Verb verb);
  void retry(Op op, PodId pod);  // after a 429: the same write, from the current state
  void next_background_deploy();
  void next_churn();
  void add_live(PodId pod);
  void remove_live(PodId pod);
  void unlink(Workload& w, PodId pod);
  Pod pod(PodId id) const;  // this model's view of the pod, as it writes it
  const WorkloadSpec& spec_of(ServiceId service) const { return specs_[workloads_[service].spec]; }

  sim::Simulator& sim_;
  ApiServer& api_;
  std::string cluster_;
  sim::RandomStream deploy_rng_;
  sim::RandomStream churn_rng_;
  std::vector<WorkloadSpec> specs_;          // one per add_services call
  std::vector<Workload> workloads_;          // by ServiceId
  // Per pod, by PodId; pods keep being created during rollouts, so these
  // grow in chunks instead of doubling.
  sim::ChunkedArray<PodState> pods_;
  // The times a write in flight carries: the Ready condition's
  // lastTransitionTime from the readiness probe until the status write is
  // over, the deletionTimestamp from the graceful delete until that write
  // is over (a 429 sends the same write again). Once stored, the server
  // keeps them (ApiServer::updated), so no pod's state needs them after:
  // few pods have such a write in flight at once.
  std::map<PodId, sim::Time> ready_transitions_in_flight_;
  std::map<PodId, sim::Time> deletions_in_flight_;
  sim::ChunkedArray<PodId> next_pod_;              // the next pod of its Service's list (kNone: the last)
  sim::ChunkedArray<PodRecord> records_;
  std::vector<RolloutRecord> rollouts_;
  // Pods not deleted, for churn draws: kept only once status churn starts
  // (8 bytes a pod that runs without churn need not pay).
  bool tracking_live_ = false;
  sim::ChunkedArray<PodId> live_;
  sim::ChunkedArray<std::uint32_t> live_index_;    // by PodId: its place in live_
  std::size_t live_count_ = 0;
  std::uint64_t removed_ = 0;                      // pods deleted so far
  PodIp next_ip_ = 1;
  std::function<void(PodIp)> on_ip_dead_;

  double deploys_per_hour_ = 0;
  sim::Time deploys_until_;
  std::vector<ServiceId> deploy_candidates_;
  double churn_per_pod_per_hour_ = 0;
  sim::Time churn_until_;
};

}  // namespace epsim::models
