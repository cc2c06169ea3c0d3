// One cluster's kube-apiserver: the object store (Services, Pods, Endpoints,
// EndpointSlices — one slice per Service, which is what mirroring produces
// for Services under 1000 endpoints)
// with a cluster-wide resourceVersion, the write path and watch fan-out.
//
// Write path: a mutating request is refused with 429 when
// --max-mutating-requests-inflight requests are already in flight (apiserver
// pkg/server/filters/maxinflight.go, Retry-After: 1); otherwise it waits for
// the server's write processor (a FIFO at `mutating_throughput` requests/s:
// the calibrated server-side bound, docs/model.md §4), then takes a sampled
// latency (log-normal), then is applied. An update whose result equals the
// stored object is a no-op: no new RV, no watch event (apiserver
// pkg/storage/etcd3/store.go GuaranteedUpdate), unless elision is switched
// off. Changes reach watchers after `watch_delay`, in order.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "models/object_store.h"
#include "models/objects.h"
#include "models/watch.h"
#include "sim/interval_set.h"
#include "sim/metrics.h"
#include "sim/quantile_sketch.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace epsim::models {

struct ApiServerConfig {
  sim::Duration latency_median = sim::Duration::milliseconds(10);
  sim::Duration latency_p99 = sim::Duration::milliseconds(100);
  double mutating_throughput = 0;              // requests/s; 0 = unbounded
  int max_mutating_requests_inflight = 200;    // --max-mutating-requests-inflight
  sim::Duration retry_after = sim::Duration::seconds(1);
  sim::Duration watch_delay = sim::Duration::milliseconds(50);
  bool noop_update_elision = true;
};

enum class Verb { create, update, remove };

// The part of a Pod an update writes (pkg/registry/core/pod/strategy.go):
// the kubelet's Ready condition goes through pods/status, whose strategy keeps
// spec and metadata; a graceful DELETE sets metadata.deletionTimestamp, which
// no later update can remove (registry/rest/update.go BeforeUpdate); other
// updates (labels, annotations) cannot touch the status
// (podStrategy.PrepareForUpdate: newPod.Status = oldPod.Status).
enum class PodUpdate : std::uint8_t { status, deletion, metadata };

struct ApiResponse {
  int code = 200;               // 200/201 ok, 404, 409 conflict, 429 too many requests
  bool noop = false;            // an update that changed nothing in storage
  ResourceVersion resource_version = 0;
  sim::Duration retry_after;    // set with 429
};

class ApiClient {
 public:
  virtual ~ApiClient() = default;
  virtual void on_response(std::uint64_t tag, const ApiResponse& response) = 0;
};

class ApiServer {
 public:
  ApiServer(sim::Simulator& simulator, sim::MetricsRegistry& metrics, std::uint64_t seed,
            std::string cluster, ApiServerConfig config);
  const std::string& cluster() const { return cluster_; }

  // Steady-state objects present at the start: no request, no watch event.
  void seed_service(const Service& service);
  void seed_pod(const Pod& pod);
  void seed_endpoints(const Endpoints& endpoints);

  const Service* service(ServiceId id) const { return services_.store.get(id); }
  const Pod* pod(PodId id) const { return pods_.store.get(id); }
  const Endpoints* endpoints(ServiceId id) const { return endpoints_.store.get(id); }
  const Endpoints* endpoint_slice(ServiceId id) const { return slices_.store.get(id); }
  void seed_endpoint_slice(const Endpoints& slice);
  std::size_t service_slots() const { return services_.store.id_space(); }
  std::size_t pod_slots() const { return pods_.store.id_space(); }
  // What a LIST reads: every stored object of a resource, by id (an
  // informer's initial list, or a relist after a leader change, takes
  // handles to these versions).
  const ObjectStore<Service>& service_store() const { return services_.store; }
  const ObjectStore<Pod>& pod_store() const { return pods_.store; }
  const ObjectStore<Endpoints>& endpoints_store() const { return endpoints_.store; }
  const ObjectStore<Endpoints>& endpoint_slice_store() const { return slices_.store; }
  ResourceVersion resource_version() const { return resource_version_; }

  // Mutating requests. `precondition` (updates) is the resourceVersion the
  // client read; a mismatch is a 409 Conflict. The response arrives through
  // client->on_response(tag, …) when the request completes.
  void write_endpoints(Verb verb, const Endpoints& object, ResourceVersion precondition, ApiClient* client,
                       std::uint64_t tag, const char* user_agent);
  // EndpointSlices, modelled with the Endpoints structure (one per Service).
  void write_endpoint_slice(Verb verb, const Endpoints& object, ResourceVersion precondition, ApiClient* client,
                            std::uint64_t tag, const char* user_agent);
  // Pods: create and remove take the object; an update writes only `part`
  // of it (ready + its transition time, or deletionTimestamp, or nothing
  // modelled: a resourceVersion bump).
  void write_pod(Verb verb, const Pod& object, ApiClient* client, std::uint64_t tag, const char* user_agent,
                 PodUpdate part = PodUpdate::metadata);

  void watch_services(WatchSink<Service>* sink) { services_.watchers.push_back(sink); }
  void watch_pods(WatchSink<Pod>* sink) { pods_.watchers.push_back(sink); }
  void watch_endpoints(WatchSink<Endpoints>* sink) { endpoints_.watchers.push_back(sink); }
  void watch_endpoint_slices(WatchSink<Endpoints>* sink) { slices_.watchers.push_back(sink); }

  int mutating_inflight() const { return inflight_; }
  std::uint64_t writes_applied() const { return writes_applied_; }
  std::uint64_t noop_updates() const { return noop_updates_; }
  std::uint64_t requests_total() const { return requests_total_; }
  // Answers sent (429 refusals and completed requests); requests_total()
  // minus mutating_inflight().
  std::uint64_t responses_total() const { return responses_total_; }
  const ApiServerConfig& config() const { return config_; }
  // When the server was the bound (epsim's `limited_by`): a mutating request
  // waited behind another for the write processor, or the in-flight limit
  // was reached.
  const sim::IntervalSet& write_backlog() const { return write_backlog_; }
  const sim::IntervalSet& at_inflight_limit() const { return at_inflight_limit_; }
  // apiserver_request_duration_seconds of this server (every verb and resource).
  const sim::Histogram& request_duration() const { return *request_duration_; }
  // The SIG Scalability mutating API call latency SLI's samples: the
  // latency of every answered mutating call (429s excluded, as the SLI
  // excludes them), per day of virtual time, resource and verb.
  static constexpr int kResources = 3;  // pods, endpoints, endpointslices
  static constexpr int kVerbs = 3;      // POST, PUT, DELETE
  static const char* resource_name(int resource);
  static const char* verb_label(int verb);
  // Days with samples: mutating_latency(day, r, v) for day < latency_days().
  std::size_t latency_days() const { return latency_by_day_.size() / (kResources * kVerbs); }
  const sim::QuantileSketch& mutating_latency(std::size_t day, int resource, int verb) const {
    return latency_by_day_[day * kResources * kVerbs + static_cast<std::size_t>(resource * kVerbs + verb)];
  }

 private:
  enum class Resource : std::uint8_t { pods, endpoints, endpointslices };
  struct Request {
    Resource resource;
    Verb verb;
    ApiClient* client;
    std::uint64_t tag;
    ResourceVersion precondition;
    PodUpdate pod_update = PodUpdate::metadata;
    const char* user_agent;
    sim::Time submitted;
    Endpoints endpoints;
    Pod pod;
  };
  // One resource kind: its store, its watchers and its watch events in
  // flight (each holds a reference to the version it carries).
  struct Notification {
    WatchEventType type;
    VersionHandle version;
  };
  template <class Object>
  struct Kind {
    ObjectStore<Object> store;
    std::vector<WatchSink<Object>*> watchers;
    std::deque<Notification> pending;
  };

  ResourceVersion next_resource_version(ResourceVersion previous);  // the object's new RV
  std::uint32_t new_request();
  void admit(std::uint32_t request);
  void complete(std::uint32_t request);
  void respond(std::uint32_t request, const ApiResponse& response);
  template <class Object>
  void seed(Kind<Object>& kind, std::uint32_t id, const Object& object);
  void write_endpoints_to(Resource resource, Verb verb, const Endpoints& object, ResourceVersion precondition,
                          ApiClient* client, std::uint64_t tag, const char* user_agent);
  // The one write path of every kind: create, update, remove; each
  // applied change is a new version and a watch event.
  template <class Object>
  ApiResponse apply(Kind<Object>& kind, const Request& r, std::uint32_t id, const Object& requested);
  // A real change: `object` as a new version after `previous`, current
  // (or, deleted, no longer stored), and its watch event.
  template <class Object>
  ApiResponse publish(Kind<Object>& kind, std::uint32_t id, const Object& object, ResourceVersion previous,
                      WatchEventType type, int code);
  // What an update stores, made from the request and the stored object
  // (in `scratch` if need be); nullptr: a no-op.
  const Endpoints* updated(const Request& r, const Endpoints& requested, const Endpoints& stored,
                           Endpoints& scratch);
  const Pod* updated(const Request& r, const Pod& requested, const Pod& stored, Pod& scratch);
  // Takes the caller's reference to `version`.
  template <class Object>
  void notify(Kind<Object>& kind, WatchEventType type, VersionHandle version);
  template <class Object>
  void deliver(Kind<Object>& kind);
  sim::Duration sample_latency();
  void count(const Request& r, int code, sim::Duration latency);
  sim::Counter& request_counter(const Request& r, int code);

  sim::Simulator& sim_;
  sim::MetricsRegistry& metrics_;
  sim::RandomStream latency_rng_;
  std::string cluster_;
  ApiServerConfig config_;
  double latency_mu_ = 0;
  double latency_sigma_ = 0;
  sim::Duration service_time_;  // 1 / mutating_throughput

  ResourceVersion resource_version_ = 1;
  Kind<Service> services_;
  Kind<Pod> pods_;
  Kind<Endpoints> endpoints_;
  Kind<Endpoints> slices_;

  std::vector<Request> requests_;
  std::vector<std::uint32_t> free_requests_;
  int inflight_ = 0;
  sim::IntervalSet write_backlog_;
  sim::IntervalSet at_inflight_limit_;
  sim::Time processor_free_at_;

  std::uint64_t writes_applied_ = 0;
  std::uint64_t noop_updates_ = 0;
  std::uint64_t requests_total_ = 0;
  std::uint64_t responses_total_ = 0;
  sim::Histogram* request_duration_ = nullptr;
  std::vector<sim::QuantileSketch> latency_by_day_;  // [day][resource][verb]
  std::vector<std::string> user_agents_;         // the clients seen, by id
  std::vector<sim::Counter*> request_counters_;  // [agent][code][resource][verb]; null until first use
};

}  // namespace epsim::models
