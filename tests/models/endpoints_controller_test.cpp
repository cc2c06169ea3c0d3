#include <doctest/doctest.h>

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

// A small business cluster on a hand-stepped clock: `headless` headless
// Services and `clusterip` Services with a ClusterIP, two ready pods each, a
// controller manager in steady state (its Endpoints already in the store).
struct Setup {
  std::uint32_t headless = 0;
  std::uint32_t clusterip = 0;
  ControllerSwitches switches;
  double qps = 20;
  int burst = 30;
  int workers = 5;
  std::optional<Duration> resync = Duration::hours(1);
  std::uint64_t seed = 1;
  double throughput = 0;
  int max_inflight = 200;
};

struct Cluster {
  Simulator sim;
  MetricsRegistry metrics;
  std::unique_ptr<ApiServer> api;
  std::unique_ptr<Deployments> deployments;
  std::unique_ptr<ControllerManager> cm;

  explicit Cluster(const Setup& s) {
    ApiServerConfig a;
    a.latency_median = Duration::milliseconds(10);
    a.latency_p99 = Duration::milliseconds(10);
    a.mutating_throughput = s.throughput;
    a.max_mutating_requests_inflight = s.max_inflight;
    api = std::make_unique<ApiServer>(sim, metrics, s.seed, "idc", a);
    deployments = std::make_unique<Deployments>(sim, *api, s.seed, "idc");
    WorkloadSpec w;
    w.replicas = 2;
    const std::uint32_t services = s.headless + s.clusterip;
    for (std::uint32_t i = 0; i < services; ++i) {
      Service service;
      service.id = i;
      service.headless = i < s.headless;
      deployments->add_service(service, w);
    }
    ControllerManagerConfig c;
    c.resync_period = s.resync;
    c.endpoints.kube_api_qps = s.qps;
    c.endpoints.kube_api_burst = s.burst;
    c.endpoints.concurrent_endpoint_syncs = s.workers;
    c.endpoints.switches = s.switches;
    cm = std::make_unique<ControllerManager>(sim, metrics, *api, s.seed, "idc", c, services);
    cm->start_steady(Time::zero());
  }
  // `services` headless Services on a version's preset.
  Cluster(std::uint32_t services, const std::string& version, double qps, int burst, int workers,
          std::optional<Duration> resync = Duration::hours(1), std::uint64_t seed = 1, double throughput = 0,
          int max_inflight = 200)
      : Cluster(Setup{.headless = services,
                      .switches = *switches_for_version(version),
                      .qps = qps,
                      .burst = burst,
                      .workers = workers,
                      .resync = resync,
                      .seed = seed,
                      .throughput = throughput,
                      .max_inflight = max_inflight}) {}
  const EndpointsController& controller() { return cm->endpoints_controller(); }
  void run_to(Duration d) { sim.run_until(Time::zero() + d); }
};

}  // namespace

TEST_CASE("steady state issues no writes before the first resync") {
  Cluster c(50, "1.17.3", 20, 30, 5);
  c.run_to(Duration::minutes(59));
  CHECK(c.controller().endpoint_writes_total() == 0);
  CHECK(c.controller().episodes().empty());
}

TEST_CASE("the 1.17.3 headless label bug makes a resync PUT every headless Service at the client qps") {
  // 1,300 services at qps 2, burst 3: the storm of the incident at 1/10 scale
  // and 1/10 rate lasts (1300 - 3) / 2 ≈ 648.5 s.
  Cluster c(1300, "1.17.3", 2, 3, 5);
  c.run_to(Duration::hours(2));
  const auto& episodes = c.controller().episodes();
  REQUIRE(episodes.size() >= 1);
  const SyncEpisode& e = episodes[0];
  CHECK(e.kind == SyncEpisode::Kind::resync);
  CHECK(e.at == Time::zero() + Duration::hours(1));
  CHECK(e.enqueued == 1300);
  CHECK(e.puts == 1300);
  CHECK(e.noop_puts == 1300);  // labels, subsets and annotation unchanged: storage no-ops
  CHECK(e.max_queue_depth == 1300);
  REQUIRE(e.finished);
  const double duration_s = (e.ended - e.at).seconds_f();
  CHECK(duration_s == doctest::Approx(648.5 + 0.01).epsilon(0.002));
  CHECK(c.metrics.value("workqueue_adds_total", {{"cluster", "idc"}, {"name", "endpoint"}}) >= 1300);
}

TEST_CASE("with the fix (1.17.13) a resync enqueues every Service but PUTs none") {
  Cluster c(1300, "1.17.13", 2, 3, 5);
  c.run_to(Duration::hours(2));
  const auto& episodes = c.controller().episodes();
  REQUIRE(episodes.size() == 2);
  CHECK(episodes[0].enqueued == 1300);
  CHECK(episodes[0].puts == 0);
  REQUIRE(episodes[0].finished);
  CHECK((episodes[0].ended - episodes[0].at) < Duration::seconds(1));
  CHECK(c.controller().endpoint_writes_total() == 0);
}

TEST_CASE("more workers do not help when the client bucket is the bottleneck but a faster bucket does") {
  Cluster slow(400, "1.17.3", 2, 3, 30);
  slow.run_to(Duration::hours(2));
  const auto& s = slow.controller().episodes().at(0);
  CHECK((s.ended - s.at).seconds_f() == doctest::Approx((400 - 3) / 2.0).epsilon(0.01));

  // qps 100 but a server that completes 20 writes/s: the server bounds it.
  Cluster bounded(400, "1.17.3", 100, 120, 30, Duration::hours(1), 1, 20);
  bounded.run_to(Duration::hours(2));
  const auto& b = bounded.controller().episodes().at(0);
  CHECK((b.ended - b.at).seconds_f() == doctest::Approx(400 / 20.0).epsilon(0.05));
}

TEST_CASE("a leader change lists everything and records a startup burst") {
  Cluster c(200, "1.17.3", 20, 30, 5, Duration::hours(10));
  c.cm->schedule_leader_change(Time::zero() + Duration::minutes(30));
  c.run_to(Duration::hours(1));
  const auto& episodes = c.controller().episodes();
  REQUIRE(episodes.size() == 1);
  CHECK(episodes[0].kind == SyncEpisode::Kind::startup);
  CHECK(episodes[0].enqueued == 200);
  // A new process: the trigger-time annotation is set to the creation time,
  // a real write for every Endpoints.
  CHECK(episodes[0].puts == 200);
  CHECK(episodes[0].noop_puts == 0);
  // The new term's resync phase starts at the leader change.
  CHECK(c.cm->next_resync_at() == Time::zero() + Duration::minutes(30) + Duration::hours(10));
}

TEST_CASE("unpinned resyncs are evenly spaced by one sampled period from 12h to 24h that depends on the seed") {
  std::vector<Duration> periods;
  for (std::uint64_t seed : {1, 2, 3}) {
    Cluster c(10, "1.17.13", 20, 30, 5, std::nullopt, seed);
    c.run_to(Duration::hours(24 * 5));
    const Duration p = c.cm->resync_period();
    CHECK(p >= Duration::hours(12));
    CHECK(p < Duration::hours(24));
    const auto& episodes = c.controller().episodes();
    REQUIRE(episodes.size() >= 5);
    for (std::size_t i = 0; i < episodes.size(); ++i) {
      CHECK(episodes[i].at == Time::zero() + p * static_cast<std::int64_t>(i + 1));
    }
    periods.push_back(p);
  }
  CHECK(periods[0] != periods[1]);
  CHECK(periods[1] != periods[2]);
}

TEST_CASE("a deleted pod leaves the Endpoints at the next sync and a new one joins when ready") {
  Cluster c(3, "1.17.13", 20, 30, 5, Duration::hours(10));
  c.deployments->schedule_rollout(0, Time::zero() + Duration::seconds(10));
  c.run_to(Duration::minutes(5));
  const Endpoints* e = c.api->endpoints(0);
  REQUIRE(e != nullptr);
  // Two replicas: maxSurge 1, maxUnavailable 0; after the rollout only the
  // two new pods are listed.
  CHECK(e->addresses().size() == 2);
  for (const auto& a : e->addresses()) CHECK(a.pod >= 6);
  CHECK(e->not_ready_addresses().empty());
  CHECK(c.controller().endpoint_writes_total() >= 4);
  REQUIRE(c.deployments->rollouts().size() == 1);
  CHECK(c.deployments->rollouts()[0].finished < Time::max());
}

TEST_CASE("RV-only pod updates are ignored at event time but make the next resync PUT before 1.24") {
  for (const char* version : {"1.22", "1.24"}) {
    CAPTURE(version);
    Cluster c(100, version, 20, 30, 5);
    c.deployments->start_status_churn(2.0, Time::zero() + Duration::minutes(50));
    c.run_to(Duration::minutes(55));
    CHECK(c.controller().endpoint_writes_total() == 0);
    c.run_to(Duration::minutes(70));
    const auto& e = c.controller().episodes().at(0);
    if (std::string(version) == "1.22") {
      CHECK(e.puts > 50);
      CHECK(e.noop_puts == 0);  // the new target RVs are real changes
    } else {
      CHECK(e.puts == 0);
    }
  }
}

using Ignore = epsim::test::IgnoreResponses;

TEST_CASE("every update of a terminating pod enqueues its Service: podChanged compares deletionTimestamp pointers") {
  // 1.24: RV-only updates of a live pod change nothing; of a terminating pod
  // they do, as two decoded pods never share a *metav1.Time.
  Cluster c(1, "1.24", 20, 30, 5, Duration::hours(10));
  Ignore client;
  c.run_to(Duration::seconds(1));
  Pod deleting = *c.api->pod(0);
  deleting.terminating = true;
  deleting.deletion_timestamp = c.sim.now();
  c.api->write_pod(Verb::update, deleting, &client, 0, "replicaset-controller", PodUpdate::deletion);
  c.run_to(Duration::seconds(5));
  const auto after_deletion = c.controller().syncs_total();
  CHECK(after_deletion >= 1);  // the deletion itself is a change

  // A metadata write of the live pod: same deletionTimestamp (nil), no change.
  c.api->write_pod(Verb::update, *c.api->pod(1), &client, 0, "kubelet", PodUpdate::metadata);
  c.run_to(Duration::seconds(10));
  CHECK(c.controller().syncs_total() == after_deletion);

  // The same write of the terminating pod: a sync (a no-op one).
  c.api->write_pod(Verb::update, *c.api->pod(0), &client, 0, "kubelet", PodUpdate::metadata);
  c.run_to(Duration::seconds(15));
  CHECK(c.controller().syncs_total() == after_deletion + 1);
}

TEST_CASE("a write refused with Retry-After is sent 10 times in all, as client-go's maxRetries allows") {
  // An API server that refuses every mutating request (in-flight limit 0):
  // the resync's PUT at 1h is answered 429 with Retry-After 1s. rest/request.go
  // counts each response and tries again while retries < maxRetries (10):
  // attempts at 1h+0s..1h+9s, then the sync fails and the key comes back
  // after the rate limiter's 5 ms base delay.
  Cluster c(1, "1.17.3", 20, 30, 5, Duration::hours(1), 1, 0, 0);
  c.run_to(Duration::hours(1) + Duration::milliseconds(8500));
  CHECK(c.api->requests_total() == 9);
  CHECK(c.controller().syncs_total() == 1);
  c.run_to(Duration::hours(1) + Duration::milliseconds(9500));
  CHECK(c.api->requests_total() == 11);  // the 10th attempt, then the retried sync's first
  CHECK(c.controller().syncs_total() == 2);
}

namespace {

// What the first resync does under switches A (headlessLabelCompare), B
// (serviceLabelMutation), C (targetRefResourceVersionCompare), by
// docs/model.md §6: with A on and B off, every headless Service PUTs; with C
// on, so does every Service whose pods changed their RV since its last write.
// A PUT that carries nothing new (same addresses, RVs, label, trigger time)
// is a storage no-op; a churned pod's new RV is something new, whether or not
// the controller compared it.
struct ResyncWrites {
  std::uint64_t puts = 0;
  std::uint64_t noops = 0;
};

ResyncWrites expected_resync(bool a, bool b, bool c, bool churn, std::uint32_t headless, std::uint32_t clusterip) {
  const std::uint64_t label_puts = a && !b ? headless : 0;
  if (!churn) return {label_puts, label_puts};
  // Churn at 30 updates per pod per hour for 59 minutes: every pod's RV
  // moved (each pod keeps its old RV with probability e^-29.5).
  return {c ? headless + clusterip : label_puts, 0};
}

ResyncWrites first_resync(const ControllerSwitches& switches, bool churn) {
  Cluster c(Setup{.headless = 20, .clusterip = 10, .switches = switches});
  if (churn) c.deployments->start_status_churn(30.0, Time::zero() + Duration::minutes(59));
  c.run_to(Duration::minutes(90));
  const auto& episodes = c.controller().episodes();
  REQUIRE(episodes.size() == 1);
  CHECK(episodes[0].kind == SyncEpisode::Kind::resync);
  CHECK(episodes[0].enqueued == 30);
  CHECK(episodes[0].finished);
  return {episodes[0].puts, episodes[0].noop_puts};
}

}  // namespace

TEST_CASE("every switch combination PUTs and elides at a resync as its rules say") {
  for (int bits = 0; bits < 16; ++bits) {
    ControllerSwitches s;
    s.headless_label_compare = (bits & 1) != 0;
    s.service_label_mutation = (bits & 2) != 0;
    s.target_ref_resource_version_compare = (bits & 4) != 0;
    s.trigger_time_annotation_rewrite = (bits & 8) != 0;  // nothing triggered these syncs: no effect
    for (const bool churn : {false, true}) {
      CAPTURE(bits);
      CAPTURE(churn);
      const ResyncWrites want = expected_resync(s.headless_label_compare, s.service_label_mutation,
                                                s.target_ref_resource_version_compare, churn, 20, 10);
      const ResyncWrites got = first_resync(s, churn);
      CHECK(got.puts == want.puts);
      CHECK(got.noops == want.noops);
    }
  }
}

TEST_CASE("every version preset behaves as the release table of docs/model.md says") {
  struct Release {
    const char* version;
    bool a, b, c;  // as the table lists them, not as switches_for_version computes them
  };
  const std::vector<Release> releases = {
      {"1.16.15", true, true, true},    {"1.17.0", true, false, true},   {"1.17.3", true, false, true},
      {"1.17.12", true, false, true},   {"1.17.13", false, false, true}, {"1.18.9", true, false, true},
      {"1.18.10", false, false, true},  {"1.19.2", true, false, true},   {"1.19.3", false, false, true},
      {"1.20", false, false, true},     {"1.23.17", false, false, true}, {"1.24", false, false, false},
      {"v1.28.3", false, false, false},
  };
  for (const Release& r : releases) {
    const auto preset = switches_for_version(r.version);
    REQUIRE(preset.has_value());
    for (const bool churn : {false, true}) {
      CAPTURE(r.version);
      CAPTURE(churn);
      const ResyncWrites want = expected_resync(r.a, r.b, r.c, churn, 20, 10);
      const ResyncWrites got = first_resync(*preset, churn);
      CHECK(got.puts == want.puts);
      CHECK(got.noops == want.noops);
    }
  }
}

TEST_CASE("triggerTimeAnnotationRewrite off keeps the trigger time that a resync PUT would delete") {
  // 1.17.3 (A on): the resync PUTs the one headless Service. Nothing
  // triggered that sync, so under E the PUT deletes
  // endpoints.kubernetes.io/last-change-trigger-time (PR #74294); without E
  // it keeps what the rollout's syncs wrote: the Ready transition of a new
  // pod, at least 10 s (readinessDelay) after the rollout began.
  for (const bool rewrite : {true, false}) {
    CAPTURE(rewrite);
    ControllerSwitches s = *switches_for_version("1.17.3");
    s.trigger_time_annotation_rewrite = rewrite;
    Cluster c(Setup{.headless = 1, .switches = s});
    const Time rollout_at = Time::zero() + Duration::seconds(10);
    c.deployments->schedule_rollout(0, rollout_at);
    c.run_to(Duration::minutes(59));
    REQUIRE(c.deployments->rollouts().size() == 1);
    const Time finished = c.deployments->rollouts()[0].finished;
    REQUIRE(finished < Time::zero() + Duration::minutes(5));
    c.run_to(Duration::minutes(61));
    REQUIRE(c.controller().episodes().size() == 1);
    CHECK(c.controller().episodes()[0].puts == 1);
    const Endpoints* e = c.api->endpoints(0);
    REQUIRE(e != nullptr);
    if (rewrite) {
      CHECK_FALSE(e->has_trigger_time);
    } else {
      REQUIRE(e->has_trigger_time);
      CHECK(e->trigger_time >= rollout_at + Duration::seconds(10));
      CHECK(e->trigger_time <= finished);
    }
  }
}

TEST_CASE("Endpoints deleted behind the controller's back are created again at the next resync") {
  // The controller has no Endpoints handler (1.17): nothing brings the object
  // back until the resync syncs its Service, which then finds no Endpoints
  // and POSTs one with both ready pods. 1.17.13: no other Service writes.
  Cluster c(3, "1.17.13", 20, 30, 5);
  Ignore client;
  c.run_to(Duration::seconds(1));
  const Endpoints before = *c.api->endpoints(1);
  c.api->write_endpoints(Verb::remove, before, 0, &client, 0, "kubectl");
  c.run_to(Duration::minutes(59));
  CHECK(c.api->endpoints(1) == nullptr);
  CHECK(c.controller().endpoint_writes_total() == 0);
  c.run_to(Duration::minutes(61));
  const Endpoints* after = c.api->endpoints(1);
  REQUIRE(after != nullptr);
  CHECK(after->subsets == before.subsets);
  CHECK(after->resource_version > before.resource_version);
  REQUIRE(c.controller().episodes().size() == 1);
  CHECK(c.controller().episodes()[0].puts == 1);
  CHECK(c.controller().endpoint_writes_total() == 1);
}

TEST_CASE("the trigger-time tracker: a Service a process has not seen gets its creation time, a seen one nothing") {
  // TriggerTimeTracker.ComputeEndpointLastChangeTriggerTime
  // (pkg/controller/util/endpoint/trigger_time_tracker.go): a Service new to
  // the tracker takes its creation time; a known one the earliest pod change
  // since the last call, none here (no pod moves). 1.17.3 PUTs the headless
  // Service at every sync, so each sync's annotation reaches the store.
  ControllerSwitches s = *switches_for_version("1.17.3");
  s.trigger_time_annotation_rewrite = true;
  Cluster c(Setup{.headless = 1, .switches = s});
  // A rollout first, so the pods' Ready transitions come after the
  // Service's creation and the two answers differ.
  const Time rollout_at = Time::zero() + Duration::seconds(10);
  c.deployments->schedule_rollout(0, rollout_at);
  // A new leader's fresh tracker has seen nothing; its term's first resync
  // comes an hour later.
  const Time leader_change = Time::zero() + Duration::minutes(30);
  c.cm->schedule_leader_change(leader_change);
  c.run_to(Duration::minutes(31));
  const Service* service = c.api->service(0);
  REQUIRE(service != nullptr);
  REQUIRE(c.deployments->rollouts().size() == 1);
  REQUIRE(c.deployments->rollouts()[0].finished < leader_change);
  CHECK(service->creation_time < rollout_at);
  const Endpoints* first = c.api->endpoints(0);
  REQUIRE(first != nullptr);
  REQUIRE(first->has_trigger_time);
  CHECK(first->trigger_time == service->creation_time);
  c.run_to(Duration::minutes(91));
  REQUIRE(c.controller().episodes().size() >= 2);
  CHECK(c.controller().episodes().back().at == leader_change + Duration::hours(1));
  CHECK(c.controller().episodes().back().puts == 1);
  const Endpoints* second = c.api->endpoints(0);
  REQUIRE(second != nullptr);
  CHECK_FALSE(second->has_trigger_time);
}
