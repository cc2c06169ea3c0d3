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
#include <unordered_map>
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

// One pod's life as the data plane will need it. A seeded pod's record is
// a function of its id until something happens to it (issue 12), so
// Deployments hands records out by value (PodRecords below).
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

class Deployments;

// Every pod ever created, by PodId, as a read-only view of a Deployments:
// records come by value, computed for a seeded pod nothing happened to.
class PodRecords {
 public:
  class const_iterator {
   public:
    const_iterator(const Deployments* deployments, PodId at) : deployments_(deployments), at_(at) {}
    PodRecord operator*() const;
    const_iterator& operator++() {
      ++at_;
      return *this;
    }
    friend bool operator==(const const_iterator& a, const const_iterator& b) { return a.at_ == b.at_; }

   private:
    const Deployments* deployments_;
    PodId at_;
  };

  explicit PodRecords(const Deployments& deployments) : deployments_(&deployments) {}
  std::size_t size() const;
  PodRecord operator[](PodId id) const;
  const_iterator begin() const { return {deployments_, 0}; }
  const_iterator end() const { return {deployments_, static_cast<PodId>(size())}; }

 private:
  const Deployments* deployments_;
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

  // `count` Services with ids first.id, first.id + 1, ... and first's flags,
  // each with `spec.replicas` ready pods and up-to-date Endpoints, as the
  // scenario's steady state (seeded into the API server directly). Every
  // seeding comes before the first pod a rollout creates, and no Service is
  // seeded twice (std::logic_error otherwise).
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

  PodRecords pod_records() const { return PodRecords(*this); }
  std::size_t pod_count() const { return seeded_end_ + created_.size(); }
  PodRecord pod_record(PodId id) const;
  const std::vector<RolloutRecord>& rollouts() const { return rollouts_; }
  std::size_t live_pods() const { return live_count_; }
  // Services a rollout has touched, whose pods are held one by one (the
  // others' are computed from their seeding).
  std::size_t touched_services() const { return touched_.size(); }

  void on_response(std::uint64_t tag, const ApiResponse& response) override;

 private:
  enum class Op : std::uint8_t { create, ready, terminate, remove, churn };
  static constexpr std::uint32_t kNone = 0xffffffffU;

  // One add_services call: `services` Services from `first_service`, each
  // with `replicas` pods, the pods numbered from `first_pod` in Service
  // order, created and Ready at `created`. Until a rollout touches one of
  // its Services, that is all this model holds of them (issue 12).
  struct SeededGroup {
    ServiceId first_service = 0;
    std::uint32_t services = 0;
    PodId first_pod = 0;
    std::uint32_t replicas = 0;
    std::uint32_t spec = 0;  // index into specs_
    sim::Time created;
  };
  // A Service a rollout touched: its pods not yet deleted form a list in
  // creation order, linked through PodEntry::next.
  struct Workload {
    std::uint32_t spec = 0;         // index into specs_
    std::uint32_t revision = 0;
    std::uint32_t rollout = kNone;  // index into rollouts_ while one runs
    PodId first_pod = kNone;
    PodId last_pod = kNone;
  };
  // What this model knows of a pod beyond its PodRecord (Service and IP
  // are there; the node follows from the id), which pod() puts together
  // into a Pod when a write needs one. No resourceVersion: a pod write
  // carries no precondition (ApiServer::write_pod), and the endpoints a
  // seed lists read the server's. The two times a write sets live in
  // in-flight tables below.
  struct PodState {
    std::uint32_t revision = 0;  // the Workload revision it was created for
    bool ready = false;
    bool terminating = false;
  };
  struct PodEntry {
    PodRecord record;
    PodState state;
    PodId next = kNone;  // the next pod of its Service's list (kNone: the last)
  };

  void rollout(ServiceId service);
  void step(ServiceId service);
  PodId create_pod(ServiceId service);
  void terminate(PodId pod);
  void write(Op op, PodId pod, Verb verb);
  void retry(Op op, PodId pod);  // after a 429: the same write, from the current state
  void next_background_deploy();
  void next_churn();
  void add_live(PodId pod);
  void remove_live(PodId pod);
  void unlink(Workload& w, PodId pod);
  Pod pod(PodId id) const;  // this model's view of the pod, as it writes it
  const SeededGroup& group_of_service(ServiceId service) const;
  const SeededGroup& group_of_pod(PodId pod) const;  // a seeded pod's
  // A seeded pod no rollout touched, as its group says it is.
  PodEntry seeded_entry(PodId pod) const;
  // The pod's entry by value: stored, or computed for an untouched seeded pod.
  PodEntry entry(PodId pod) const;
  // The stored entry of a pod created by a rollout or of a touched Service.
  PodEntry& stored_entry(PodId pod);
  // The Service's Workload, made (and its seeded pods stored one by one)
  // the first time a rollout touches it.
  Workload& touch(ServiceId service);
  const WorkloadSpec& spec_of(ServiceId service) const;

  sim::Simulator& sim_;
  ApiServer& api_;
  std::string cluster_;
  sim::RandomStream deploy_rng_;
  sim::RandomStream churn_rng_;
  std::vector<WorkloadSpec> specs_;  // one per add_services call
  std::vector<SeededGroup> groups_;  // one per add_services call with Services, first_pod ascending
  std::map<ServiceId, std::uint32_t> group_by_first_service_;  // into groups_
  PodId seeded_end_ = 0;             // pods [0, seeded_end_) were seeded; the rest a rollout created
  // Looked up only, never walked, so their hash order reaches nothing;
  // node-based, so an entry stays where it is while others are added.
  std::unordered_map<ServiceId, Workload> touched_;
  std::vector<bool> is_touched_;  // by ServiceId: whether touched_ holds it (a bit a Service)
  std::unordered_map<PodId, PodEntry> touched_seeded_pods_;  // the seeded pods of touched Services
  // Pods a rollout created, by PodId - seeded_end_; they keep being
  // created during the run, so they grow in chunks instead of doubling.
  sim::ChunkedArray<PodEntry> created_;
  // The times a write in flight carries: the Ready condition's
  // lastTransitionTime from the readiness probe until the status write is
  // over, the deletionTimestamp from the graceful delete until that write
  // is over (a 429 sends the same write again). Once stored, the server
  // keeps them (ApiServer::updated), so no pod's state needs them after:
  // few pods have such a write in flight at once.
  std::map<PodId, sim::Time> ready_transitions_in_flight_;
  std::map<PodId, sim::Time> deletions_in_flight_;
  std::vector<RolloutRecord> rollouts_;
  // Pods not deleted, for churn draws: kept only once status churn starts
  // (8 bytes a pod that runs without churn need not pay).
  bool tracking_live_ = false;
  sim::ChunkedArray<PodId> live_;
  sim::ChunkedArray<std::uint32_t> live_index_;    // by PodId: its place in live_
  std::size_t live_count_ = 0;
  std::uint64_t removed_ = 0;                      // pods deleted so far
  PodIp first_ip_ = 1;
  PodIp next_ip_ = 1;
  std::function<void(PodIp)> on_ip_dead_;

  double deploys_per_hour_ = 0;
  sim::Time deploys_until_;
  std::vector<ServiceId> deploy_candidates_;
  double churn_per_pod_per_hour_ = 0;
  sim::Time churn_until_;
};

inline std::size_t PodRecords::size() const { return deployments_->pod_count(); }
inline PodRecord PodRecords::operator[](PodId id) const { return deployments_->pod_record(id); }
inline PodRecord PodRecords::const_iterator::operator*() const { return deployments_->pod_record(at_); }

}  // namespace epsim::models
