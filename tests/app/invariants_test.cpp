// Issue 6, invariants: long random scenarios (several business clusters of
// mixed Kubernetes versions, many deploys, pod status churn, leader changes,
// sync + mirroring + ingress-nginx) run to the end with every invariant
// holding: the models' EPSIM_INVARIANT checks (live in Debug and in
// `make test-asan`) and app/invariants.h's end-to-end checks (any build).
#include <doctest/doctest.h>

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "app/invariants.h"
#include "app/pipeline.h"
#include "app/scenario.h"
#include "run_epsim.h"

using epsim::app::check_invariants;
using epsim::app::InvariantOptions;
using epsim::app::InvariantStats;
using epsim::app::Pipeline;

namespace {

// Draws from Boost.Random, whose algorithms are fixed in its headers: the
// same seed gives the same scenario text on every platform.
class Draw {
 public:
  explicit Draw(std::uint64_t seed) : engine_(seed) {}
  std::int64_t between(std::int64_t lo, std::int64_t hi) {  // inclusive
    return boost::random::uniform_int_distribution<std::int64_t>(lo, hi)(engine_);
  }
  bool chance(int percent) { return between(1, 100) <= percent; }
  template <class T>
  const T& pick(const std::vector<T>& from) {
    return from[static_cast<std::size_t>(between(0, static_cast<std::int64_t>(from.size()) - 1))];
  }

 private:
  boost::random::mt19937_64 engine_;
};

std::string secs(std::int64_t s) { return std::to_string(s) + "s"; }

struct Generated {
  std::string yaml;
  int business_clusters = 0;
  int services = 0;
  int deploys = 0;
};

// A random scenario of 3–4 business clusters: at least one 1.17.3 (resync
// storms) and one with the fixes; its own client bucket, workers and resync
// phase each; absolute, after-resync and background deploys; pod status
// churn; leader changes; all feeding one access cluster, sync, ingress-nginx.
Generated random_scenario(std::uint64_t seed, std::int64_t duration_h) {
  Draw d(seed);
  Generated g;
  const std::int64_t duration = duration_h * 3600;
  g.business_clusters = static_cast<int>(d.between(3, 4));
  const std::vector<std::string> fixed_versions = {"1.17.13", "1.20", "1.22", "1.24"};
  std::string y = fmt::format(
      "name: random-{}\nseed: {}\nduration: {}h\ninclude: [common/apiserver-calibrated.yaml]\n"
      "traffic: {{mode: fluid, deadIP: {}}}\nclusters:\n",
      seed, seed, duration_h, d.pick(std::vector<std::string>{"blackhole", "blackhole", "refused"}));
  std::vector<std::string> names;
  for (int ci = 0; ci < g.business_clusters; ++ci) {
    const std::string name = fmt::format("idc-{}", ci);
    names.push_back(name);
    const std::string version = ci == 0 ? "1.17.3" : ci == 1 ? d.pick(fixed_versions)
                                                             : (d.chance(50) ? "1.17.3" : d.pick(fixed_versions));
    const std::int64_t qps = d.pick(std::vector<std::int64_t>{2, 5, 10, 20});
    y += fmt::format("  - name: {}\n    kubernetesVersion: \"{}\"\n    controllerManager:\n", name, version);
    y += fmt::format("      concurrentEndpointSyncs: {}\n      kubeAPIQPS: {}\n      kubeAPIBurst: {}\n",
                     d.between(1, 10), qps, qps + d.between(0, 2 * qps));
    // Several resyncs per run: a pinned period, or min-resync-period × U[1,2).
    if (d.chance(60)) {
      y += fmt::format("      resyncPeriod: {}\n", secs(d.between(5 * 3600, 12 * 3600)));
    } else {
      y += fmt::format("      minResyncPeriod: {}\n", secs(d.between(3 * 3600, 7 * 3600)));
    }
    y += fmt::format("      startedBefore: {}\n", secs(d.between(0, 5 * 3600)));
    if (d.chance(30)) y += fmt::format("      endpointUpdatesBatchPeriod: {}ms\n", d.between(100, 2000));
    if (d.chance(70)) {
      // One or two leader changes, sometimes a second one right after the
      // first (requests of two old terms still in flight).
      std::vector<std::int64_t> at_ms = {d.between(600, duration - 600) * 1000};
      if (d.chance(40)) at_ms.push_back(d.between(600, duration - 600) * 1000);
      if (d.chance(25)) at_ms.push_back(at_ms[0] + d.between(50, 3000));
      y += "      leaderChanges: [";
      for (std::size_t i = 0; i < at_ms.size(); ++i) y += fmt::format("{}{}ms", i ? ", " : "", at_ms[i]);
      y += "]\n";
    }
    // Services: a large headless group, a small group with a ClusterIP, and
    // now and then publishNotReadyAddresses or a selector-less group.
    struct Group {
      std::string prefix;
      int count;
    };
    std::vector<Group> groups;
    y += "    services:\n";
    const int headless = static_cast<int>(d.between(150, 450));
    groups.push_back({"h-", headless});
    y += fmt::format(
        "      - {{count: {}, namePrefix: h-, headless: true, pods: {}, rps: {}, readinessDelay: {}, "
        "terminationGracePeriod: {}, podStatusChurnPerHour: {}}}\n",
        headless, d.between(2, 5), d.between(1, 30), secs(d.between(3, 30)), secs(d.between(5, 60)), d.between(0, 3));
    const int clusterip = static_cast<int>(d.between(20, 80));
    groups.push_back({"c-", clusterip});
    y += fmt::format("      - {{count: {}, namePrefix: c-, pods: {}, rps: {}, maxSurge: {}%, maxUnavailable: {}%}}\n",
                     clusterip, d.between(1, 8), d.between(1, 50), d.between(1, 50), d.between(0, 50));
    g.services += headless + clusterip;
    if (d.chance(50)) {
      const int n = static_cast<int>(d.between(5, 20));
      groups.push_back({"p-", n});
      y += fmt::format("      - {{count: {}, namePrefix: p-, headless: true, publishNotReadyAddresses: true, pods: {}, rps: 5}}\n",
                       n, d.between(2, 4));
      g.services += n;
    }
    if (d.chance(40)) {
      const int n = static_cast<int>(d.between(2, 10));
      groups.push_back({"s-", n});
      y += fmt::format("      - {{count: {}, namePrefix: s-, selector: false, pods: 2, rps: 1}}\n", n);
      g.services += n;
    }
    auto some_service = [&] {
      const Group& grp = groups[static_cast<std::size_t>(d.between(0, static_cast<std::int64_t>(groups.size()) - 1))];
      return fmt::format("default/{}{:05d}", grp.prefix, d.between(1, grp.count));
    };
    y += "    deploys:\n";
    const std::int64_t absolute = d.between(15, 40);
    for (std::int64_t i = 0; i < absolute; ++i) {
      y += fmt::format("      - {{service: {}, at: {}}}\n", some_service(), secs(d.between(60, duration - 60)));
    }
    const std::int64_t after = d.between(3, 8);
    for (std::int64_t i = 0; i < after; ++i) {
      y += fmt::format("      - {{service: {}, at: {{after: resync, nth: {}, offset: {}}}}}\n", some_service(),
                       d.between(1, 3), secs(d.between(0, 900)));
    }
    y += fmt::format("      - {{ratePerHour: {}}}\n", d.between(5, 40));
    g.deploys += static_cast<int>(absolute + after);
  }
  y += "  - name: access\n    role: access\n    kubernetesVersion: \"1.22\"\n";
  y += fmt::format("    controllerManager: {{mirroringConcurrentServiceEndpointSyncs: {}, kubeAPIQPS: {}, kubeAPIBurst: {}}}\n",
                   d.between(2, 10), d.pick(std::vector<std::int64_t>{20, 50, 100}), d.between(100, 200));
  // Now and then one business cluster is not synced: it runs, but feeds no ingress.
  const std::size_t synced = names.size() - (d.chance(30) ? 1 : 0);
  y += "sync: {from: [";
  for (std::size_t i = 0; i < synced; ++i) {
    if (i != 0) y += ", ";
    y += names[i];
  }
  y += fmt::format("], to: access, workers: {}, kubeAPIQPS: {}, kubeAPIBurst: {}, compareBeforeWrite: {}",
                   d.between(2, 20), d.pick(std::vector<std::int64_t>{20, 50, 100}), d.between(100, 200),
                   d.chance(75) ? "true" : "false");
  if (d.chance(50)) y += fmt::format(", resyncPeriod: {}", secs(d.between(3600, 6 * 3600)));
  y += "}\n";
  y += fmt::format("ingress: {{cluster: access, version: {}, workerProcesses: {}}}\n",
                   d.pick(std::vector<std::string>{"1.3.1", "1.9.4", "1.9.4", "0.17.1"}), d.between(1, 4));
  g.yaml = y;
  return g;
}

struct Run {
  std::vector<std::string> violations;
  InvariantStats stats;
  std::size_t windows = 0;
  std::size_t storms = 0;       // resync episodes of 100+ PUTs
  std::size_t rollouts = 0;
  std::size_t leader_changes = 0;
  std::uint64_t events = 0;
};

Run run_and_check(const std::string& yaml, const InvariantOptions& options = {}) {
  const auto scenario = epsim::app::load_scenario_text(yaml, "<random>");
  Pipeline p(scenario);
  p.run();
  Run r;
  r.violations = check_invariants(p, options, &r.stats);
  r.windows = p.data_plane()->traffic->windows().size();
  for (const auto& c : p.clusters()) {
    for (const auto& e : c->controller_manager->endpoints_controller().episodes()) {
      if (e.kind == epsim::models::SyncEpisode::Kind::resync && e.puts >= 100) ++r.storms;
      if (e.kind == epsim::models::SyncEpisode::Kind::startup) ++r.leader_changes;
    }
    r.rollouts += c->deployments->rollouts().size();
  }
  r.events = p.simulator().events_processed();
  return r;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

void check_random_scenario(std::uint64_t seed) {
  const Generated g = random_scenario(seed, 40);
  CAPTURE(seed);
  INFO("scenario:\n" << g.yaml);
  // Budget for (b): far above what a run of this size takes (a few hundred
  // events per service-hour), far below a runaway.
  InvariantOptions options;
  options.max_events = static_cast<std::uint64_t>(g.services) * 40 * 2000;
  const Run r = run_and_check(g.yaml, options);
  CHECK_MESSAGE(r.violations.empty(), joined(r.violations));
  MESSAGE(fmt::format("seed {}: {} services, {} events, {} rollouts, {} storms, {} leader changes, {} windows; pod "
                      "changes {} (reached {}, superseded {}, in flight {}), {} backends converged, {} counters",
                      seed, g.services, r.events, r.rollouts, r.storms, r.leader_changes, r.windows, r.stats.pod_changes,
                      r.stats.reached, r.stats.superseded, r.stats.in_flight, r.stats.backends_converged,
                      r.stats.counters_compared));
  // The run exercised what the invariants are about.
  CHECK(g.services >= 500);
  CHECK(r.rollouts >= 300);
  CHECK(r.storms > 0);
  CHECK(r.leader_changes > 0);
  CHECK(r.windows > 0);
  CHECK(r.stats.reached >= 1000);
  CHECK(r.stats.reached > 10 * (r.stats.superseded + r.stats.in_flight));
  CHECK(r.stats.backends_converged >= static_cast<std::uint64_t>(g.services) / 2);
  CHECK(r.stats.counters_compared >= 20);
}

// A scenario whose last pod changes cannot reach nginx before the end:
// ingress-nginx may sync once per 5,000 s, and the one token goes to the
// deploy's first change.
const char* const kStuckIngress = R"(name: stuck-ingress
seed: 3
duration: 2h
clusters:
  - name: idc
    kubernetesVersion: "1.22"
    services:
      - {count: 20, namePrefix: web-, headless: true, pods: 3, rps: 10}
    deploys:
      - {service: default/web-00007, at: 1h}
  - name: access
    role: access
traffic: {mode: fluid, deadIP: blackhole}
sync: {from: [idc], to: access}
ingress: {cluster: access, version: 1.3.1, syncRateLimit: 0.0002}
)";

}  // namespace

TEST_CASE("a long random multi-cluster scenario keeps every invariant (seed 11)") { check_random_scenario(11); }
TEST_CASE("a long random multi-cluster scenario keeps every invariant (seed 29)") { check_random_scenario(29); }
TEST_CASE("a long random multi-cluster scenario keeps every invariant (seed 73)") { check_random_scenario(73); }

TEST_CASE("the random scenarios are a pure function of their seed") {
  CHECK(random_scenario(11, 40).yaml == random_scenario(11, 40).yaml);
  CHECK(random_scenario(11, 40).yaml != random_scenario(29, 40).yaml);
}

TEST_CASE("the invariant checker flags a pod change that never reaches nginx") {
  InvariantOptions options;
  options.in_flight = epsim::sim::Duration::minutes(1);
  const Run r = run_and_check(kStuckIngress, options);
  INFO(joined(r.violations));
  REQUIRE_FALSE(r.violations.empty());
  bool lost = false, not_converged = false;
  for (const auto& v : r.violations) {
    if (v.rfind("pod change lost: idc default/web-00007", 0) == 0 &&
        v.find("no ingress-nginx configuration read it") != std::string::npos) {
      lost = true;
    }
    if (v.rfind("not converged: idc default/web-00007: ingress-nginx's configuration", 0) == 0) not_converged = true;
  }
  CHECK(lost);
  CHECK(not_converged);
  // With the default bound (10 min) the same run is still a violation: the
  // changes are an hour old.
  CHECK_FALSE(run_and_check(kStuckIngress).violations.empty());
}

TEST_CASE("the invariant checker flags a run above its event budget and passes a quiet run") {
  const std::string quiet = std::string(kStuckIngress).replace(std::string(kStuckIngress).find("syncRateLimit: 0.0002"),
                                                                std::string("syncRateLimit: 0.0002").size(),
                                                                "syncRateLimit: 0.3");
  InvariantOptions options;
  const Run ok = run_and_check(quiet, options);
  CHECK_MESSAGE(ok.violations.empty(), joined(ok.violations));
  CHECK(ok.stats.reached > 0);
  options.max_events = 10;
  const Run over = run_and_check(quiet, options);
  REQUIRE(over.violations.size() == 1);
  CHECK(over.violations[0].rfind("event bound: ", 0) == 0);
}

TEST_CASE("pod writes refused with 429 are sent again and every rollout completes") {
  // Two mutating requests in flight at most: the endpoints controller's PUTs
  // and the rollouts' pod writes crowd each other out of the API server.
  const char* const kOverloaded = R"(name: overloaded
seed: 5
duration: 3h
clusters:
  - name: idc
    kubernetesVersion: "1.22"
    apiServer: {maxMutatingRequestsInflight: 2, mutatingThroughput: 30}
    controllerManager: {kubeAPIQPS: 100, kubeAPIBurst: 100}
    services:
      - {count: 200, namePrefix: web-, pods: 3, rps: 5}
    deploys:
      - {ratePerHour: 3000}
  - name: access
    role: access
traffic: {mode: fluid, deadIP: blackhole}
sync: {from: [idc], to: access}
ingress: {cluster: access, version: 1.3.1}
)";
  const auto scenario = epsim::app::load_scenario_text(kOverloaded, "overloaded.yaml");
  Pipeline p(scenario);
  p.run();
  double refused_pod_writes = 0;
  for (const auto& [labels, counter] : p.metrics().families().at("apiserver_request_total").counters) {
    bool pods = false, refused = false;
    for (const auto& [k, v] : labels.pairs()) {
      pods = pods || (k == "resource" && v == "pods");
      refused = refused || (k == "code" && v == "429");
    }
    if (pods && refused) refused_pod_writes += counter->value();
  }
  CHECK(refused_pod_writes > 100);
  const auto& rollouts = p.clusters().front()->deployments->rollouts();
  REQUIRE(rollouts.size() > 1000);
  const epsim::sim::Time last_start = epsim::sim::Time::zero() + epsim::sim::Duration::hours(2);
  std::size_t unfinished = 0;
  for (const auto& r : rollouts) unfinished += r.started < last_start && r.finished == epsim::sim::Time::max() ? 1 : 0;
  CHECK(unfinished == 0);
  const auto violations = check_invariants(p);
  CHECK_MESSAGE(violations.empty(), joined(violations));
}

TEST_CASE("the legacy reload scenario keeps every invariant, with its reloads checked against the metric") {
  // ingress-nginx 0.17.1 reloads on every change: the checker compares its
  // reload count with nginx_ingress_controller_success, a comparison that
  // dynamic configuration (1.3.1, the same scenario otherwise) does not make.
  struct Checked {
    std::vector<std::string> violations;
    InvariantStats stats;
    std::uint64_t reloads = 0;
  };
  const std::string path = epsim::test::source_path("scenarios/legacy-reload.yaml");
  auto run = [&](const std::vector<std::string>& sets) {
    const epsim::app::Scenario scenario = epsim::app::load_scenario(path, sets);
    Pipeline p(scenario);
    p.run();
    Checked c;
    c.violations = check_invariants(p, {}, &c.stats);
    c.reloads = p.data_plane()->ingress->reloads();
    return c;
  };
  const Checked legacy = run({"duration=2h"});
  CHECK_MESSAGE(legacy.violations.empty(), joined(legacy.violations));
  CHECK(legacy.reloads > 10);
  CHECK(legacy.stats.reached > 0);
  const Checked dynamic = run({"duration=2h", "ingress.version=1.3.1"});
  CHECK_MESSAGE(dynamic.violations.empty(), joined(dynamic.violations));
  CHECK(dynamic.reloads == 0);
  CHECK(legacy.stats.counters_compared == dynamic.stats.counters_compared + 1);
}
