#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/consumer.h"
#include "app/explain.h"
#include "app/input_error.h"
#include "app/invariants.h"
#include "app/pipeline.h"
#include "app/report.h"
#include "app/scenario.h"
#include "app/stage.h"
#include "app/topology.h"

using epsim::app::BuiltStage;
using epsim::app::Pipeline;
using epsim::app::StageContext;
using epsim::app::StageHooks;
using epsim::app::StageKind;
using epsim::app::StagePlacement;
using epsim::app::StageRegistration;
using epsim::app::StageRegistry;

namespace {

// Two business clusters (the second with in-cluster clients through
// kube-proxy) synced into an access cluster, ingress-nginx 1.3.1 (reads
// Endpoints: no mirroring). Small enough to run in a moment.
const char* kScenario = R"(name: stage-list
seed: 1
duration: 2m
clusters:
  - name: east
    kubernetesVersion: "1.17.3"
    services:
      - {count: 3, namePrefix: web-, pods: 2, rps: 5}
    deploys:
      - {service: default/web-00001, at: 30s}
  - name: west
    kubernetesVersion: "1.17.3"
    services:
      - {count: 2, namePrefix: api-, pods: 2, rps: 5, inClusterRps: 10}
  - name: access
    role: access
sync: {from: [east, west], to: access}
ingress: {cluster: access, version: 1.3.1}
)";

epsim::app::Scenario load(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("epsim_stages_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << text;
  auto scenario = epsim::app::load_scenario(path.string());
  std::filesystem::remove(path);
  return scenario;
}

// What the toy stage saw when the pipeline built it, and what ran after.
struct ToyLog {
  std::vector<std::string> built;  // cluster names, in build order
  bool controller_existed = true;  // its upstream (the endpoints controller) was built first
  int finished = 0;
};

// A fake consumer of each business cluster's Endpoints: the one
// registration a new component supplies.
StageRegistration toy_consumer(ToyLog* log) {
  StageRegistration r;
  r.name = "toy-consumer";
  r.kind = StageKind::consumer;
  r.place = [](const epsim::app::Scenario&, const epsim::app::ClusterSpec* c) -> std::optional<StagePlacement> {
    return StagePlacement{c->name + "/toy-consumer", c->name, {c->name + "/Endpoints"}, {c->name + "/ToyRules"},
                          "toy/" + c->name};
  };
  r.build = [log](StageContext& context) {
    log->built.push_back(context.cluster->spec->name);
    log->controller_existed = log->controller_existed && context.cluster->controller_manager != nullptr;
    const std::string cluster = context.cluster->spec->name;
    StageHooks hooks;
    hooks.add_series = [cluster](epsim::sim::TimeSeriesSampler& sampler) {
      sampler.add_series(cluster + "/toy_level", epsim::sim::TimeSeriesSampler::Kind::level, [] { return 7.0; });
    };
    hooks.record_activity = [cluster](epsim::sim::SpanRecorder& spans, epsim::sim::Time end) {
      spans.record(spans.track(cluster + " toy"), spans.name("toy span"), epsim::sim::Time::zero(), end);
    };
    hooks.finish = [log] { ++log->finished; };
    return hooks;
  };
  return r;
}

// A toy consumer's window in each business cluster: from the deploy's
// instant until one second after its upstream writer first stored the
// deployed Service (service 0) after it; `kToyFailed` connections failed.
constexpr double kToyFailed = 7;
const epsim::sim::Duration kToyDelay = epsim::sim::Duration::seconds(1);
const epsim::sim::Time kDeployAt = epsim::sim::Time::zero() + epsim::sim::Duration::seconds(30);

// The first write of service 0 stored after the deploy, in `log`.
const epsim::models::StageWrite* first_write_after_deploy(const epsim::models::StageLog& log) {
  for (const auto& w : log.writes_of(0)) {
    if (w.stored > kDeployAt) return &w;
  }
  return nullptr;
}

class ToyConsumer final : public epsim::app::Consumer {
 public:
  ToyConsumer(const epsim::app::ClusterRuntime& cluster, const epsim::models::StageLog* upstream)
      : cluster_(cluster), upstream_(upstream) {}
  std::vector<epsim::app::ConsumerWindow> windows(const Pipeline&) const override {
    const epsim::models::StageWrite* w = first_write_after_deploy(*upstream_);
    if (w == nullptr) return {};
    epsim::app::ConsumerWindow out;
    out.cluster = &cluster_;
    out.service = 0;
    out.start = kDeployAt;
    out.end = w->stored + kToyDelay;
    out.failed = kToyFailed;
    return {out};
  }
  std::optional<epsim::app::WindowExplanation> explain(const Pipeline&,
                                                       const epsim::app::ConsumerWindow& window) const override {
    epsim::app::WindowExplanation e;
    e.pod = cluster_.deployments->pod_records()[0];
    e.steps.push_back({window.end, "toy_applied", "the toy consumer applies the write"});
    epsim::app::close_chain(e.steps, window.end, "toy calls");
    return e;
  }
  std::vector<epsim::app::Programming> programmings(const Pipeline& p,
                                                    const epsim::app::ClusterRuntime& cluster) const override {
    if (&cluster != &cluster_) return {};
    auto w = windows(p);
    if (w.empty()) return {};
    return {{w[0].start, w[0].end}};
  }
  std::vector<double> totals() const override { return {kToyFailed}; }

 private:
  const epsim::app::ClusterRuntime& cluster_;
  const epsim::models::StageLog* upstream_;
};

// A consumer with windows: its Consumer, its words for the reports, and the
// writer upstream of it (found by the stage list) as its source.
StageRegistration toy_window_consumer() {
  StageRegistration r;
  r.name = "toy";
  r.kind = StageKind::consumer;
  r.place = [](const epsim::app::Scenario&, const epsim::app::ClusterSpec* c) -> std::optional<StagePlacement> {
    return StagePlacement{c->name + "/toy", c->name, {c->name + "/Endpoints"}, {}, "toy/" + c->name};
  };
  r.build = [](StageContext& context) {
    REQUIRE(context.upstream.size() == 1);
    REQUIRE(context.upstream.front().pool != nullptr);
    StageHooks hooks;
    hooks.consumer = std::make_shared<ToyConsumer>(*context.cluster, &context.upstream.front().pool->writes());
    return hooks;
  };
  r.consumer_texts.rank = 2;
  r.consumer_texts.window = "toy";
  r.consumer_texts.failing = "toy calls";
  r.consumer_texts.instance = "toy";
  r.consumer_texts.counts = [](const epsim::app::ConsumerWindow& w) {
    return std::to_string(static_cast<int>(w.failed)) + " toy calls failed";
  };
  r.consumer_texts.totals = {"toy_failed_total"};
  return r;
}

std::size_t index_of(const std::vector<BuiltStage>& stages, const std::string& vertex) {
  for (std::size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].placement.vertex == vertex) return i;
  }
  return stages.size();
}

}  // namespace

TEST_CASE("the default stage list places every component of a two-cluster scenario") {
  const auto scenario = load(kScenario);
  const auto planned = epsim::app::plan_stages(scenario, epsim::app::default_stage_registry());
  std::vector<std::string> vertices;
  for (const auto& p : planned) vertices.push_back(p.placement.vertex);
  // Per business cluster: deployments, the endpoints controller (1.17: no
  // EndpointSlice controller), kube-proxy only where in-cluster clients are;
  // then the access cluster's sync and ingress-nginx (1.3.1: no mirroring).
  const std::vector<std::string> expected = {"east/deployments+kubelet", "east/endpoints-controller",
                                             "west/deployments+kubelet", "west/endpoints-controller",
                                             "west/kube-proxy",          "endpoint-sync",
                                             "ingress-nginx"};
  CHECK(vertices == expected);
  // Upstream: who writes what each stage watches.
  const auto upstream_of = [&](const std::string& vertex) {
    for (const auto& p : planned) {
      if (p.placement.vertex == vertex) return p.upstream;
    }
    return std::vector<std::string>{};
  };
  CHECK(upstream_of("west/kube-proxy") == std::vector<std::string>{"west/endpoints-controller"});
  CHECK(upstream_of("endpoint-sync") ==
        std::vector<std::string>{"east/endpoints-controller", "west/endpoints-controller"});
  CHECK(upstream_of("ingress-nginx") == std::vector<std::string>{"endpoint-sync"});
  CHECK(upstream_of("east/deployments+kubelet").empty());
}

TEST_CASE("the topology's start order keeps registration order where the edges allow") {
  const auto scenario = load(kScenario);
  const auto order = epsim::app::Topology(scenario).start_order();
  const auto at = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(order.begin(), order.end(), name) - order.begin());
  };
  REQUIRE(at("ingress-nginx") < order.size());
  // Every vertex of east comes before every vertex of west (east's are added
  // first and depend on nothing of west's), and the sync after both.
  for (const char* east : {"east/deployments+kubelet", "east/Pods", "east/endpoints-controller", "east/Endpoints"}) {
    CHECK(at(east) < at("west/deployments+kubelet"));
  }
  CHECK(at("west/Endpoints") < at("endpoint-sync"));
  CHECK(at("endpoint-sync") < at("access/Endpoints"));
  CHECK(at("access/Endpoints") < at("ingress-nginx"));
}

TEST_CASE("a registered toy stage is built in topology order and walked by series, spans, finish and topology") {
  const auto scenario = load(kScenario);
  ToyLog log;
  StageRegistry registry = epsim::app::default_stage_registry();
  // Registered first: the topology, not the table's order, puts it after
  // the endpoints controller whose Endpoints it watches.
  registry.insert(registry.begin(), toy_consumer(&log));
  Pipeline pipeline(scenario, registry);
  pipeline.run();

  CHECK(log.built == std::vector<std::string>{"east", "west"});
  CHECK(log.controller_existed);
  CHECK(log.finished == 2);
  const auto& stages = pipeline.stages();
  for (const std::string& cluster : {std::string("east"), std::string("west")}) {
    const std::size_t toy = index_of(stages, cluster + "/toy-consumer");
    REQUIRE(toy < stages.size());
    CHECK(index_of(stages, cluster + "/endpoints-controller") < toy);
    CHECK(stages[toy].upstream == std::vector<std::string>{cluster + "/endpoints-controller"});
    CHECK(stages[toy].placement.consumer == "toy/" + cluster);
  }
  // The time series has its column (level 7 at every sample).
  const auto& series = pipeline.time_series();
  bool found = false;
  for (std::size_t i = 0; i < series.names().size(); ++i) {
    if (series.names()[i] != "west/toy_level") continue;
    found = true;
    const std::vector<double> column = series.column(i);
    REQUIRE(!column.empty());
    CHECK(std::all_of(column.begin(), column.end(), [](double v) { return v == 7.0; }));
  }
  CHECK(found);
  // The trace has its track among east's activity, after the endpoints
  // controller's (stage order) and before east's writes.
  const auto& tracks = pipeline.spans().track_names();
  const auto track = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(tracks.begin(), tracks.end(), name) - tracks.begin());
  };
  REQUIRE(track("east toy") < tracks.size());
  CHECK(track("east endpoints controller") + 1 == track("east toy"));
  CHECK(track("east toy") < track("east deployments"));

  // The topology built from the same list has its vertex and resource.
  const epsim::app::Topology topology(epsim::app::plan_stages(scenario, registry));
  const std::string dot = topology.to_dot();
  CHECK(dot.find("label=\"west/toy-consumer\"") != std::string::npos);
  CHECK(dot.find("label=\"west/ToyRules\"") != std::string::npos);
  const auto order = topology.start_order();
  const auto at = [&](const std::string& name) { return std::find(order.begin(), order.end(), name) - order.begin(); };
  CHECK(at("west/Endpoints") < at("west/toy-consumer"));
  CHECK(at("west/toy-consumer") < at("west/ToyRules"));
}

TEST_CASE("the invariant checker walks every writer stage's worker pool, the EndpointSlice controller's too") {
  // 1.19: the EndpointSlice controller runs (on by default from 1.18) and
  // kube-proxy reads its EndpointSlices.
  std::string text = kScenario;
  for (std::size_t at = text.find("1.17.3"); at != std::string::npos; at = text.find("1.17.3")) {
    text.replace(at, 6, "1.19.2");
  }
  const auto scenario = load(text);
  Pipeline pipeline(scenario);
  pipeline.run();
  std::vector<std::string> writers;
  std::size_t slice_writes = 0;
  for (const BuiltStage& s : pipeline.stages()) {
    if (s.hooks.pool == nullptr) continue;
    writers.push_back(s.placement.vertex);
    if (s.registration->name == "endpointslice-controller") slice_writes += s.hooks.pool->writes_total();
  }
  const std::vector<std::string> expected = {"east/endpoints-controller", "east/endpointslice-controller",
                                             "west/endpoints-controller", "west/endpointslice-controller",
                                             "endpoint-sync"};
  CHECK(writers == expected);
  // east's deploy at 30 s replaces pods: the slice controller writes.
  CHECK(slice_writes > 0);
  const auto west = std::find_if(pipeline.stages().begin(), pipeline.stages().end(),
                                 [](const BuiltStage& s) { return s.placement.vertex == "west/kube-proxy"; });
  REQUIRE(west != pipeline.stages().end());
  CHECK(west->upstream == std::vector<std::string>{"west/endpointslice-controller"});
  CHECK(epsim::app::check_invariants(pipeline).empty());
}

TEST_CASE("a stage that writes what feeds it makes a cycle the pipeline refuses") {
  const auto scenario = load(kScenario);
  StageRegistry registry = epsim::app::default_stage_registry();
  // Watches Endpoints and writes Pods: Pods -> endpoints controller ->
  // Endpoints -> it -> Pods.
  StageRegistration loop;
  loop.name = "pod-writer";
  loop.kind = StageKind::writer;
  loop.place = [](const epsim::app::Scenario&, const epsim::app::ClusterSpec* c) -> std::optional<StagePlacement> {
    return StagePlacement{c->name + "/pod-writer", c->name, {c->name + "/Endpoints"}, {c->name + "/Pods"}, {}};
  };
  bool built = false;
  loop.build = [&built](StageContext&) {
    built = true;
    return StageHooks{};
  };
  registry.push_back(loop);
  CHECK_THROWS_WITH_AS(Pipeline(scenario, registry), doctest::Contains("cycle"), epsim::app::InputError);
  CHECK_FALSE(built);
}

TEST_CASE("a registered toy consumer's windows reach report.json, explain and the network programming SLI") {
  const auto scenario = load(kScenario);
  StageRegistry registry = epsim::app::default_stage_registry();
  registry.push_back(toy_window_consumer());
  Pipeline pipeline(scenario, registry);
  pipeline.run();
  Pipeline plain(scenario);
  plain.run();
  const auto report = epsim::app::build_report(pipeline);
  const auto plain_report = epsim::app::build_report(plain);

  // The toy's window in east, as its upstream (east's endpoints controller,
  // read here from the stage list) stored the deployed Service.
  const epsim::models::StageLog* east_writes = nullptr;
  for (const BuiltStage& s : pipeline.stages()) {
    if (s.placement.vertex == "east/endpoints-controller") east_writes = &s.hooks.pool->writes();
  }
  REQUIRE(east_writes != nullptr);
  const epsim::models::StageWrite* write = first_write_after_deploy(*east_writes);
  REQUIRE(write != nullptr);
  const double end_s = std::round((write->stored + kToyDelay).since_start().seconds_f() * 1000.0) / 1000.0;
  std::size_t toy_windows = 0;
  for (const auto& w : report["windows"]) {
    if (w["consumer"] != "toy/east" && w["consumer"] != "toy/west") continue;
    ++toy_windows;
    CHECK(w["consumer"] == "toy/east");
    CHECK(w["cluster"] == "east");
    CHECK(w["service"] == "default/web-00001");
    CHECK(w["start_s"].get<double>() == 30.0);
    CHECK(w["end_s"].get<double>() == end_s);
    CHECK(w["failed"].get<double>() == kToyFailed);
  }
  // west's Service 0 saw no write after 30 s (no deploy there).
  CHECK(toy_windows == 1);
  // Every other window is the plain run's; the summary counts the toy's too
  // and adds its total over both instances.
  CHECK(report["windows"].size() == plain_report["windows"].size() + 1);
  CHECK(report["summary"]["windows"] == plain_report["summary"]["windows"].get<std::size_t>() + 1);
  CHECK(report["summary"]["toy_failed_total"] == 2 * kToyFailed);
  // The SLI counts its one programming in east on day 1.
  const auto east_day1 = [](const nlohmann::ordered_json& r) {
    for (const auto& e : r["slis"]["network_programming_latency"]) {
      if (e["cluster"] == "east" && e["day"] == 1) return e["programmings"].get<std::size_t>();
    }
    return std::size_t{0};
  };
  CHECK(east_day1(report) == east_day1(plain_report) + 1);

  // explain follows its chain, in text and JSON.
  epsim::app::ExplainOptions options;
  options.service = "default/web-00001";
  options.cluster = "east";
  const std::string text = epsim::app::explain_windows(pipeline, report, options);
  CHECK(text.find("toy window") != std::string::npos);
  CHECK(text.find("7 toy calls failed") != std::string::npos);
  CHECK(text.find("the toy consumer applies the write") != std::string::npos);
  CHECK(text.find("-- toy calls stop failing: the window closes") != std::string::npos);
  options.format = "json";
  const auto j = nlohmann::json::parse(epsim::app::explain_windows(pipeline, report, options));
  bool explained = false;
  for (const auto& w : j["windows"]) {
    if (w["consumer"] != "toy/east") continue;
    explained = true;
    REQUIRE(w["chain"].size() == 2);
    CHECK(w["chain"][0]["event"] == "toy_applied");
    CHECK(w["chain"][0]["at_s"].get<double>() == end_s);
    CHECK(w["chain"][1]["event"] == "window_closes");
  }
  CHECK(explained);
  // report.html's chains: one per window, the toy's among them.
  const auto chains = epsim::app::window_chains(pipeline);
  CHECK(chains.size() == report["windows"].size());
  CHECK(std::count_if(chains.begin(), chains.end(), [](const std::string& c) { return c.rfind("toy window", 0) == 0; }) ==
        1);
}
