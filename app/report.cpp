#include "app/report.h"

#include <fmt/format.h>

#include <cmath>

#include "app/sha256.h"
#include "app/version.h"
#include "models/controller_switches.h"

namespace epsim::app {

namespace {

// Seconds with millisecond resolution: stable text for the digest.
double seconds(sim::Duration d) { return std::round(d.seconds_f() * 1000.0) / 1000.0; }
double seconds(sim::Time t) { return seconds(t.since_start()); }

nlohmann::ordered_json episode_json(const models::SyncEpisode& e, sim::Time end_of_run) {
  nlohmann::ordered_json j;
  j["at_s"] = seconds(e.at);
  j["enqueued"] = e.enqueued;
  j["puts"] = e.puts;
  j["noop_puts"] = e.noop_puts;
  if (e.finished) {
    j["duration_s"] = seconds(e.ended - e.at);
  } else {
    j["duration_s"] = seconds(end_of_run - e.at);
    j["unfinished"] = true;  // the run ended before the queue drained
  }
  j["max_queue_depth"] = e.max_queue_depth;
  return j;
}

nlohmann::ordered_json switches_json(const models::ControllerSwitches& s) {
  nlohmann::ordered_json j;
  for (const auto& info : models::controller_switch_table()) j[info.name] = s.*(info.field);
  return j;
}

}  // namespace

nlohmann::ordered_json build_report(const Pipeline& p) {
  const Scenario& s = p.scenario();
  const sim::Time end = sim::Time::zero() + s.duration;
  nlohmann::ordered_json r;
  r["epsim_version"] = kVersion;
  r["scenario"] = {{"name", s.name}, {"sha256", s.text_digest}};
  r["seed"] = s.seed;
  r["virtual_duration_s"] = seconds(s.duration);
  r["events_processed"] = p.simulator().events_processed();
  r["switches"] = switches_json(p.clusters().front()->switches);
  nlohmann::ordered_json clusters = nlohmann::ordered_json::array();
  for (const auto& c : p.clusters()) {
    const auto& controller = c->controller_manager->endpoints_controller();
    nlohmann::ordered_json cj;
    cj["name"] = c->spec->name;
    cj["role"] = c->spec->role;
    cj["kubernetes_version"] = c->spec->kubernetes_version;
    cj["switches"] = switches_json(c->switches);
    cj["services"] = c->service_names.size();
    cj["concurrent_endpoint_syncs"] = controller.config().concurrent_endpoint_syncs;
    cj["kube_api_qps"] = controller.config().kube_api_qps;
    cj["kube_api_burst"] = controller.config().kube_api_burst;
    cj["resync_period_s"] = seconds(c->controller_manager->resync_period());
    cj["endpoint_puts_total"] = controller.endpoint_writes_total();
    cj["endpoint_syncs_total"] = controller.syncs_total();
    cj["apiserver_writes_applied"] = c->api->writes_applied();
    cj["apiserver_noop_updates"] = c->api->noop_updates();
    nlohmann::ordered_json resyncs = nlohmann::ordered_json::array();
    nlohmann::ordered_json startups = nlohmann::ordered_json::array();
    for (const auto& e : controller.episodes()) {
      (e.kind == models::SyncEpisode::Kind::resync ? resyncs : startups).push_back(episode_json(e, end));
    }
    cj["resyncs"] = resyncs;
    cj["startups"] = startups;
    std::uint64_t rollouts = c->deployments->rollouts().size();
    cj["rollouts"] = rollouts;
    clusters.push_back(cj);
  }
  r["clusters"] = clusters;
  r["windows"] = nlohmann::ordered_json::array();
  nlohmann::ordered_json summary;
  std::uint64_t resync_count = 0;
  double worst = 0;
  for (const auto& c : clusters) {
    for (const auto& e : c["resyncs"]) {
      ++resync_count;
      worst = std::max(worst, e["duration_s"].get<double>());
    }
  }
  summary["resyncs"] = resync_count;
  summary["max_resync_duration_s"] = worst;
  summary["windows"] = 0;
  r["summary"] = summary;
  r["digest"] = sha256_hex(r.dump());
  return r;
}

std::string format_text_report(const nlohmann::ordered_json& r) {
  std::string out;
  out += fmt::format("epsim {} | scenario {} | seed {} | {} of virtual time, {} events\n",
                     r["epsim_version"].get<std::string>(), r["scenario"]["name"].get<std::string>(),
                     r["seed"].get<std::uint64_t>(),
                     sim::format_duration(sim::Duration::from_seconds(r["virtual_duration_s"].get<double>())),
                     r["events_processed"].get<std::uint64_t>());
  for (const auto& c : r["clusters"]) {
    std::string bugs;
    for (const auto& [k, v] : c["switches"].items()) {
      if (v.get<bool>() && k != "triggerTimeAnnotationRewrite") bugs += (bugs.empty() ? "" : ", ") + k;
    }
    out += fmt::format("\ncluster {} ({}, Kubernetes {}): {} services\n", c["name"].get<std::string>(),
                       c["role"].get<std::string>(), c["kubernetes_version"].get<std::string>(),
                       c["services"].get<std::uint64_t>());
    out += fmt::format("  endpoints controller: {} workers, qps {}, burst {}; resync period {}\n",
                       c["concurrent_endpoint_syncs"].get<int>(), c["kube_api_qps"].get<double>(),
                       c["kube_api_burst"].get<int>(),
                       sim::format_duration(sim::Duration::from_seconds(c["resync_period_s"].get<double>())));
    out += fmt::format("  bug switches on: {}\n", bugs.empty() ? "none" : bugs);
    auto table = [&](const char* title, const nlohmann::ordered_json& list) {
      if (list.empty()) return;
      out += fmt::format("  {:<10} {:>10} {:>9} {:>8} {:>9} {:>11} {:>10}\n", title, "at", "enqueued", "PUTs",
                         "no-op", "duration", "max depth");
      for (const auto& e : list) {
        out += fmt::format("  {:<10} {:>10} {:>9} {:>8} {:>9} {:>10.1f}s {:>10}\n", "",
                           sim::format_duration(sim::Duration::from_seconds(std::round(e["at_s"].get<double>()))),
                           e["enqueued"].get<std::uint64_t>(), e["puts"].get<std::uint64_t>(),
                           e["noop_puts"].get<std::uint64_t>(), e["duration_s"].get<double>(),
                           e["max_queue_depth"].get<std::uint64_t>());
      }
    };
    table("resyncs", c["resyncs"]);
    table("startups", c["startups"]);
    out += fmt::format("  Endpoints writes: {} ({} changed storage, {} no-op at the API server); rollouts: {}\n",
                       c["endpoint_puts_total"].get<std::uint64_t>(), c["apiserver_writes_applied"].get<std::uint64_t>(),
                       c["apiserver_noop_updates"].get<std::uint64_t>(), c["rollouts"].get<std::uint64_t>());
  }
  out += fmt::format("\ndigest {}\n", r["digest"].get<std::string>());
  return out;
}

}  // namespace epsim::app
