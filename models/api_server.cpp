#include "models/api_server.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "sim/invariant.h"

namespace epsim::models {

namespace {

// apiserver pkg/endpoints/metrics/metrics.go (1.17) requestLatencies buckets.
const std::vector<double> kRequestDurationBuckets = {0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
                                                     0.6,  0.7, 0.8,  0.9, 1.0,  1.25, 1.5, 1.75, 2.0, 2.5,
                                                     3.0,  3.5, 4.0,  4.5, 5,    6,    7,   8,    9,   10,
                                                     15,   20,  25,   30,  40,   50,   60};

const char* verb_name(Verb v) {
  switch (v) {
    case Verb::create: return "POST";
    case Verb::update: return "PUT";
    case Verb::remove: return "DELETE";
  }
  return "?";
}

template <class T>
void ensure_slot(std::vector<T>& objects, std::vector<bool>& present, std::size_t id) {
  if (id >= objects.size()) {
    objects.resize(id + 1);
    present.resize(id + 1, false);
  }
}

}  // namespace

ApiServer::ApiServer(sim::Simulator& simulator, sim::MetricsRegistry& metrics, std::uint64_t seed, std::string cluster,
                     ApiServerConfig config)
    : sim_(simulator),
      metrics_(metrics),
      latency_rng_(seed, "apiserver/" + cluster + "/latency"),
      cluster_(std::move(cluster)),
      config_(config) {
  if (!(config_.latency_median > sim::Duration::zero()) || config_.latency_p99 < config_.latency_median) {
    throw std::invalid_argument("apiserver latency needs 0 < median <= p99");
  }
  // Log-normal from its median and 99th percentile: p99 = median · e^(2.3263·σ).
  latency_mu_ = std::log(config_.latency_median.seconds_f());
  latency_sigma_ = std::log(config_.latency_p99.seconds_f() / config_.latency_median.seconds_f()) / 2.3263478740408408;
  if (config_.mutating_throughput > 0) {
    service_time_ = sim::Duration::from_seconds(1.0 / config_.mutating_throughput);
  }
  request_duration_ = &metrics_.histogram("apiserver_request_duration_seconds",
                                          "Response latency distribution in seconds for each verb and resource.",
                                          kRequestDurationBuckets, {{"cluster", cluster_}});
}

void ApiServer::seed_service(const Service& service) {
  ensure_slot(services_, service_present_, service.id);
  services_[service.id] = service;
  services_[service.id].resource_version = next_resource_version(0);
  service_present_[service.id] = true;
}

void ApiServer::seed_pod(const Pod& pod) {
  ensure_slot(pods_, pod_present_, pod.id);
  pods_[pod.id] = pod;
  pods_[pod.id].resource_version = next_resource_version(0);
  pod_present_[pod.id] = true;
}

void ApiServer::seed(EndpointsStore& store, const Endpoints& object) {
  ensure_slot(store.objects, store.present, object.service);
  store.objects[object.service] = object;
  store.objects[object.service].resource_version = next_resource_version(0);
  store.present[object.service] = true;
}

void ApiServer::seed_endpoints(const Endpoints& endpoints) { seed(endpoints_, endpoints); }
void ApiServer::seed_endpoint_slice(const Endpoints& slice) { seed(slices_, slice); }

const Service* ApiServer::service(ServiceId id) const {
  return id < services_.size() && service_present_[id] ? &services_[id] : nullptr;
}
const Pod* ApiServer::pod(PodId id) const { return id < pods_.size() && pod_present_[id] ? &pods_[id] : nullptr; }
const Endpoints* ApiServer::endpoints(ServiceId id) const {
  return id < endpoints_.objects.size() && endpoints_.present[id] ? &endpoints_.objects[id] : nullptr;
}
const Endpoints* ApiServer::endpoint_slice(ServiceId id) const {
  return id < slices_.objects.size() && slices_.present[id] ? &slices_.objects[id] : nullptr;
}

namespace {
template <class Object>
std::vector<Object> stored(const std::vector<Object>& objects, const std::vector<bool>& present) {
  std::vector<Object> out;
  for (std::size_t id = 0; id < objects.size(); ++id) {
    if (present[id]) out.push_back(objects[id]);
  }
  return out;
}
}  // namespace

std::vector<Service> ApiServer::list_services() const { return stored(services_, service_present_); }
std::vector<Pod> ApiServer::list_pods() const { return stored(pods_, pod_present_); }
std::vector<Endpoints> ApiServer::list_endpoints() const { return stored(endpoints_.objects, endpoints_.present); }
std::vector<Endpoints> ApiServer::list_endpoint_slices() const { return stored(slices_.objects, slices_.present); }

ResourceVersion ApiServer::next_resource_version(ResourceVersion previous) {
  // The cluster-wide counter (etcd's revision) only grows, so a stored
  // object's resourceVersion never decreases.
  EPSIM_INVARIANT(resource_version_ < std::numeric_limits<ResourceVersion>::max(), "resourceVersion overflow");
  ++resource_version_;
  EPSIM_INVARIANT(resource_version_ > previous, "a stored object's resourceVersion would decrease");
  return resource_version_;
}

std::uint32_t ApiServer::new_request() {
  if (!free_requests_.empty()) {
    const std::uint32_t r = free_requests_.back();
    free_requests_.pop_back();
    return r;
  }
  requests_.emplace_back();
  return static_cast<std::uint32_t>(requests_.size() - 1);
}

void ApiServer::write_endpoints(Verb verb, const Endpoints& object, ResourceVersion precondition, ApiClient* client,
                                std::uint64_t tag, const char* user_agent) {
  write_endpoints_to(Resource::endpoints, verb, object, precondition, client, tag, user_agent);
}

void ApiServer::write_endpoint_slice(Verb verb, const Endpoints& object, ResourceVersion precondition,
                                     ApiClient* client, std::uint64_t tag, const char* user_agent) {
  write_endpoints_to(Resource::endpointslices, verb, object, precondition, client, tag, user_agent);
}

void ApiServer::write_endpoints_to(Resource resource, Verb verb, const Endpoints& object,
                                   ResourceVersion precondition, ApiClient* client, std::uint64_t tag,
                                   const char* user_agent) {
  const std::uint32_t id = new_request();
  Request& r = requests_[id];
  r.resource = resource;
  r.verb = verb;
  r.client = client;
  r.tag = tag;
  r.precondition = precondition;
  r.user_agent = user_agent;
  r.submitted = sim_.now();
  r.endpoints = object;
  admit(id);
}

void ApiServer::write_pod(Verb verb, const Pod& object, ApiClient* client, std::uint64_t tag, const char* user_agent,
                          PodUpdate part) {
  const std::uint32_t id = new_request();
  Request& r = requests_[id];
  r.resource = Resource::pods;
  r.verb = verb;
  r.client = client;
  r.tag = tag;
  r.precondition = 0;
  r.user_agent = user_agent;
  r.submitted = sim_.now();
  r.pod = object;
  r.pod_update = part;
  admit(id);
}

sim::Duration ApiServer::sample_latency() {
  return sim::Duration::from_seconds(latency_rng_.lognormal(latency_mu_, latency_sigma_));
}

void ApiServer::admit(std::uint32_t request) {
  ++requests_total_;
  if (inflight_ >= config_.max_mutating_requests_inflight) {
    // maxinflight.go: over the limit → 429 with Retry-After: 1, at once.
    ApiResponse refused;
    refused.code = 429;
    refused.retry_after = config_.retry_after;
    count(requests_[request], 429, sim::Duration::zero());
    respond(request, refused);
    return;
  }
  ++inflight_;
  EPSIM_INVARIANT(inflight_ <= config_.max_mutating_requests_inflight, "apiserver admitted beyond its inflight limit");
  if (inflight_ == config_.max_mutating_requests_inflight) at_inflight_limit_.open(sim_.now());
  // FIFO write processor, then the sampled latency (etcd, encoding, network).
  sim::Time start = sim_.now();
  if (processor_free_at_ > start) start = processor_free_at_;
  write_backlog_.add(sim_.now(), start);  // waits behind earlier writes
  processor_free_at_ = start + service_time_;
  const sim::Time done = processor_free_at_ + sample_latency();
  sim_.schedule_at(done, [this, request] { complete(request); });
}

void ApiServer::complete(std::uint32_t request) {
  --inflight_;
  EPSIM_INVARIANT(inflight_ >= 0, "apiserver mutating inflight count went negative");
  at_inflight_limit_.close(sim_.now());
  const Request& r = requests_[request];
  const ApiResponse response = r.resource == Resource::pods        ? apply_pod(r)
                               : r.resource == Resource::endpoints ? apply_endpoints(r, endpoints_)
                                                                   : apply_endpoints(r, slices_);
  count(r, response.code, sim_.now() - r.submitted);
  respond(request, response);
}

void ApiServer::respond(std::uint32_t request, const ApiResponse& response) {
  Request& r = requests_[request];
  ApiClient* client = r.client;
  const std::uint64_t tag = r.tag;
  ++responses_total_;
  // Every admitted request is answered once: refused at once, or completed.
  EPSIM_INVARIANT(requests_total_ == responses_total_ + static_cast<std::uint64_t>(inflight_),
                  "apiserver requests, responses and inflight out of step");
  free_requests_.push_back(request);  // free before the callback: it may write again
  if (client != nullptr) client->on_response(tag, response);
}

void ApiServer::count(const Request& r, int code, sim::Duration latency) {
  const char* resource = r.resource == Resource::pods        ? "pods"
                         : r.resource == Resource::endpoints ? "endpoints"
                                                             : "endpointslices";
  std::string key = std::string(verb_name(r.verb)) + "|" + resource + "|" + std::to_string(code) + "|" + r.user_agent;
  sim::Counter*& counter = request_counters_[key];
  if (counter == nullptr) {
    counter = &metrics_.counter("apiserver_request_total",
                                "Counter of apiserver requests broken out for each verb, resource and code.",
                                {{"cluster", cluster_},
                                 {"verb", verb_name(r.verb)},
                                 {"resource", resource},
                                 {"code", std::to_string(code)},
                                 {"client", r.user_agent}});
  }
  counter->inc();
  if (code != 429) {
    request_duration_->observe(latency.seconds_f());
    static_assert(static_cast<int>(Resource::endpointslices) == kResources - 1 &&
                  static_cast<int>(Verb::remove) == kVerbs - 1);
    const auto day = static_cast<std::size_t>(
        std::max<std::int64_t>(0, sim_.now().since_start().ns()) / sim::Duration::hours(24).ns());
    const std::size_t per_day = kResources * kVerbs;
    if (latency_by_day_.size() < (day + 1) * per_day) latency_by_day_.resize((day + 1) * per_day);
    latency_by_day_[day * per_day + static_cast<std::size_t>(static_cast<int>(r.resource) * kVerbs +
                                                             static_cast<int>(r.verb))]
        .add(latency.seconds_f());
  }
}

const char* ApiServer::resource_name(int resource) {
  return resource == 0 ? "pods" : resource == 1 ? "endpoints" : "endpointslices";
}

const char* ApiServer::verb_label(int verb) { return verb == 0 ? "POST" : verb == 1 ? "PUT" : "DELETE"; }

ApiResponse ApiServer::apply_endpoints(const Request& r, EndpointsStore& store) {
  const ServiceId id = r.endpoints.service;
  ensure_slot(store.objects, store.present, id);
  ApiResponse response;
  Endpoints& stored = store.objects[id];
  std::vector<bool>::reference present = store.present[id];
  switch (r.verb) {
    case Verb::create:
      if (present) return ApiResponse{409, false, stored.resource_version, {}};
      stored = r.endpoints;
      stored.resource_version = next_resource_version(stored.resource_version);
      present = true;
      ++writes_applied_;
      notify_endpoints(store, WatchEventType::added, stored);
      return ApiResponse{201, false, stored.resource_version, {}};
    case Verb::update:
      if (!present) return ApiResponse{404, false, 0, {}};
      // The PUT carries the RV the client read from its cache, which can be
      // old but never newer than what is stored.
      EPSIM_INVARIANT(r.precondition <= stored.resource_version,
                      "an Endpoints update carries a resourceVersion the server never stored");
      if (r.precondition != 0 && r.precondition != stored.resource_version) {
        return ApiResponse{409, false, stored.resource_version, {}};
      }
      if (config_.noop_update_elision && stored.same_content(r.endpoints)) {
        ++noop_updates_;
        return ApiResponse{200, true, stored.resource_version, {}};
      }
      {
        const ResourceVersion previous = stored.resource_version;
        stored = r.endpoints;
        stored.resource_version = next_resource_version(previous);
      }
      ++writes_applied_;
      notify_endpoints(store, WatchEventType::modified, stored);
      return ApiResponse{200, false, stored.resource_version, {}};
    case Verb::remove:
      if (!present) return ApiResponse{404, false, 0, {}};
      present = false;
      // The DELETED watch event carries the last state with the deletion's
      // revision (apiserver pkg/storage/etcd3/watcher.go), so a watcher sees
      // resourceVersions only grow.
      stored.resource_version = next_resource_version(stored.resource_version);
      ++writes_applied_;
      notify_endpoints(store, WatchEventType::deleted, stored);
      return ApiResponse{200, false, stored.resource_version, {}};
  }
  return response;
}

ApiResponse ApiServer::apply_pod(const Request& r) {
  const PodId id = r.pod.id;
  ensure_slot(pods_, pod_present_, id);
  Pod& stored = pods_[id];
  switch (r.verb) {
    case Verb::create:
      if (pod_present_[id]) return ApiResponse{409, false, stored.resource_version, {}};
      stored = r.pod;
      stored.resource_version = next_resource_version(stored.resource_version);
      pod_present_[id] = true;
      ++writes_applied_;
      notify_pods(WatchEventType::added, stored);
      return ApiResponse{201, false, stored.resource_version, {}};
    case Verb::update:
      if (!pod_present_[id]) return ApiResponse{404, false, 0, {}};
      // Pod writers (kubelet, deployment model) always send a real change,
      // to the part of the pod they own, so writes that overtake each other
      // (latency is sampled per request) never undo one another.
      switch (r.pod_update) {
        case PodUpdate::status:
          // pods/status: podStatusStrategy.PrepareForUpdate keeps spec and metadata.
          stored.ready = r.pod.ready;
          stored.ready_transition = r.pod.ready_transition;
          break;
        case PodUpdate::deletion:
          // A graceful DELETE sets metadata.deletionTimestamp; registry/rest/update.go
          // BeforeUpdate: "an update can never remove/change a deletion timestamp".
          if (!stored.terminating) {
            stored.terminating = true;
            stored.deletion_timestamp = r.pod.deletion_timestamp;
          }
          break;
        case PodUpdate::metadata:
          // Labels, annotations: podStrategy.PrepareForUpdate keeps the
          // status (newPod.Status = oldPod.Status); nothing modelled moves
          // but the resourceVersion.
          break;
      }
      stored.resource_version = next_resource_version(stored.resource_version);
      ++writes_applied_;
      notify_pods(WatchEventType::modified, stored);
      return ApiResponse{200, false, stored.resource_version, {}};
    case Verb::remove:
      if (!pod_present_[id]) return ApiResponse{404, false, 0, {}};
      pod_present_[id] = false;
      stored.resource_version = next_resource_version(stored.resource_version);  // as for Endpoints
      ++writes_applied_;
      notify_pods(WatchEventType::deleted, stored);
      return ApiResponse{200, false, stored.resource_version, {}};
  }
  return ApiResponse{};
}

// Watch fan-out: every change is delivered after the same delay, so a FIFO of
// pending notifications and one event per change keep the order.
void ApiServer::notify_endpoints(EndpointsStore& store, WatchEventType type, const Endpoints& object) {
  if (store.watchers.empty()) return;
  EPSIM_INVARIANT(store.pending.empty() || store.pending.back().object.resource_version < object.resource_version,
                  "Endpoints watch events queued out of resourceVersion order");
  store.pending.push_back({type, object});
  EndpointsStore* target = &store;
  sim_.schedule_after(config_.watch_delay, [this, target] { deliver_endpoints(*target); });
}

void ApiServer::notify_pods(WatchEventType type, const Pod& object) {
  if (pod_watchers_.empty()) return;
  EPSIM_INVARIANT(pod_notifications_.empty() || pod_notifications_.back().object.resource_version < object.resource_version,
                  "Pod watch events queued out of resourceVersion order");
  pod_notifications_.push_back({type, object});
  sim_.schedule_after(config_.watch_delay, [this] { deliver_pods(); });
}

void ApiServer::deliver_endpoints(EndpointsStore& store) {
  EPSIM_INVARIANT(!store.pending.empty(), "Endpoints watch delivery without a pending event");
  const Notification<Endpoints> n = std::move(store.pending.front());
  store.pending.pop_front();
  for (WatchSink<Endpoints>* w : store.watchers) w->on_watch_event(n.type, n.object);
}

void ApiServer::deliver_pods() {
  EPSIM_INVARIANT(!pod_notifications_.empty(), "Pod watch delivery without a pending event");
  const Notification<Pod> n = pod_notifications_.front();
  pod_notifications_.pop_front();
  for (WatchSink<Pod>* w : pod_watchers_) w->on_watch_event(n.type, n.object);
}

}  // namespace epsim::models
