#include "models/endpoints_controller.h"

#include <algorithm>

#include "sim/invariant.h"

namespace epsim::models {

namespace {
constexpr std::uint64_t kTermShift = 32;
const char* const kUserAgent = "endpoint-controller";

bool less_by_ip(const EndpointAddress& a, const EndpointAddress& b) { return a.ip < b.ip; }

bool addresses_equal(const std::vector<EndpointAddress>& a, const std::vector<EndpointAddress>& b,
                     bool compare_target_ref_rv) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].ip != b[i].ip || a[i].pod != b[i].pod || a[i].node != b[i].node) return false;
    if (compare_target_ref_rv && a[i].target_ref_resource_version != b[i].target_ref_resource_version) return false;
  }
  return true;
}
}  // namespace

// Service handlers (1.17): Add, Update and Delete all enqueue the key with no
// check at all, so every periodic resync enqueues every Service.
class EndpointsController::ServiceHandler : public InformerHandler<Service> {
 public:
  explicit ServiceHandler(EndpointsController& c) : c_(c) {}
  void on_add(const Service& s) override { add(s.id); }
  void on_update(const Service&, const Service& s) override { add(s.id); }
  void on_delete(const Service& s) override { add(s.id); }

 private:
  void add(ServiceId id) {
    c_.queue_->add(id);
    c_.note_depth();
  }
  EndpointsController& c_;
};

// Pod handlers (1.17 endpoints_controller.go addPod/updatePod/deletePod and
// controller_utils.go GetServicesToUpdateOnPodChange).
class EndpointsController::PodHandler : public InformerHandler<Pod> {
 public:
  explicit PodHandler(EndpointsController& c) : c_(c) {}
  void on_add(const Pod& p) override {
    c_.pods_by_service_[p.service].push_back(p.id);
    c_.enqueue_pod_services(p);
  }
  void on_update(const Pod& old_pod, const Pod& pod) override {
    // "Periodic resync will send update events for all known pods": same RV → nothing.
    if (old_pod.resource_version == pod.resource_version) return;
    // What no update can do: a deletionTimestamp is never removed
    // (apiserver registry/rest/update.go BeforeUpdate), a pod's IP is never
    // replaced and its labels (so its Service) never change in this model.
    EPSIM_INVARIANT(!old_pod.terminating || pod.terminating, "a pod's deletionTimestamp was cleared");
    EPSIM_INVARIANT(old_pod.ip == 0 || old_pod.ip == pod.ip, "a pod's IP changed");
    EPSIM_INVARIANT(old_pod.service == pod.service, "a pod moved to another Service");
    // podChanged (endpoints_controller.go, v1.17): `newPod.DeletionTimestamp
    // != oldPod.DeletionTimestamp` compares the *metav1.Time pointers, and two
    // decoded objects never share one: once a pod is terminating every update
    // of it counts as a change. Then readiness, or the address (IP, node;
    // TargetRef without its resourceVersion, #50934). Labels never change here.
    const bool changed = old_pod.terminating || pod.terminating || old_pod.ready != pod.ready ||
                         old_pod.ip != pod.ip || old_pod.node != pod.node;
    if (!changed) return;
    c_.enqueue_pod_services(pod);
  }
  void on_delete(const Pod& p) override {
    auto& list = c_.pods_by_service_[p.service];
    list.erase(std::remove(list.begin(), list.end(), p.id), list.end());
    c_.enqueue_pod_services(p);
  }

 private:
  EndpointsController& c_;
};

EndpointsController::EndpointsController(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& api,
                                         const std::string& cluster, EndpointsControllerConfig config,
                                         std::size_t service_space)
    : sim_(simulator),
      metrics_(metrics),
      api_(api),
      cluster_(cluster),
      config_(config),
      service_space_(service_space),
      service_handler_(std::make_unique<ServiceHandler>(*this)),
      pod_handler_(std::make_unique<PodHandler>(*this)),
      pods_by_service_(service_space),
      tracker_seen_(service_space, false),
      tracker_last_transition_(service_space) {
  if (config_.concurrent_endpoint_syncs < 1) throw std::invalid_argument("concurrent endpoint syncs must be >= 1");
  // Registered in 1.17 but its updater is a TODO: always 0.
  metrics_.gauge("endpoint_controller_rate_limiter_use", "A metric measuring the saturation of the rate limiter",
                 {{"cluster", cluster_}});
}

EndpointsController::~EndpointsController() = default;

void EndpointsController::attach(Informer<Service>& services, Informer<Pod>& pods, Informer<Endpoints>& endpoints) {
  services_ = &services;
  pods_ = &pods;
  endpoints_ = &endpoints;
  services.add_handler(service_handler_.get());
  pods.add_handler(pod_handler_.get());
  // 1.17 registers no Endpoints handler: only the lister is used.
}

void EndpointsController::begin_term(sim::Time now, bool fresh_tracker) {
  for (std::uint32_t w = 0; w < workers_.size(); ++w) {
    if (workers_[w].in_flight) orphans_.emplace((std::uint64_t{term_} << kTermShift) | w, std::move(workers_[w]));
  }
  ++term_;
  in_flight_workers_ = 0;
  all_workers_in_flight_.close(now);
  queue_ = std::make_unique<WorkQueue>(sim_, metrics_, "endpoint", service_space_);
  queue_->set_on_item_available([this] { on_item_available(); });
  // flowcontrol.NewTokenBucketRateLimiter takes qps as float32.
  bucket_ = std::make_unique<TokenBucket>(TokenBucket::flowcontrol(config_.kube_api_qps, config_.kube_api_burst, now));
  workers_.assign(static_cast<std::size_t>(config_.concurrent_endpoint_syncs), Worker{});
  idle_workers_.clear();
  for (int w = config_.concurrent_endpoint_syncs - 1; w >= 0; --w) idle_workers_.push_back(static_cast<std::uint32_t>(w));
  wake_scheduled_ = false;
  for (auto& list : pods_by_service_) list.clear();
  if (fresh_tracker) {
    tracker_seen_.assign(service_space_, false);
    tracker_last_transition_.assign(service_space_, sim::Time::zero());
  }
}

void EndpointsController::mark_seen(ServiceId id, sim::Time max_ready_transition) {
  tracker_seen_[id] = true;
  tracker_last_transition_[id] = max_ready_transition;
}

void EndpointsController::rebuild_pod_index() {
  for (auto& list : pods_by_service_) list.clear();
  for (std::uint32_t id = 0; id < pods_->id_space(); ++id) {
    if (const Pod* p = pods_->get(id)) pods_by_service_[p->service].push_back(p->id);
  }
}

void EndpointsController::check_leftover_endpoints(const std::vector<std::uint32_t>& endpoints) {
  for (const std::uint32_t id : endpoints) {
    EPSIM_INVARIANT(endpoints_->get(id) != nullptr, "checkLeftoverEndpoints of an Endpoints not in the cache");
    queue_->add(id);
    note_depth();
  }
}

void EndpointsController::enqueue_pod_services(const Pod& pod) {
  // AddAfter(key, endpointUpdatesBatchPeriod): with 0 an immediate Add that
  // still counts a retry (delaying_queue.go).
  queue_->add_after(pod.service, config_.endpoint_updates_batch_period);
  note_depth();
}

void EndpointsController::on_item_available() {
  if (wake_scheduled_ || idle_workers_.empty()) return;
  // A blocked Get() returns on a later goroutine step, not inside Add().
  wake_scheduled_ = true;
  const std::uint32_t term = term_;
  sim_.schedule_after(sim::Duration::zero(), [this, term] {
    if (term != term_) return;
    wake_scheduled_ = false;
    wake_workers();
  });
}

void EndpointsController::wake_workers() {
  Key key;
  while (!idle_workers_.empty() && queue_->try_get(key)) {
    const std::uint32_t w = idle_workers_.back();
    idle_workers_.pop_back();
    EPSIM_INVARIANT(!workers_[w].busy, "an idle endpoints worker was busy");
    workers_[w].busy = true;
    check_workers();
    workers_[w].key = key;
    workers_[w].queued = queue_->added_at(key);
    workers_[w].started = sim_.now();
    process(w);
  }
}

void EndpointsController::process(std::uint32_t worker) {
  ++syncs_total_;
  if (!sync_service(worker)) finish(worker, true);
}

std::optional<sim::Time> EndpointsController::trigger_time(ServiceId id, const Service& service) {
  // The first time this process sees a service the trigger time is its
  // creation time; later, the earliest pod Ready transition newer than the
  // last call, or zero when nothing moved.
  sim::Time latest = tracker_last_transition_[id];
  sim::Time earliest_new = sim::Time::max();
  for (PodId p : pods_by_service_[id]) {
    const Pod* pod = pods_->get(p);
    if (pod == nullptr) continue;
    if (pod->ready_transition > tracker_last_transition_[id]) earliest_new = std::min(earliest_new, pod->ready_transition);
    latest = std::max(latest, pod->ready_transition);
  }
  tracker_last_transition_[id] = latest;
  if (!tracker_seen_[id]) {
    tracker_seen_[id] = true;
    return service.creation_time;
  }
  if (earliest_new == sim::Time::max()) return std::nullopt;
  return earliest_new;
}

bool EndpointsController::sync_service(std::uint32_t worker) {
  Worker& w = workers_[worker];
  const ServiceId id = w.key;
  const Service* service = services_->get(id);
  const Endpoints* current = endpoints_->get(id);
  if (service == nullptr) {
    // Service gone: DELETE its Endpoints (404 ignored).
    if (current == nullptr) return false;
    w.verb = Verb::remove;
    w.object = *current;
    w.precondition = 0;
    send(worker);
    return true;
  }
  if (!service->has_selector) return false;

  Endpoints desired;
  desired.service = id;
  for (PodId p : pods_by_service_[id]) {
    const Pod* pod = pods_->get(p);
    if (pod == nullptr || pod->ip == 0) continue;
    // Terminating pods leave both lists unless the Service tolerates unready.
    if (pod->terminating && !service->publish_not_ready) continue;
    const EndpointAddress address{pod->ip, pod->id, pod->node, pod->resource_version};
    if (pod->ready || service->publish_not_ready) {
      desired.addresses.push_back(address);
    } else {
      desired.not_ready_addresses.push_back(address);  // restartPolicy Always
    }
  }
  // RepackSubsets: canonical order.
  std::sort(desired.addresses.begin(), desired.addresses.end(), less_by_ip);
  std::sort(desired.not_ready_addresses.begin(), desired.not_ready_addresses.end(), less_by_ip);
#if EPSIM_INVARIANTS_ENABLED  // O(addresses): checked builds only
  for (std::size_t i = 1; i < desired.addresses.size(); ++i) {
    EPSIM_INVARIANT(desired.addresses[i - 1].ip < desired.addresses[i].ip, "two pods of a Service share an IP");
  }
#endif
  // ComputeEndpointLastChangeTriggerTime is called on every sync, even a no-op one.
  const std::optional<sim::Time> trigger = trigger_time(id, *service);

  const bool create = current == nullptr;
  if (!create) {
    const bool compare_rv = config_.switches.target_ref_resource_version_compare;
    const bool subsets_equal = addresses_equal(current->addresses, desired.addresses, compare_rv) &&
                               addresses_equal(current->not_ready_addresses, desired.not_ready_addresses, compare_rv);
    // Labels: the Service's labels never carry the headless label. With the
    // bug (A) the stored labels are compared as they are; fixed, the headless
    // label is stripped first. B made the cached Service carry it too.
    bool labels_equal = true;
    if (config_.switches.headless_label_compare && !config_.switches.service_label_mutation) {
      labels_equal = !current->headless_label;
    }
    if (subsets_equal && labels_equal) return false;
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
  w.verb = create ? Verb::create : Verb::update;
  w.object = std::move(desired);
  w.precondition = create ? 0 : current->resource_version;
  w.retry_after_attempts = 0;
  send(worker);
  return true;
}

// client-go rest/request.go: tryThrottle() (the bucket's Accept) before each
// attempt, including retries after a Retry-After response.
void EndpointsController::send(std::uint32_t worker) {
  const sim::Duration wait = bucket_->reserve(sim_.now());
  bucket_waits_.add(sim_.now(), sim_.now() + wait);
  const std::uint32_t term = term_;
  sim_.schedule_after(wait, [this, worker, term] {
    if (term == term_) submit(worker);
  });
}

void EndpointsController::submit(std::uint32_t worker) {
  Worker& w = workers_[worker];
  w.request_started = sim_.now();  // request latency excludes the throttle wait
  EPSIM_INVARIANT(w.busy && !w.in_flight, "an endpoints worker sent a second request");
  set_in_flight(w, true);
  api_.write_endpoints(w.verb, w.object, w.precondition, this, (std::uint64_t{term_} << kTermShift) | worker,
                       kUserAgent);
}

void EndpointsController::on_response(std::uint64_t tag, const ApiResponse& response) {
  ++responses_total_;
  if ((tag >> kTermShift) != term_) {  // a previous leadership term's request
    ++stale_responses_;
    const auto orphan = orphans_.find(tag);
    EPSIM_INVARIANT(orphan != orphans_.end(), "a response to a request no term sent");
    if (orphan == orphans_.end()) return;
    const Worker& o = orphan->second;
    // Nobody handles the answer (the process is gone), but the write is in
    // storage: the sync component and ingress-nginx see it.
    if (response.code < 300 && !response.noop && o.verb != Verb::remove) {
      writes_.record(o.key, StageWrite{o.queued, o.started, o.request_started, sim_.now(), ready_ips(o.object)});
    }
    orphans_.erase(orphan);
    return;
  }
  const auto worker = static_cast<std::uint32_t>(tag & 0xffffffffULL);
  EPSIM_INVARIANT(worker < workers_.size(), "an Endpoints response for an unknown endpoints worker");
  Worker& w = workers_[worker];
  EPSIM_INVARIANT(w.busy && w.in_flight, "an Endpoints response for an idle endpoints worker");
  set_in_flight(w, false);
  const char* method = w.verb == Verb::create ? "POST" : w.verb == Verb::update ? "PUT" : "DELETE";
  const std::string code = std::to_string(response.code);
  const std::string counter_key = std::string(method) + code;
  sim::Counter* counter = nullptr;
  for (auto& [k, c] : rest_counters_) {
    if (k == counter_key) counter = c;
  }
  if (counter == nullptr) {
    counter = &metrics_.counter("rest_client_requests_total",
                                "Number of HTTP requests, partitioned by status code, method, and host.",
                                {{"cluster", cluster_}, {"code", code}, {"method", method}, {"host", cluster_ + "-apiserver"}});
    rest_counters_.emplace_back(counter_key, counter);
  }
  counter->inc();
  sim::Histogram*& duration = request_duration_[static_cast<std::size_t>(w.verb)];
  if (duration == nullptr) {
    // rest_client_request_duration_seconds: 1 ms · 2^k, 10 buckets (component-base v0.17.3 restclient).
    duration = &metrics_.histogram("rest_client_request_duration_seconds",
                                   "Request latency in seconds. Broken down by verb and URL.",
                                   sim::Histogram::exponential_buckets(0.001, 2, 10),
                                   {{"cluster", cluster_}, {"verb", method},
                                    {"url", w.verb == Verb::create ? "/api/v1/namespaces/{namespace}/endpoints"
                                                                   : "/api/v1/namespaces/{namespace}/endpoints/{name}"}});
  }
  duration->observe((sim_.now() - w.request_started).seconds_f());

  // client-go rest/request.go (v0.17): `retries++` on each response, a new
  // attempt while `retries < maxRetries` (10): 10 attempts in all, the first
  // included, so at most 9 waits on Retry-After.
  if (response.code == 429 && w.retry_after_attempts + 1 < config_.client_max_retry_after) {
    ++w.retry_after_attempts;
    const std::uint32_t term = term_;
    sim_.schedule_after(response.retry_after, [this, worker, term] {
      if (term == term_) send(worker);
    });
    return;
  }
  if (response.code < 300 && !response.noop && w.verb != Verb::remove) {
    writes_.record(w.key, StageWrite{w.queued, w.started, w.request_started, sim_.now(), ready_ips(w.object)});
  }
  if (response.code != 429) {
    ++writes_total_;
    if (episode_open_ || (!episodes_.empty() && !episodes_.back().finished)) {
      SyncEpisode& e = episodes_.back();
      ++e.puts;
      if (response.noop) ++e.noop_puts;
    }
  }
  const bool ok = response.code < 300 || (w.verb == Verb::remove && response.code == 404);
  finish(worker, ok);
}

// endpoints_controller.go handleErr: Forget on success; AddRateLimited while
// NumRequeues < maxRetries; then drop the key until its next event.
void EndpointsController::finish(std::uint32_t worker, bool ok) {
  Worker& w = workers_[worker];
  const Key key = w.key;
  EPSIM_INVARIANT(w.busy && queue_->is_processing(key), "an endpoints worker finished a key it did not hold");
  if (ok) {
    queue_->forget(key);
  } else if (queue_->num_requeues(key) < config_.max_retries) {
    queue_->add_rate_limited(key);
  } else {
    queue_->forget(key);
  }
  w.busy = false;
  w.object.addresses.clear();
  w.object.not_ready_addresses.clear();
  queue_->done(key);
  idle_workers_.push_back(worker);
  check_workers();
  note_depth();
  close_episode_if_idle();
  if (queue_->len() > 0) on_item_available();
}

// A key is never synced by two workers at once: every busy worker holds a key
// the queue has in processing (checked when it finishes), the queue never
// hands out a key in processing (work_queue.cpp), and the busy workers are
// exactly as many as the keys in processing.
void EndpointsController::check_workers() const {
  EPSIM_INVARIANT(workers_.size() - idle_workers_.size() == queue_->processing_count(),
                  "busy endpoints workers and workqueue keys in processing differ");
}

void EndpointsController::set_in_flight(Worker& w, bool in_flight) {
  w.in_flight = in_flight;
  in_flight_workers_ = in_flight ? in_flight_workers_ + 1 : in_flight_workers_ - 1;
  EPSIM_INVARIANT(in_flight_workers_ <= workers_.size(), "more endpoints workers in flight than workers");
  if (in_flight_workers_ == workers_.size()) {
    all_workers_in_flight_.open(sim_.now());
  } else {
    all_workers_in_flight_.close(sim_.now());
  }
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
  episode_adds_before_ = queue_->adds_total();
}

void EndpointsController::end_episode_dispatch() {
  EPSIM_INVARIANT(episode_open_, "end_episode_dispatch() without begin_episode()");
  episode_open_ = false;
  episodes_.back().enqueued = queue_->adds_total() - episode_adds_before_;
  note_depth();
  close_episode_if_idle();
}

void EndpointsController::note_depth() {
  if (episodes_.empty() || episodes_.back().finished) return;
  const auto depth = static_cast<std::uint64_t>(queue_->len() + queue_->processing_count());
  episodes_.back().max_queue_depth = std::max(episodes_.back().max_queue_depth, depth);
}

void EndpointsController::close_episode_if_idle() {
  if (episode_open_ || episodes_.empty() || episodes_.back().finished) return;
  if (!queue_->idle()) return;
  episodes_.back().finished = true;
  episodes_.back().ended = sim_.now();
}

}  // namespace epsim::models
