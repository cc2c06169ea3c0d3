#include <doctest/doctest.h>

#include <algorithm>
#include <memory>

#include "api_test_support.h"
#include "models/controller_manager.h"
#include "models/deployment.h"

using namespace epsim::models;
using epsim::sim::Duration;
using epsim::sim::MetricsRegistry;
using epsim::sim::Simulator;
using epsim::sim::Time;

namespace {

// A small business cluster: `services` Services (headless ones first, then
// with a ClusterIP; the last `selectorless` without a selector), two ready
// pods each, and a controller manager in steady state running the endpoints
// controller on the 1.17.3 preset (headless label bug A on) and, when
// `slices` is set, the EndpointSlice controller. Every API request takes 10 ms.
struct Setup {
  std::uint32_t services = 3;
  std::uint32_t headless = 3;
  std::uint32_t selectorless = 0;
  bool slices = true;
  double slice_qps = 20;
  int slice_burst = 30;
  double endpoints_qps = 20;
  int endpoints_burst = 30;
  // Seed every selector Service's slice with no endpoints before the start,
  // so that the first sync of each writes one.
  bool stale_slices = false;
  bool target_ref_rv_compare = true;
};

struct Cluster {
  Simulator sim;
  MetricsRegistry metrics;
  std::unique_ptr<ApiServer> api;
  std::unique_ptr<Deployments> deployments;
  std::unique_ptr<ControllerManager> cm;

  explicit Cluster(const Setup& s) {
    api = std::make_unique<ApiServer>(sim, metrics, 1, "idc", epsim::test::fixed_latency(Duration::milliseconds(10)));
    deployments = std::make_unique<Deployments>(sim, *api, 1, "idc");
    WorkloadSpec w;
    w.replicas = 2;
    for (std::uint32_t i = 0; i < s.services; ++i) {
      Service service;
      service.id = i;
      service.headless = i < s.headless;
      service.has_selector = i < s.services - s.selectorless;
      deployments->add_service(service, w);
      if (s.stale_slices && service.has_selector) {
        Endpoints empty;
        empty.service = i;
        api->seed_endpoint_slice(empty);
      }
    }
    ControllerManagerConfig c;
    c.resync_period = Duration::hours(1);
    c.endpoints.switches = *switches_for_version("1.17.3");
    c.endpoints.kube_api_qps = s.endpoints_qps;
    c.endpoints.kube_api_burst = s.endpoints_burst;
    c.endpoint_slice_controller = s.slices;
    c.endpoint_slices.kube_api_qps = s.slice_qps;
    c.endpoint_slices.kube_api_burst = s.slice_burst;
    c.endpoint_slices.target_ref_resource_version_compare = s.target_ref_rv_compare;
    cm = std::make_unique<ControllerManager>(sim, metrics, *api, 1, "idc", c, s.services);
    cm->start_steady(Time::zero());
  }
  const EndpointSliceController& slices() { return *cm->endpoint_slice_controller(); }
  void run_to(Duration d) { sim.run_until(Time::zero() + d); }
};

bool lists(std::span<const EndpointAddress> addresses, PodId pod) {
  return std::any_of(addresses.begin(), addresses.end(), [pod](const EndpointAddress& a) { return a.pod == pod; });
}

// Pods are created in Service order, two per Service: Service 0 has pods 0 and 1.
constexpr PodId kFirstPod = 0;

}  // namespace

TEST_CASE("the steady start seeds each selector Service's slice with its pods and nothing is written") {
  Cluster c(Setup{});
  for (ServiceId s = 0; s < 3; ++s) {
    const Endpoints* slice = c.api->endpoint_slice(s);
    REQUIRE(slice != nullptr);
    // The seeded slice lists what the Endpoints list (the Deployments seed them).
    CHECK(slice->subsets == c.api->endpoints(s)->subsets);
    CHECK(slice->addresses().size() == 2);
  }
  c.run_to(Duration::minutes(59));
  CHECK(c.slices().syncs_total() == 0);
  CHECK(c.slices().writes_total() == 0);
}

TEST_CASE("a pod that stops being ready or starts terminating leads to one slice write that drops it") {
  for (const bool terminate : {false, true}) {
    CAPTURE(terminate);
    Cluster c(Setup{});
    epsim::test::IgnoreResponses client;
    c.run_to(Duration::seconds(1));
    Pod pod = *c.api->pod(kFirstPod);
    PodUpdate part = PodUpdate::status;
    if (terminate) {
      pod.terminating = true;
      pod.deletion_timestamp = c.sim.now();
      part = PodUpdate::deletion;
    } else {
      pod.ready = false;
      pod.ready_transition = c.sim.now();
    }
    c.api->write_pod(Verb::update, pod, &client, 0, "kubelet", part);
    c.run_to(Duration::seconds(10));

    CHECK(c.slices().writes_total() == 1);
    const auto& writes = c.slices().writes().writes_of(0);
    REQUIRE(writes.size() == 1);
    CHECK(!writes[0].routes_to(pod.ip));
    CHECK(writes[0].ready_ips.size() == 1);
    const Endpoints* slice = c.api->endpoint_slice(0);
    REQUIRE(slice != nullptr);
    CHECK(!lists(slice->addresses(), kFirstPod));
    // Not ready: kept as a not-ready endpoint; terminating: left out (#89056).
    CHECK(lists(slice->not_ready_addresses(), kFirstPod) == !terminate);
    // The other Services' slices are untouched.
    CHECK(c.slices().writes().writes_of(1).empty());
    CHECK(c.slices().writes().writes_of(2).empty());
  }
}

TEST_CASE("a periodic resync enqueues every unchanged headless Service but writes no slice") {
  // N headless Services on 1.17.3: the endpoints controller PUTs all N
  // Endpoints at the resync (bug A), the EndpointSlice controller syncs the
  // same N keys and sends nothing.
  constexpr std::uint32_t kServices = 40;
  Cluster c(Setup{.services = kServices, .headless = kServices});
  c.run_to(Duration::minutes(61));
  const auto& episodes = c.cm->endpoints_controller().episodes();
  REQUIRE(!episodes.empty());
  CHECK(episodes[0].puts == kServices);

  CHECK(c.slices().syncs_total() == kServices);  // onServiceUpdate queues each Service
  CHECK(c.slices().writes_total() == 0);
  CHECK(c.slices().pool().responses_total() == 0);  // no API request at all
  CHECK(c.slices().pool().queue().idle());
  CHECK(c.slices().pool().queue().adds_total() == kServices);
}

TEST_CASE("slice writes go through the controller's own client bucket: K writes at qps q, burst b take (K-b)/q") {
  // K stale slices: the first resync makes each Service's sync write one.
  // The bucket was full (idle since t = 0): b requests leave at once, then
  // one every 1/q, so the last leaves (K - b)/q after the resync. The
  // endpoints controller PUTs its K Endpoints at the same resync with the
  // same q and b; sharing one bucket would take (2K - b)/q.
  constexpr std::uint32_t kServices = 23;
  constexpr double kQps = 2;
  constexpr int kBurst = 3;
  Cluster c(Setup{.services = kServices,
                  .headless = kServices,
                  .slice_qps = kQps,
                  .slice_burst = kBurst,
                  .endpoints_qps = kQps,
                  .endpoints_burst = kBurst,
                  .stale_slices = true});
  c.run_to(Duration::minutes(70));
  CHECK(c.cm->endpoints_controller().episodes().at(0).puts == kServices);
  CHECK(c.slices().writes_total() == kServices);
  const Time resync = Time::zero() + Duration::hours(1);
  Time last_sent = Time::zero();
  std::uint32_t immediate = 0;
  for (ServiceId s = 0; s < kServices; ++s) {
    const auto& writes = c.slices().writes().writes_of(s);
    REQUIRE(writes.size() == 1);
    CHECK(writes[0].ready_ips.size() == 2);
    last_sent = std::max(last_sent, writes[0].sent);
    if (writes[0].sent == resync) ++immediate;
  }
  CHECK(immediate == kBurst);
  CHECK((last_sent - resync).seconds_f() == doctest::Approx((kServices - kBurst) / kQps).epsilon(1e-6));
}

TEST_CASE("a Service without a selector gets no slice from the EndpointSlice controller") {
  Cluster c(Setup{.services = 3, .headless = 0, .selectorless = 1});
  constexpr ServiceId kSelectorless = 2;
  CHECK(c.api->endpoint_slice(kSelectorless) == nullptr);  // not seeded either
  // Its pods change and a resync syncs it: still nothing written.
  epsim::test::IgnoreResponses client;
  Pod pod = *c.api->pod(2 * kSelectorless);
  pod.ready = false;
  c.api->write_pod(Verb::update, pod, &client, 0, "kubelet", PodUpdate::status);
  c.run_to(Duration::minutes(61));
  CHECK(c.slices().syncs_total() >= 3);
  CHECK(c.api->endpoint_slice(kSelectorless) == nullptr);
  CHECK(c.slices().writes().writes_of(kSelectorless).empty());
  CHECK(c.slices().writes_total() == 0);
}

TEST_CASE("with the EndpointSlice controller off the controller manager has no slice informer and writes no slice") {
  Cluster off(Setup{.slices = false});
  Cluster on(Setup{.slices = true});
  CHECK(off.cm->endpoint_slice_controller() == nullptr);
  CHECK(off.cm->endpoint_slice_informer() == nullptr);
  CHECK(off.api->endpoint_slice_store().size() == 0);
  REQUIRE(on.cm->endpoint_slice_controller() != nullptr);
  REQUIRE(on.cm->endpoint_slice_informer() != nullptr);
  CHECK(on.cm->endpoint_slice_informer()->size() == 3);
  off.run_to(Duration::minutes(61));
  on.run_to(Duration::minutes(61));
  CHECK(off.api->endpoint_slice_store().size() == 0);
  // The endpoints controller does the same either way.
  const auto& a = off.cm->endpoints_controller();
  const auto& b = on.cm->endpoints_controller();
  CHECK(a.endpoint_writes_total() == 3);
  CHECK(b.endpoint_writes_total() == a.endpoint_writes_total());
  CHECK(b.episodes().at(0).puts == a.episodes().at(0).puts);
  CHECK(b.episodes().at(0).ended == a.episodes().at(0).ended);
}

TEST_CASE("a leader change gives the EndpointSlice controller a new term that relists and writes nothing new") {
  Cluster c(Setup{});
  c.cm->schedule_leader_change(Time::zero() + Duration::minutes(30));
  c.run_to(Duration::minutes(31));
  // The new term's LIST delivers every Service (queued) and pod (AddAfter): 3 syncs, no write.
  CHECK(c.slices().syncs_total() == 3);
  CHECK(c.slices().writes_total() == 0);
  CHECK(c.slices().pool().queue().idle());
  CHECK(c.cm->endpoint_slice_informer()->size() == 3);
}

TEST_CASE("RV-only pod updates are ignored at event time but make the next resync write slices until #108078") {
  // 20 Services, 40 pods, 2 RV-only updates per pod per hour for 50 min: a
  // Service sees none with probability exp(-2 · 2 · 50/60) ≈ 0.036, so about
  // 19 of the 20 have a pod whose TargetRef RV moved by the resync at 60 min.
  for (const bool compare : {true, false}) {
    CAPTURE(compare);
    Cluster c(Setup{.services = 20, .headless = 0, .target_ref_rv_compare = compare});
    c.deployments->start_status_churn(2.0, Time::zero() + Duration::minutes(50));
    c.run_to(Duration::minutes(55));
    CHECK(c.slices().writes_total() == 0);
    c.run_to(Duration::minutes(70));
    if (compare) {
      CHECK(c.slices().writes_total() >= 15);
      CHECK(c.slices().writes_total() <= 20);
    } else {
      CHECK(c.slices().writes_total() == 0);
    }
  }
}

TEST_CASE("a sync on a stale slice cache gets 409 Conflict and is retried after the 1 s sync backoff") {
  // Requests take 10 ms, watch events 100 ms more. Pod 0 turns unready at
  // 1 s: its event arrives at 1.11 s, the slice update is stored at 1.12 s and
  // its event arrives at 1.22 s. Pod 1 turns unready at 1.105 s: its event
  // (1.215 s) makes a sync that still reads the old slice, whose update is
  // refused at 1.225 s (the precondition RV is stale; 1.19 does not wait for
  // its cache, #99345). AddRateLimited retries it defaultSyncBackOff = 1 s
  // later, at 2.225 s, from a fresh cache.
  Cluster c(Setup{});
  epsim::test::IgnoreResponses client;
  const auto unready = [&](PodId id) {
    Pod pod = *c.api->pod(id);
    pod.ready = false;
    pod.ready_transition = c.sim.now();
    c.api->write_pod(Verb::update, pod, &client, 0, "kubelet", PodUpdate::status);
  };
  c.run_to(Duration::seconds(1));
  unready(kFirstPod);
  c.run_to(Duration::milliseconds(1105));
  unready(kFirstPod + 1);
  c.run_to(Duration::seconds(5));

  const ClientWriteOutcomes& o = c.slices().pool().outcomes();
  CHECK(o.conflicts == 1);
  CHECK(o.requeues == 1);
  CHECK(o.changed == 2);
  const auto& writes = c.slices().writes().writes_of(0);
  REQUIRE(writes.size() == 2);
  CHECK(writes[0].stored == Time::zero() + Duration::milliseconds(1120));
  CHECK(writes[1].started == Time::zero() + Duration::milliseconds(2225));
  CHECK(writes[1].ready_ips.empty());
  const Endpoints* slice = c.api->endpoint_slice(0);
  REQUIRE(slice != nullptr);
  CHECK(slice->addresses().empty());
  CHECK(slice->not_ready_addresses().size() == 2);
}
