#include "models/api_server.h"

#include <cmath>
#include <cstring>
#include <iterator>
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

template <class Object>
void ApiServer::seed(Kind<Object>& kind, std::uint32_t id, const Object& object) {
  const VersionHandle v = kind.store.add_version(object, next_resource_version(0));
  kind.store.set_current(id, v);
  kind.store.release(v);
}

void ApiServer::seed_service(const Service& service) { seed(services_, service.id, service); }
void ApiServer::seed_pod(const Pod& pod) { seed(pods_, pod.id, pod); }
void ApiServer::seed_endpoints(const Endpoints& endpoints) { seed(endpoints_, endpoints.service, endpoints); }
void ApiServer::seed_endpoint_slice(const Endpoints& slice) { seed(slices_, slice.service, slice); }

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
  const ApiResponse response = r.resource == Resource::pods ? apply(pods_, r, r.pod.id, r.pod)
                               : r.resource == Resource::endpoints
                                   ? apply(endpoints_, r, r.endpoints.service, r.endpoints)
                                   : apply(slices_, r, r.endpoints.service, r.endpoints);
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

namespace {
// The response codes the model answers with, as dense ids.
constexpr int kCodes[] = {200, 201, 404, 409, 429};
constexpr std::size_t kCodeIds = std::size(kCodes);

std::size_t code_id(int code) {
  for (std::size_t i = 0; i < kCodeIds; ++i) {
    if (kCodes[i] == code) return i;
  }
  // A bug, but never a silent one: a new code must get an id here, not be
  // counted as another code's requests.
  throw std::logic_error("apiserver response code " + std::to_string(code) + " has no counter id");
}
}  // namespace

// apiserver_request_total{verb, resource, code, client}: one counter per
// combination, registered when first used (the registry's order is that of
// first use) and found again by ids, not by a string key per request.
sim::Counter& ApiServer::request_counter(const Request& r, int code) {
  std::size_t agent = 0;
  while (agent < user_agents_.size() && std::strcmp(user_agents_[agent].c_str(), r.user_agent) != 0) ++agent;
  if (agent == user_agents_.size()) {
    user_agents_.emplace_back(r.user_agent);
    request_counters_.resize(user_agents_.size() * kCodeIds * kResources * kVerbs, nullptr);
  }
  const std::size_t index = ((agent * kCodeIds + code_id(code)) * kResources + static_cast<std::size_t>(r.resource)) *
                                kVerbs +
                            static_cast<std::size_t>(r.verb);
  sim::Counter*& counter = request_counters_[index];
  if (counter == nullptr) {
    counter = &metrics_.counter("apiserver_request_total",
                                "Counter of apiserver requests broken out for each verb, resource and code.",
                                {{"cluster", cluster_},
                                 {"verb", verb_label(static_cast<int>(r.verb))},
                                 {"resource", resource_name(static_cast<int>(r.resource))},
                                 {"code", std::to_string(code)},
                                 {"client", r.user_agent}});
  }
  return *counter;
}

void ApiServer::count(const Request& r, int code, sim::Duration latency) {
  request_counter(r, code).inc();
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

template <class Object>
ApiResponse ApiServer::apply(Kind<Object>& kind, const Request& r, std::uint32_t id, const Object& requested) {
  const ObjectStore<Object>& store = kind.store;
  const VersionHandle current = store.current(id);
  switch (r.verb) {
    case Verb::create:
      if (current != kNoVersion) return ApiResponse{409, false, store.at(current).resource_version, {}};
      return publish(kind, id, requested, requested.resource_version, WatchEventType::added, 201);
    case Verb::update: {
      if (current == kNoVersion) return ApiResponse{404, false, 0, {}};
      const Object& stored = store.at(current);
      const ResourceVersion previous = stored.resource_version;
      // The PUT carries the RV the client read from its cache, which can be
      // old but never newer than what is stored.
      EPSIM_INVARIANT(r.precondition <= previous, "an update carries a resourceVersion the server never stored");
      if (r.precondition != 0 && r.precondition != previous) return ApiResponse{409, false, previous, {}};
      Object scratch;
      const Object* next = updated(r, requested, stored, scratch);
      if (next == nullptr) {
        ++noop_updates_;
        return ApiResponse{200, true, previous, {}};
      }
      return publish(kind, id, *next, previous, WatchEventType::modified, 200);
    }
    case Verb::remove: {
      if (current == kNoVersion) return ApiResponse{404, false, 0, {}};
      // The DELETED watch event carries the last state with the deletion's
      // revision (apiserver pkg/storage/etcd3/watcher.go), so a watcher sees
      // resourceVersions only grow.
      const Object& stored = store.at(current);
      return publish(kind, id, stored, stored.resource_version, WatchEventType::deleted, 200);
    }
  }
  return ApiResponse{};
}

template <class Object>
ApiResponse ApiServer::publish(Kind<Object>& kind, std::uint32_t id, const Object& object, ResourceVersion previous,
                               WatchEventType type, int code) {
  const ResourceVersion rv = next_resource_version(previous);
  const VersionHandle v = kind.store.add_version(object, rv);  // before `object`'s version may go
  if (type == WatchEventType::deleted) {
    kind.store.clear_current(id);
  } else {
    kind.store.set_current(id, v);
  }
  ++writes_applied_;
  notify(kind, type, v);
  return ApiResponse{code, false, rv, {}};
}

// An Endpoints update writes the requested object, unless it equals the
// stored one (the no-op test compares encoded bytes, all but the
// resourceVersion).
const Endpoints* ApiServer::updated(const Request&, const Endpoints& requested, const Endpoints& stored,
                                    Endpoints&) {
  return config_.noop_update_elision && stored.same_content(requested) ? nullptr : &requested;
}

// Pod writers (kubelet, deployment model) always send a real change, to the
// part of the pod they own, so writes that overtake each other (latency is
// sampled per request) never undo one another.
const Pod* ApiServer::updated(const Request& r, const Pod&, const Pod& stored, Pod& next) {
  next = stored;
  switch (r.pod_update) {
    case PodUpdate::status:
      // pods/status: podStatusStrategy.PrepareForUpdate keeps spec and metadata.
      next.ready = r.pod.ready;
      next.ready_transition = r.pod.ready_transition;
      break;
    case PodUpdate::deletion:
      // A graceful DELETE sets metadata.deletionTimestamp; registry/rest/update.go
      // BeforeUpdate: "an update can never remove/change a deletion timestamp".
      if (!stored.terminating) {
        next.terminating = true;
        next.deletion_timestamp = r.pod.deletion_timestamp;
      }
      break;
    case PodUpdate::metadata:
      // Labels, annotations: podStrategy.PrepareForUpdate keeps the status
      // (newPod.Status = oldPod.Status); nothing modelled moves but the
      // resourceVersion.
      break;
  }
  return &next;
}

// Watch fan-out: every change is delivered after the same delay, so a FIFO of
// pending notifications and one event per change keep the order.
template <class Object>
void ApiServer::notify(Kind<Object>& kind, WatchEventType type, VersionHandle version) {
  if (kind.watchers.empty()) {
    kind.store.release(version);
    return;
  }
  EPSIM_INVARIANT(kind.pending.empty() || kind.store.at(kind.pending.back().version).resource_version <
                                              kind.store.at(version).resource_version,
                  "watch events queued out of resourceVersion order");
  kind.pending.push_back({type, version});
  sim_.schedule_after(config_.watch_delay, [this, &kind] { deliver(kind); });
}

template <class Object>
void ApiServer::deliver(Kind<Object>& kind) {
  EPSIM_INVARIANT(!kind.pending.empty(), "watch delivery without a pending event");
  const Notification n = kind.pending.front();
  kind.pending.pop_front();
  for (WatchSink<Object>* w : kind.watchers) w->on_watch_event(n.type, kind.store, n.version);
  kind.store.release(n.version);
}

}  // namespace epsim::models
