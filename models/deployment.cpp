#include "models/deployment.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "sim/invariant.h"

namespace epsim::models {

namespace {
constexpr std::uint64_t kOpShift = 32;
constexpr std::uint16_t kNodes = 500;
}  // namespace

Deployments::Deployments(sim::Simulator& simulator, ApiServer& api, std::uint64_t seed, const std::string& cluster,
                         PodIp first_ip)
    : sim_(simulator),
      api_(api),
      cluster_(cluster),
      deploy_rng_(seed, "deployments/" + cluster + "/deploys"),
      churn_rng_(seed, "deployments/" + cluster + "/status-churn"),
      first_ip_(first_ip),
      next_ip_(first_ip) {}

void Deployments::add_live(PodId pod) {
  ++live_count_;
  if (!tracking_live_) return;
  live_index_.grow_to(std::size_t{pod} + 1, 0);
  live_index_[pod] = static_cast<std::uint32_t>(live_.size());
  live_.push_back(pod);
}

void Deployments::remove_live(PodId pod) {
  --live_count_;
  ++removed_;
  if (!tracking_live_) return;
  const std::uint32_t i = live_index_[pod];
  EPSIM_INVARIANT(i < live_.size() && live_[i] == pod, "the live-pod index lost a pod");
  live_[i] = live_.back();
  live_index_[live_[i]] = i;
  live_.pop_back();
}

const Deployments::SeededGroup& Deployments::group_of_service(ServiceId service) const {
  auto it = group_by_first_service_.upper_bound(service);
  if (it != group_by_first_service_.begin()) {
    const SeededGroup& g = groups_[std::prev(it)->second];
    if (service - g.first_service < g.services) return g;
  }
  throw std::logic_error("Deployments: Service " + std::to_string(service) + " of cluster " + cluster_ +
                         " was never seeded");
}

const Deployments::SeededGroup& Deployments::group_of_pod(PodId pod) const {
  EPSIM_INVARIANT(pod < seeded_end_, "a seeded group asked for a pod a rollout created");
  // The last group starting at or before the pod: groups without pods start
  // where the next one does, so this one holds it.
  const auto it = std::upper_bound(groups_.begin(), groups_.end(), pod,
                                   [](PodId p, const SeededGroup& g) { return p < g.first_pod; });
  EPSIM_INVARIANT(it != groups_.begin(), "a seeded pod before the first group");
  return *std::prev(it);
}

Deployments::PodEntry Deployments::seeded_entry(PodId pod) const {
  const SeededGroup& g = group_of_pod(pod);
  const std::uint32_t k = pod - g.first_pod;
  PodEntry e;
  e.record.service = g.first_service + k / g.replicas;
  e.record.ip = first_ip_ + pod;  // IPs go up with pod ids, one each
  e.record.created = g.created;
  e.record.ready_at = g.created;
  e.state.ready = true;
  e.next = k % g.replicas + 1 < g.replicas ? pod + 1 : kNone;
  return e;
}

Deployments::PodEntry Deployments::entry(PodId pod) const {
  if (pod >= seeded_end_) return created_[pod - seeded_end_];
  const PodEntry seeded = seeded_entry(pod);
  if (!is_touched_[seeded.record.service]) return seeded;
  return touched_seeded_pods_.at(pod);
}

Deployments::PodEntry& Deployments::stored_entry(PodId pod) {
  if (pod >= seeded_end_) return created_[pod - seeded_end_];
  const auto it = touched_seeded_pods_.find(pod);
  EPSIM_INVARIANT(it != touched_seeded_pods_.end(), "a change to a seeded pod of a Service no rollout touched");
  return it->second;
}

Deployments::Workload& Deployments::touch(ServiceId service) {
  if (service < is_touched_.size() && is_touched_[service]) return touched_.find(service)->second;
  const SeededGroup& g = group_of_service(service);
  Workload w;
  w.spec = g.spec;
  for (std::uint32_t r = 0; r < g.replicas; ++r) {
    const PodId p = g.first_pod + (service - g.first_service) * g.replicas + r;
    touched_seeded_pods_.emplace(p, seeded_entry(p));
    if (w.first_pod == kNone) w.first_pod = p;
    w.last_pod = p;
  }
  is_touched_[service] = true;
  return touched_.emplace(service, w).first->second;
}

const WorkloadSpec& Deployments::spec_of(ServiceId service) const { return specs_[group_of_service(service).spec]; }

PodRecord Deployments::pod_record(PodId id) const {
  if (id >= pod_count()) throw std::out_of_range("Deployments: no pod " + std::to_string(id));
  return entry(id).record;
}

Pod Deployments::pod(PodId id) const {
  const PodEntry e = entry(id);
  Pod pod;
  pod.id = id;
  pod.service = e.record.service;
  pod.ip = e.record.ip;
  pod.node = static_cast<std::uint16_t>(id % kNodes);  // pods go round the nodes in creation order
  pod.ready = e.state.ready;
  if (const auto it = ready_transitions_in_flight_.find(id); it != ready_transitions_in_flight_.end()) {
    pod.ready_transition = it->second;
  }
  pod.terminating = e.state.terminating;
  if (const auto it = deletions_in_flight_.find(id); it != deletions_in_flight_.end()) {
    pod.deletion_timestamp = it->second;
  }
  return pod;
}

PodId Deployments::create_pod(ServiceId service) {
  const auto id = static_cast<PodId>(pod_count());
  Workload& w = touch(service);
  PodEntry e;
  e.state.revision = w.revision;
  e.record.service = service;
  e.record.ip = next_ip_++;
  e.record.created = sim_.now();
  created_.push_back(e);
  (w.last_pod == kNone ? w.first_pod : stored_entry(w.last_pod).next) = id;
  w.last_pod = id;
  add_live(id);
  write(Op::create, id, Verb::create);
  return id;
}

void Deployments::unlink(Workload& w, PodId pod) {
  PodId previous = kNone;
  for (PodId p = w.first_pod; p != kNone;) {
    const PodId next = stored_entry(p).next;  // one lookup a pod
    if (p == pod) {
      (previous == kNone ? w.first_pod : stored_entry(previous).next) = next;
      if (w.last_pod == pod) w.last_pod = previous;
      return;
    }
    previous = p;
    p = next;
  }
}

void Deployments::add_services(const Service& first, std::uint32_t count, const WorkloadSpec& spec) {
  if (count == 0) return;
  if (!created_.empty()) throw std::logic_error("Deployments: Services are seeded before a rollout creates pods");
  const std::uint64_t end = std::uint64_t{first.id} + count;
  if (end > std::uint64_t{kNone}) throw std::length_error("Deployments: Service ids past 2^32 - 1");
  if (const auto next = group_by_first_service_.lower_bound(first.id);
      (next != group_by_first_service_.end() && next->first < end) ||
      (next != group_by_first_service_.begin() &&
       groups_[std::prev(next)->second].first_service + std::uint64_t{groups_[std::prev(next)->second].services} >
           first.id)) {
    throw std::logic_error("Deployments: Service " + std::to_string(first.id) + " of cluster " + cluster_ +
                           " seeded twice");
  }
  if (spec.replicas < 0) throw std::invalid_argument("Deployments: negative replicas");
  const auto replicas = static_cast<std::uint32_t>(spec.replicas);
  if (std::uint64_t{seeded_end_} + std::uint64_t{count} * replicas >= kNone) {
    throw std::length_error("Deployments: more than 2^32 - 1 pods");
  }
  const auto spec_index = static_cast<std::uint32_t>(specs_.size());
  specs_.push_back(spec);
  group_by_first_service_.emplace(first.id, static_cast<std::uint32_t>(groups_.size()));
  groups_.push_back(SeededGroup{first.id, count, seeded_end_, replicas, spec_index, sim_.now()});
  if (end > is_touched_.size()) is_touched_.resize(end, false);

  Service service = first;
  Endpoints endpoints;
  std::vector<EndpointAddress> addresses;  // reused: it keeps its capacity from one Service to the next
  for (std::uint32_t k = 0; k < count; ++k) {
    service.id = first.id + k;
    api_.seed_service(service);
    endpoints.service = service.id;
    endpoints.headless_label = service.headless;
    addresses.clear();
    for (std::uint32_t i = 0; i < replicas; ++i) {
      Pod pod;
      pod.id = seeded_end_++;
      pod.service = service.id;
      pod.ip = next_ip_++;
      pod.node = static_cast<std::uint16_t>(pod.id % kNodes);  // pods go round the nodes in creation order
      pod.ready = true;
      add_live(pod.id);
      api_.seed_pod(pod);
      addresses.push_back(EndpointAddress{pod.ip, pod.id, api_.pod(pod.id)->resource_version});
    }
    std::sort(addresses.begin(), addresses.end(),
              [](const EndpointAddress& a, const EndpointAddress& b) { return a.ip < b.ip; });
    endpoints.set_addresses(addresses);
    if (service.has_selector) api_.seed_endpoints(endpoints);
  }
}

void Deployments::write(Op op, PodId pod, Verb verb) {
  const char* agent = op == Op::create || op == Op::terminate ? "replicaset-controller" : "kubelet";
  // Each update names the part of the pod it writes, so that one overtaken
  // in the API server (e.g. a churn update sent just before the deletion)
  // cannot undo another's change.
  const PodUpdate part = op == Op::ready ? PodUpdate::status : op == Op::terminate ? PodUpdate::deletion : PodUpdate::metadata;
  api_.write_pod(verb, this->pod(pod), this, (static_cast<std::uint64_t>(op) << kOpShift) | pod, agent, part);
}

void Deployments::retry(Op op, PodId pod) {
  switch (op) {
    case Op::create: write(op, pod, Verb::create); break;
    case Op::remove: write(op, pod, Verb::remove); break;
    case Op::terminate: write(op, pod, Verb::update); break;
    case Op::ready:  // as the first send (the readiness timer): not once terminating,
    case Op::churn:  // when the endpoints controller drops the pod whatever it reports
      if (!entry(pod).state.terminating) {
        write(op, pod, Verb::update);
      } else if (op == Op::ready) {
        ready_transitions_in_flight_.erase(pod);  // the status write is given up
      }
      break;
  }
}

void Deployments::schedule_rollout(ServiceId service, sim::Time at) {
  sim_.schedule_at(at, [this, service] { rollout(service); });
}

void Deployments::rollout(ServiceId service) {
  Workload& w = touch(service);
  ++w.revision;  // a mid-rollout update makes the current new pods old too
  if (w.rollout == kNone) {
    w.rollout = static_cast<std::uint32_t>(rollouts_.size());
    rollouts_.push_back(RolloutRecord{service, sim_.now(), sim::Time::max()});
  }
  step(service);
}

// One reconcile of the rolling update (rolling.go reconcileNewReplicaSet /
// reconcileOldReplicaSets), run at the start and whenever a pod of the
// service becomes ready.
void Deployments::step(ServiceId service) {
  Workload& w = touch(service);
  const WorkloadSpec& spec = specs_[w.spec];
  const int replicas = spec.replicas;
  const int max_surge = static_cast<int>(std::ceil(replicas * spec.max_surge_fraction));
  int max_unavailable = static_cast<int>(std::floor(replicas * spec.max_unavailable_fraction));
  if (max_surge == 0 && max_unavailable == 0) max_unavailable = 1;  // validation forbids both 0

  int old_live = 0, old_ready = 0, new_live = 0, new_ready = 0;
  for (PodId p = w.first_pod; p != kNone;) {
    const PodEntry& e = stored_entry(p);  // one lookup a pod
    const PodState& pod = e.state;
    p = e.next;
    if (pod.terminating) continue;
    const bool is_new = pod.revision == w.revision;
    (is_new ? new_live : old_live) += 1;
    if (pod.ready) (is_new ? new_ready : old_ready) += 1;
  }
  // Scale up the new ReplicaSet within replicas + maxSurge.
  const int can_create = std::min(replicas - new_live, replicas + max_surge - (old_live + new_live));
  for (int i = 0; i < can_create; ++i) {
    create_pod(service);
    ++new_live;
  }
  // Scale down old pods while replicas − maxUnavailable stay available;
  // unready old pods go first.
  int can_remove = std::min(old_live, old_ready + new_ready - (replicas - max_unavailable));
  for (int pass = 0; pass < 2 && can_remove > 0; ++pass) {
    for (PodId p = w.first_pod, next; p != kNone; p = next) {
      if (can_remove <= 0) break;
      const PodEntry& e = stored_entry(p);  // one lookup a pod; terminate() changes no link
      next = e.next;
      const PodState& pod = e.state;
      if (pod.terminating || pod.revision == w.revision) continue;
      if ((pass == 0) == pod.ready) continue;  // pass 0: unready, pass 1: ready
      terminate(p);
      if (pass == 1) --can_remove;
    }
  }
  // rolling.go's bounds: never more than replicas + maxSurge pods that are
  // not terminating; scale-down never takes the ready ones below
  // replicas - maxUnavailable (unless fewer were ready to begin with).
#if EPSIM_INVARIANTS_ENABLED  // O(pods of the service): checked builds only
  int live_after = 0, ready_after = 0;
  for (PodId p = w.first_pod; p != kNone;) {
    const PodEntry& e = stored_entry(p);
    const PodState& pod = e.state;
    p = e.next;
    if (pod.terminating) continue;
    ++live_after;
    if (pod.ready) ++ready_after;
  }
  EPSIM_INVARIANT(live_after <= replicas + max_surge, "a rollout exceeded replicas + maxSurge");
  EPSIM_INVARIANT(ready_after >= std::min(replicas - max_unavailable, old_ready + new_ready),
                  "a rollout scaled down below replicas - maxUnavailable");
#endif
  if (w.rollout != kNone && old_live == 0 && new_ready == replicas) {
    rollouts_[w.rollout].finished = sim_.now();
    w.rollout = kNone;
  }
}

void Deployments::terminate(PodId pod) {
  stored_entry(pod).state.terminating = true;
  deletions_in_flight_[pod] = sim_.now();
  write(Op::terminate, pod, Verb::update);
}

void Deployments::on_response(std::uint64_t tag, const ApiResponse& response) {
  const auto op = static_cast<Op>(tag >> kOpShift);
  const auto pod = static_cast<PodId>(tag & 0xffffffffULL);
  if (response.code == 429) {
    // An overloaded API server (max-mutating-requests-inflight) refuses with
    // Retry-After; client-go's rest client waits and sends again
    // (rest/request.go), and the kubelet and the ReplicaSet controller keep
    // retrying beyond its 10 attempts, so the write is sent until it lands.
    sim_.schedule_after(response.retry_after, [this, op, pod] { retry(op, pod); });
    return;
  }
  // The write is over: stored, or refused for good.
  if (op == Op::ready) ready_transitions_in_flight_.erase(pod);
  if (op == Op::terminate) deletions_in_flight_.erase(pod);
  if (response.code >= 300) return;  // 404/409: the pod changed meanwhile; the next write carries the news
  if (op == Op::churn) return;       // a seeded pod's churn changes nothing this model holds
  PodRecord& record = stored_entry(pod).record;
  switch (op) {
    case Op::create: {
      const sim::Duration delay = spec_of(record.service).readiness_delay;
      sim_.schedule_after(delay, [this, pod] {
        PodState& p = stored_entry(pod).state;
        if (p.terminating) return;
        p.ready = true;
        // The kubelet stamps the Ready condition's lastTransitionTime when the
        // probe result flips (pkg/kubelet/status/status_manager.go
        // updateLastTransitionTime) and resends that status until it is stored.
        ready_transitions_in_flight_[pod] = sim_.now();
        write(Op::ready, pod, Verb::update);
      });
      break;
    }
    case Op::ready:
      record.ready_at = sim_.now();
      step(record.service);
      break;
    case Op::terminate: {
      record.terminating_at = sim_.now();
      // The IP answers until terminationGracePeriodSeconds (default 30) is
      // over; preStop runs inside it (core/v1 types.go; docs/model.md §8).
      const sim::Duration grace = spec_of(record.service).termination_grace_period;
      sim_.schedule_after(grace, [this, pod] {
        PodRecord& dead = stored_entry(pod).record;
        dead.dead_at = sim_.now();
        if (on_ip_dead_) on_ip_dead_(dead.ip);
        write(Op::remove, pod, Verb::remove);
      });
      step(record.service);
      break;
    }
    case Op::remove: {
      unlink(touch(record.service), pod);
      remove_live(pod);
      break;
    }
    case Op::churn:
      break;
  }
}

void Deployments::start_background_deploys(double per_hour, sim::Time until, std::vector<ServiceId> candidates) {
  if (per_hour <= 0 || candidates.empty()) return;
  deploys_per_hour_ = per_hour;
  deploys_until_ = until;
  deploy_candidates_ = std::move(candidates);
  next_background_deploy();
}

namespace {
// Mean gaps beyond this (a rate like 1e-300 per hour) do not fit a Duration;
// they are drawn in seconds, and a gap past the end schedules nothing.
constexpr double kMaxMeanGapSeconds = 1e9;
}  // namespace

void Deployments::next_background_deploy() {
  const double mean_s = 3600.0 / deploys_per_hour_;
  const double gap_s = mean_s < kMaxMeanGapSeconds
                           ? deploy_rng_.exponential(sim::Duration::from_seconds(mean_s).seconds_f())
                           : deploy_rng_.exponential(mean_s);
  if (gap_s > (deploys_until_ - sim_.now()).seconds_f() + 1) return;  // far past the end: no Duration needed
  const sim::Duration gap = sim::Duration::from_seconds(gap_s);
  if (sim_.now() + gap >= deploys_until_) return;
  sim_.schedule_after(gap, [this] {
    const auto i = deploy_rng_.uniform_int(0, static_cast<std::int64_t>(deploy_candidates_.size()) - 1);
    rollout(deploy_candidates_[static_cast<std::size_t>(i)]);
    next_background_deploy();
  });
}

void Deployments::start_status_churn(double per_pod_per_hour, sim::Time until) {
  if (per_pod_per_hour <= 0) return;
  if (!tracking_live_) {
    // The draws pick from live_ by position, and deletions reorder it: built
    // now, it is the list kept from the start only while none was deleted.
    if (removed_ > 0) throw std::logic_error("status churn must start before any pod is deleted");
    tracking_live_ = true;
    live_index_.grow_to(pod_count(), 0);
    for (PodId pod = 0; pod < pod_count(); ++pod) {
      live_index_[pod] = static_cast<std::uint32_t>(live_.size());
      live_.push_back(pod);
    }
  }
  churn_per_pod_per_hour_ = per_pod_per_hour;
  churn_until_ = until;
  next_churn();
}

void Deployments::next_churn() {
  const double rate_per_s = churn_per_pod_per_hour_ * static_cast<double>(std::max<std::size_t>(live_.size(), 1)) / 3600.0;
  const double gap_s = churn_rng_.exponential(1.0 / rate_per_s);
  if (gap_s > (churn_until_ - sim_.now()).seconds_f() + 1) return;  // far past the end (a tiny rate)
  const sim::Duration gap = sim::Duration::from_seconds(gap_s);
  if (sim_.now() + gap >= churn_until_) return;
  sim_.schedule_after(gap, [this] {
    if (!live_.empty()) {
      const auto i = churn_rng_.uniform_int(0, static_cast<std::int64_t>(live_.size()) - 1);
      const PodId pod = live_[static_cast<std::size_t>(i)];
      // An update that changes only the pod's resourceVersion (#108078).
      if (!entry(pod).state.terminating) write(Op::churn, pod, Verb::update);
    }
    next_churn();
  });
}

}  // namespace epsim::models
