// ingress-nginx and the traffic through it (models/ingress_nginx.h,
// models/traffic.h): its registration, and the consumer its windows, chains
// and programmings come from (app/consumer.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "app/consumer.h"
#include "app/report.h"
#include "app/stages/registrations.h"

namespace epsim::app {

namespace {

using Kind = sim::TimeSeriesSampler::Kind;

class IngressNginxConsumer final : public Consumer {
 public:
  explicit IngressNginxConsumer(const DataPlane& plane) : plane_(plane) {}

  std::vector<ConsumerWindow> windows(const Pipeline& p) const override {
    std::vector<ConsumerWindow> out;
    const auto& windows = plane_.traffic->windows();
    for (std::size_t i = 0; i < windows.size(); ++i) {
      const models::TrafficWindow& w = windows[i];
      const Backend& b = plane_.backends[w.backend];
      out.push_back({p.clusters()[b.cluster].get(), b.service, w.start, w.end, w.requests, w.requests_502,
                     w.requests_503, w.requests_504, w.requests_502 + w.requests_503 + w.requests_504,
                     w.peak_fail_fraction, i});
    }
    return out;
  }

  std::optional<WindowExplanation> explain(const Pipeline& p, const ConsumerWindow& window) const override {
    // The pods by Service, indexed once the run is over (the first call).
    if (causes_ == nullptr) causes_ = std::make_unique<WindowCauses>(p);
    const std::optional<WindowCause> cause = causes_->of(plane_.traffic->windows().at(window.index));
    if (!cause) return std::nullopt;
    const PropagationChain& ch = cause->chain;
    const std::string failing = "requests";
    WindowExplanation e;
    e.pod = cause->pod;
    e.steps = writer_steps(cause->pod, window.start, failing, "endpoints controller", "Endpoints", ch.change,
                           ch.controller_started, ch.controller_sent, ch.controller_stored);
    e.steps.push_back({ch.sync_stored, "sync_stored",
                       fmt::format("sync component writes the access copy (+{})",
                                   wait_text(ch.controller_stored, ch.sync_stored))});
    sim::Time upstream = ch.sync_stored;
    if (ch.mirroring_stored) {
      e.steps.push_back({*ch.mirroring_stored, "mirroring_stored",
                         fmt::format("EndpointSlice mirroring writes the slice (+{})",
                                     wait_text(ch.sync_stored, *ch.mirroring_stored))});
      upstream = *ch.mirroring_stored;
    }
    e.steps.push_back({ch.ingress_applied, "ingress_applied",
                       fmt::format("ingress-nginx applies the new backends (+{})",
                                   wait_text(upstream, ch.ingress_applied))});
    e.steps.push_back({ch.all_workers, "last_worker",
                       fmt::format("last nginx worker routes without it (+{})",
                                   wait_text(ch.ingress_applied, ch.all_workers))});
    close_chain(e.steps, window.end, failing);
    e.stages = breakdown(ch, window.start, window.end);
    return e;
  }

  // When the last nginx worker routed by each change (one programming each).
  std::vector<Programming> programmings(const Pipeline& p, const ClusterRuntime& cluster) const override {
    return ingress_programmings(p, cluster);
  }

  std::vector<double> totals() const override {
    const models::BackendTotals t = plane_.traffic->grand_totals();
    return {t.requests, t.requests_502, t.requests_503, t.requests_504};
  }

 private:
  const DataPlane& plane_;
  mutable std::unique_ptr<WindowCauses> causes_;
};

std::optional<StagePlacement> place_ingress_nginx(const Scenario& s, const ClusterSpec*) {
  const auto traits = ingress_version_traits(s.ingress.version);
  const std::string& access = s.sync.to;
  const std::string feed = access + (traits && traits->read_endpoint_slices ? "/EndpointSlices" : "/Endpoints");
  return StagePlacement{"ingress-nginx", access, {feed}, {"nginx-workers"}, "ingress-nginx/" + access};
}

StageHooks build_ingress_nginx(StageContext& context) {
  DataPlane& dp = *context.data_plane;
  const auto traits = *ingress_version_traits(context.scenario.ingress.version);
  models::IngressNginxConfig ic = context.scenario.ingress.config;
  ic.read_endpoint_slices = traits.read_endpoint_slices;
  ic.dynamic_configuration = traits.dynamic_configuration;
  dp.traffic = std::make_unique<models::Traffic>(context.simulator, context.scenario.seed, context.scenario.traffic,
                                                 ic.worker_processes);
  dp.traffic->reserve_backends(dp.backends.size());
  for (const Backend& b : dp.backends) dp.traffic->add_backend(b.requests_per_second);
  dp.ingress = std::make_unique<models::IngressNginx>(context.simulator, context.metrics, *dp.api, *dp.traffic,
                                                      context.scenario.seed, ic, dp.backends.size());
  dp.ingress->start_steady();
  models::Traffic* traffic = dp.traffic.get();
  for (const auto& name : context.scenario.sync.from) {
    for (const auto& c : context.clusters) {
      if (c->spec->name != name) continue;
      c->ingress_traffic = traffic;
      c->on_ip_dead.emplace_back([traffic](models::PodIp ip) { traffic->set_ip_dead(ip); });
    }
  }
  traffic->start(sim::Time::zero() + context.scenario.duration);
  const DataPlane* plane = &dp;
  StageHooks hooks;
  // Its syncs and the traffic (expected counts per second: the failure
  // probabilities integrated over the second).
  hooks.add_series = [plane](sim::TimeSeriesSampler& sampler) {
    const models::IngressNginx* ingress = plane->ingress.get();
    sampler.add_series("ingress/syncs", Kind::delta,
                       [ingress] { return static_cast<double>(ingress->syncs().size()); });
    const models::Traffic* t = plane->traffic.get();
    sampler.add_series("ingress/requests", Kind::delta, [t] { return t->expected_requests(); });
    sampler.add_series("ingress/requests_5xx", Kind::delta, [t] { return t->expected_failures(); });
    sampler.add_series("ingress/requests_504", Kind::delta, [t] { return t->expected_504s(); });
  };
  hooks.record_writes = [plane](sim::SpanRecorder& spans, sim::Time end) {
    const std::uint32_t track = spans.track("ingress-nginx syncs");
    const std::uint32_t sync = spans.name("ingress-nginx sync");
    for (const auto& s : plane->ingress->syncs()) spans.record(track, sync, s.read_at, std::min(s.applied_at, end));
  };
  hooks.finish = [traffic] { traffic->finish(); };
  hooks.consumer = std::make_shared<IngressNginxConsumer>(dp);
  return hooks;
}

}  // namespace

StageRegistration ingress_nginx_registration() {
  StageRegistration r{"ingress-nginx", StageKind::consumer, StageScope::access_cluster, place_ingress_nginx,
                      build_ingress_nginx, {}};
  ConsumerTexts& t = r.consumer_texts;
  t.rank = 0;
  t.window = "504";
  t.failing = "requests";
  t.instance = "nginx worker";
  t.counts = [](const ConsumerWindow& w) {
    return fmt::format("{} requests got 504, {} got 502", std::llround(w.requests_504), std::llround(w.requests_502));
  };
  // "failure windows" alone; named by consumer next to another's.
  t.table_title = "ingress-nginx windows";
  t.table_title_alone = "failure windows";
  t.count_columns = {{"504", "requests_504"}, {"502", "requests_502"}};
  t.totals = {"requests_total", "requests_502", "requests_503", "requests_504"};
  t.totals_before_windows = true;
  t.summary_text = [](const nlohmann::ordered_json& sm) -> std::string {
    if (!sm.contains("requests_total") || sm["requests_total"].get<std::int64_t>() <= 0) return "";
    return fmt::format("\ntraffic: {} requests; {} got 504, {} got 502, {} got 503\n",
                       grouped_number(sm["requests_total"].get<std::int64_t>()),
                       grouped_number(sm["requests_504"].get<std::int64_t>()),
                       grouped_number(sm["requests_502"].get<std::int64_t>()),
                       grouped_number(sm["requests_503"].get<std::int64_t>())) +
           fmt::format("pod changes reach every nginx worker in p50 {:.1f}s, p99 {:.1f}s\n",
                       sm["propagation_p50_s"].get<double>(), sm["propagation_p99_s"].get<double>());
  };
  t.propagation_summary = true;
  return r;
}

}  // namespace epsim::app
