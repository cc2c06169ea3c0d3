#include "app/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "app/canonical_scenario.h"
#include "app/causality.h"
#include "app/consumer.h"
#include "app/limits.h"
#include "app/sha256.h"
#include "app/slis.h"
#include "app/version.h"
#include "models/controller_switches.h"

namespace epsim::app {

namespace {

// Seconds with millisecond resolution: stable text for the digest.
double seconds(sim::Duration d) { return std::round(d.seconds_f() * 1000.0) / 1000.0; }
double seconds(sim::Time t) { return seconds(t.since_start()); }

nlohmann::ordered_json episode_json(const ClusterRuntime& c, const models::SyncEpisode& e, sim::Time end_of_run) {
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
  j["limited_by"] = limited_by_json(limited_by(c, e.at, e.finished ? e.ended : end_of_run));
  // Where the named deploys' Services sat in the queue the resync filled.
  if (e.kind == models::SyncEpisode::Kind::resync) {
    nlohmann::ordered_json queued = nlohmann::ordered_json::array();
    for (const auto& q : c.controller_manager->queue_positions()) {
      if (q.at != e.at) continue;
      for (const auto& [service, position] : q.positions) {
        queued.push_back({{"service", c.service_names[service]}, {"position", position}, {"of", q.queue_length}});
      }
    }
    j["queued"] = queued;
  }
  return j;
}

// A window of one consumer: the Service, when, what failed, the stages the
// removal behind it waited in, and what limited its cluster then.
nlohmann::ordered_json window_json(const ConsumerWindow& w, const std::string& consumer, const StageBreakdown& bd) {
  const ClusterRuntime& c = *w.cluster;
  nlohmann::ordered_json wj;
  wj["service"] = c.service_names[w.service];
  wj["cluster"] = c.spec->name;
  wj["consumer"] = consumer;
  wj["start_s"] = seconds(w.start);
  wj["end_s"] = seconds(w.end);
  wj["duration_s"] = seconds(w.end - w.start);
  wj["requests"] = std::llround(w.requests);
  wj["requests_502"] = std::llround(w.requests_502);
  wj["requests_503"] = std::llround(w.requests_503);
  wj["requests_504"] = std::llround(w.requests_504);
  wj["failed"] = std::llround(w.failed);
  wj["peak_fail_fraction"] = std::round(w.peak_fail_fraction * 1e6) / 1e6;
  auto r3 = [](double x) { return std::round(x * 1000.0) / 1000.0; };
  nlohmann::ordered_json cause;
  for (const WindowStage& stage : window_stages()) cause[stage.key] = r3(bd.of(stage.key));
  wj["cause"] = cause;
  wj["limited_by"] = limited_by_json(limited_by(c, w.start, w.end));
  return wj;
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
  r["scenario"] = {{"name", s.name}, {"sha256", scenario_digest(s)}};
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
    cj["apiserver_mutating_throughput"] = c->api->config().mutating_throughput;
    double churn = 0;  // the cluster's one rate: the largest of its entries (docs/scenario.md)
    for (const auto& g : c->spec->services) churn = std::max(churn, g.pod_status_churn_per_hour);
    cj["pod_status_churn_per_hour"] = churn;
    cj["endpoint_puts_total"] = controller.endpoint_writes_total();
    cj["endpoint_syncs_total"] = controller.syncs_total();
    cj["apiserver_writes_applied"] = c->api->writes_applied();
    cj["apiserver_noop_updates"] = c->api->noop_updates();
    // The controller's Endpoints writes alone (the API server's two counts
    // above include the pods' writes): how each settled, and the retries.
    const models::ClientWriteOutcomes& o = controller.pool().outcomes();
    cj["endpoint_writes"] = {{"total", controller.endpoint_writes_total()}, {"changed", o.changed},
                             {"noop", o.noop},  {"conflicts_409", o.conflicts},
                             {"other_errors", o.other_errors}};
    cj["endpoint_retries"] = {{"requeued", o.requeues},
                              {"dropped", o.dropped},
                              {"max_retries", controller.config().max_retries},
                              {"retry_after_waits", o.retry_after_waits}};
    nlohmann::ordered_json resyncs = nlohmann::ordered_json::array();
    nlohmann::ordered_json startups = nlohmann::ordered_json::array();
    for (const auto& e : controller.episodes()) {
      (e.kind == models::SyncEpisode::Kind::resync ? resyncs : startups).push_back(episode_json(*c, e, end));
    }
    cj["resyncs"] = resyncs;
    cj["startups"] = startups;
    std::uint64_t rollouts = c->deployments->rollouts().size();
    cj["rollouts"] = rollouts;
    clusters.push_back(cj);
  }
  r["clusters"] = clusters;
  nlohmann::ordered_json windows = nlohmann::ordered_json::array();
  std::vector<double> propagation_s;
  double max_window_s = 0;
  const std::vector<const BuiltStage*> consumers = consumers_by_rank(p);
  // Each business cluster's changes through every consumer, computed once:
  // the propagation quantiles below and the network programming SLI.
  std::vector<std::vector<Programming>> programmings(p.clusters().size());
  for (std::size_t i = 0; i < p.clusters().size(); ++i) {
    for (const BuiltStage* s : consumers) {
      const std::vector<Programming> some = s->hooks.consumer->programmings(p, *p.clusters()[i]);
      if (s->registration->consumer_texts.propagation_summary) {
        for (const Programming& x : some) propagation_s.push_back(x.latency_s());
      }
      programmings[i].insert(programmings[i].end(), some.begin(), some.end());
    }
  }
  // Every consumer's windows (app/consumer.h: all_windows has their order).
  for (const StageWindow& sw : all_windows(p)) {
    StageBreakdown bd;
    if (const auto why = sw.stage->hooks.consumer->explain(p, sw.window)) bd = why->stages;
    windows.push_back(window_json(sw.window, sw.stage->placement.consumer, bd));
  }
  for (const auto& w : windows) max_window_s = std::max(max_window_s, w["duration_s"].get<double>());
  r["windows"] = windows;
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
  // Each consumer registration's totals over its instances (0 without one),
  // around the window counts.
  std::vector<const StageRegistration*> registrations;
  for (const StageRegistration& reg : p.registry()) {
    if (reg.kind == StageKind::consumer) registrations.push_back(&reg);
  }
  std::stable_sort(registrations.begin(), registrations.end(), [](const auto* a, const auto* b) {
    return a->consumer_texts.rank < b->consumer_texts.rank;
  });
  const auto add_totals = [&](bool before_windows) {
    for (const StageRegistration* reg : registrations) {
      if (reg->consumer_texts.totals_before_windows != before_windows) continue;
      std::vector<double> sums(reg->consumer_texts.totals.size(), 0.0);
      for (const BuiltStage* s : consumers) {
        if (s->registration != reg) continue;
        const std::vector<double> values = s->hooks.consumer->totals();
        for (std::size_t k = 0; k < sums.size() && k < values.size(); ++k) sums[k] += values[k];
      }
      for (std::size_t k = 0; k < sums.size(); ++k) summary[reg->consumer_texts.totals[k]] = std::llround(sums[k]);
    }
  };
  add_totals(true);
  summary["windows"] = windows.size();
  summary["max_window_s"] = max_window_s;
  add_totals(false);
  std::sort(propagation_s.begin(), propagation_s.end());
  auto quantile = [&](double q) {
    if (propagation_s.empty()) return 0.0;
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(propagation_s.size()))) - 1;
    return std::round(propagation_s[std::min(i, propagation_s.size() - 1)] * 1000.0) / 1000.0;
  };
  summary["propagation_changes"] = propagation_s.size();
  summary["propagation_p50_s"] = quantile(0.50);
  summary["propagation_p99_s"] = quantile(0.99);
  r["summary"] = summary;
  r["slis"] = slis_json(p, programmings);
  r["digest"] = sha256_hex(r.dump());
  return r;
}

namespace {

}  // namespace

std::string grouped_number(std::int64_t v) {
  const std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out = v < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}
namespace {

std::string grouped(std::int64_t v) { return grouped_number(v); }
std::string grouped(const nlohmann::ordered_json& v) { return grouped(v.get<std::int64_t>()); }

// "1st", "2nd", "3rd", "11th", "12,989th".
std::string ordinal(std::uint64_t n) {
  const std::uint64_t tens = n % 100, ones = n % 10;
  const char* suffix = (tens >= 11 && tens <= 13) ? "th" : ones == 1 ? "st" : ones == 2 ? "nd" : ones == 3 ? "rd" : "th";
  return grouped(static_cast<std::int64_t>(n)) + suffix;
}

// A name cut to `width` columns, its last one "~" when cut.
std::string fit(const std::string& name, std::size_t width) {
  return name.size() <= width ? name : name.substr(0, width - 1) + "~";
}

std::string duration_text(double seconds_value) {
  return sim::format_duration(sim::Duration::seconds(std::llround(seconds_value)));
}

// One row of the window table: [cluster,] service, start, length, 504s,
// 502s, and the stage the removal mostly waited in.
struct WindowColumns {
  std::size_t cluster = 0;  // 0: no cluster column
  std::size_t service = 7;
  std::vector<std::size_t> counts;  // one per count column
};

// A consumer's window table: its title and count columns (ConsumerTexts).
struct WindowTable {
  std::string title;
  std::vector<std::pair<std::string, std::string>> count_columns;  // header, report key
};

std::string window_row(const nlohmann::ordered_json& w, const WindowColumns& width, const WindowTable& table) {
  const char* dominant = "-";
  double best = 0;
  for (const WindowStage& stage : window_stages()) {
    const double v = w["cause"][stage.key].get<double>();
    if (v > best) {
      best = v;
      dominant = stage.label;
    }
  }
  std::string out = "  ";
  if (width.cluster > 0) out += fmt::format("{:<{}} ", fit(w["cluster"].get<std::string>(), width.cluster), width.cluster);
  out += fmt::format("{:<{}} {:>9} {:>7.1f}s", fit(w["service"].get<std::string>(), width.service), width.service,
                     duration_text(w["start_s"].get<double>()), w["duration_s"].get<double>());
  for (std::size_t i = 0; i < table.count_columns.size(); ++i) {
    out += fmt::format(" {:>{}}", grouped(w[table.count_columns[i].second]), width.counts[i]);
  }
  out += fmt::format("  {}\n", dominant);
  return out;
}

// The longest `limit` (0: all) of `windows`, longest first, as a table that
// fits 80 columns: columns as wide as what they show; with several business
// clusters (which can each hold a default/web-00001) a cluster column, the
// service cut (its last column "~") only when the names are long.
void window_table(std::string& out, const nlohmann::ordered_json& r, std::vector<const nlohmann::ordered_json*> order,
                  std::size_t limit, const WindowTable& table) {
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return (*a)["duration_s"].template get<double>() > (*b)["duration_s"].template get<double>();
  });
  const std::size_t shown = limit == 0 ? order.size() : std::min(order.size(), limit);
  out += fmt::format("\n{} {}{}:\n", order.size(), table.title,
                     shown < order.size() ? fmt::format(" (the {} longest; epsim explain shows why)", shown)
                                          : std::string(" (epsim explain shows why)"));
  WindowColumns width;
  std::size_t business = 0;
  for (const auto& c : r["clusters"]) {
    if (c["role"] != "business") continue;
    ++business;
    width.cluster = std::max(width.cluster, c["name"].get<std::string>().size());
  }
  width.cluster = business < 2 ? 0 : std::clamp<std::size_t>(width.cluster, 7, 12);
  for (const auto& [header, key] : table.count_columns) {
    std::size_t w = header.size();
    for (std::size_t i = 0; i < shown; ++i) w = std::max(w, grouped((*order[i])[key]).size());
    width.counts.push_back(w);
  }
  for (std::size_t i = 0; i < shown; ++i) {
    width.service = std::max(width.service, (*order[i])["service"].get<std::string>().size());
  }
  // Start, length, the separators and the longest stage name.
  std::size_t rest = 2 + 1 + 9 + 1 + 8 + 2 + 19 + (width.cluster > 0 ? width.cluster + 1 : 0);
  for (const std::size_t w : width.counts) rest += 1 + w;
  width.service = std::min({width.service, std::size_t{22}, rest < 80 - 11 ? 80 - rest : std::size_t{11}});
  out += "  ";
  if (width.cluster > 0) out += fmt::format("{:<{}} ", "cluster", width.cluster);
  out += fmt::format("{:<{}} {:>9} {:>8}", "service", width.service, "start", "length");
  for (std::size_t i = 0; i < table.count_columns.size(); ++i) {
    out += fmt::format(" {:>{}}", table.count_columns[i].first, width.counts[i]);
  }
  out += "  mostly waiting in\n";
  for (std::size_t i = 0; i < shown; ++i) out += window_row(*order[i], width, table);
}

}  // namespace

// Every line fits an 80-column terminal (tests/app/cli_test.cpp).
std::string format_text_report(const nlohmann::ordered_json& r, std::size_t window_limit) {
  std::string out;
  out += fmt::format("epsim {} | scenario {} | seed {}\n", r["epsim_version"].get<std::string>(),
                     r["scenario"]["name"].get<std::string>(), r["seed"].get<std::uint64_t>());
  out += fmt::format("{} of virtual time, {} events\n", duration_text(r["virtual_duration_s"].get<double>()),
                     grouped(r["events_processed"]));
  for (const auto& c : r["clusters"]) {
    std::string bugs;
    for (const auto& [k, v] : c["switches"].items()) {
      if (v.get<bool>() && k != "triggerTimeAnnotationRewrite") bugs += (bugs.empty() ? "" : ", ") + k;
    }
    out += fmt::format("\ncluster {}: {}, Kubernetes {}, {} services\n", c["name"].get<std::string>(),
                       c["role"].get<std::string>(), c["kubernetes_version"].get<std::string>(),
                       grouped(c["services"]));
    out += fmt::format("  endpoints controller: {} workers, qps {}, burst {}, resync every {}\n",
                       c["concurrent_endpoint_syncs"].get<int>(), c["kube_api_qps"].get<double>(),
                       c["kube_api_burst"].get<int>(), duration_text(c["resync_period_s"].get<double>()));
    out += fmt::format("  bug switches on: {}\n", bugs.empty() ? "none" : bugs);
    // One table of the controller's sync episodes: a resync that PUT
    // something is a storm; one that PUT nothing says so.
    auto row_label = [](const nlohmann::ordered_json& e, bool resync) {
      if (!resync) return "startup";
      return e["puts"].get<std::uint64_t>() > 0 ? "resync storm" : "resync (no PUTs)";
    };
    if (!c["resyncs"].empty() || !c["startups"].empty()) {
      out += fmt::format("  {:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "", "at", "enqueued", "PUTs", "no-op",
                         "duration", "max depth");
    }
    auto rows = [&](const nlohmann::ordered_json& list, bool resync) {
      for (const auto& e : list) {
        out += fmt::format("  {:<16} {:>9} {:>9} {:>9} {:>9} {:>8.1f}s {:>9}{}\n", row_label(e, resync),
                           duration_text(e["at_s"].get<double>()), grouped(e["enqueued"]), grouped(e["puts"]),
                           grouped(e["noop_puts"]), e["duration_s"].get<double>(), grouped(e["max_queue_depth"]),
                           e.contains("unfinished") ? " (unfinished)" : "");
      }
    };
    rows(c["resyncs"], true);
    for (const auto& e : c["resyncs"]) {
      if (e["puts"].get<std::uint64_t>() == 0) continue;
      std::string line = fmt::format("  storm at {} limited by: {}\n", duration_text(e["at_s"].get<double>()),
                                     limited_by_text(e["limited_by"], c));
      if (line.size() > 81) {  // 80 columns and the newline: the shares go on their own line
        line = fmt::format("  storm at {} limited by:\n    {}\n", duration_text(e["at_s"].get<double>()),
                           limited_by_text(e["limited_by"], c));
      }
      out += line;
      for (const auto& q : e["queued"]) {
        out += fmt::format("    {} queued {} of {}\n", q["service"].get<std::string>(),
                           ordinal(q["position"].get<std::uint64_t>()), grouped(q["of"]));
      }
    }
    rows(c["startups"], false);
    if (c["switches"]["targetRefResourceVersionCompare"].get<bool>() && c["pod_status_churn_per_hour"] == 0.0) {
      // This version compares TargetRef.ResourceVersion (switch C), which
      // only RV-only pod updates exercise (docs/scenario.md).
      out += "  note: pod status churn is 0: targetRef RV compare (#108078) not exercised\n";
    }
    // Adds up: every settled Endpoints write changed storage, was a no-op,
    // got 409 Conflict or another error.
    const auto& w = c["endpoint_writes"];
    std::string errors = fmt::format("{} got 409 Conflict", grouped(w["conflicts_409"]));
    if (w["other_errors"].get<std::uint64_t>() > 0) errors += fmt::format(", {} other errors", grouped(w["other_errors"]));
    out += fmt::format("  Endpoints writes: {} = {} changed storage + {} no-op +\n    {}\n", grouped(w["total"]),
                       grouped(w["changed"]), grouped(w["noop"]), errors);
    const auto& retries = c["endpoint_retries"];
    std::string line = fmt::format("  retries: {} requeued, {} dropped after {}, {} Retry-After waits\n",
                                   grouped(retries["requeued"]), grouped(retries["dropped"]),
                                   retries["max_retries"].get<int>(), grouped(retries["retry_after_waits"]));
    if (line.size() > 81) {
      line = fmt::format("  retries: {} requeued, {} dropped after {},\n    {} Retry-After waits\n",
                         grouped(retries["requeued"]), grouped(retries["dropped"]), retries["max_retries"].get<int>(),
                         grouped(retries["retry_after_waits"]));
    }
    out += line;
    out += fmt::format("  rollouts: {}\n", grouped(c["rollouts"]));
  }
  const auto& sm = r["summary"];
  const auto& windows = r["windows"];
  // Each consumer's summary lines, then its windows' table, by rank
  // (windows[].consumer is "<registration name>/<cluster>").
  std::vector<const StageRegistration*> consumers;
  for (const StageRegistration& reg : default_stage_registry()) {
    if (reg.kind == StageKind::consumer) consumers.push_back(&reg);
  }
  std::stable_sort(consumers.begin(), consumers.end(), [](const auto* a, const auto* b) {
    return a->consumer_texts.rank < b->consumer_texts.rank;
  });
  std::vector<std::vector<const nlohmann::ordered_json*>> by_consumer(consumers.size());
  for (const auto& w : windows) {
    const std::string name = w["consumer"].get<std::string>();
    for (std::size_t k = 0; k < consumers.size(); ++k) {
      if (name.rfind(consumers[k]->name + "/", 0) == 0) by_consumer[k].push_back(&w);
    }
  }
  for (const StageRegistration* reg : consumers) {
    if (reg->consumer_texts.summary_text) out += reg->consumer_texts.summary_text(sm);
  }
  const std::size_t with_windows = static_cast<std::size_t>(
      std::count_if(by_consumer.begin(), by_consumer.end(), [](const auto& list) { return !list.empty(); }));
  for (std::size_t k = 0; k < consumers.size(); ++k) {
    if (by_consumer[k].empty()) continue;
    const ConsumerTexts& t = consumers[k]->consumer_texts;
    const bool alone = with_windows == 1 && !t.table_title_alone.empty();
    window_table(out, r, by_consumer[k], window_limit, {alone ? t.table_title_alone : t.table_title, t.count_columns});
  }
  if (!windows.empty()) {
  } else if (sm.contains("requests_total") && sm["requests_total"].get<std::int64_t>() > 0) {
    out += "no failure windows\n";
  }
  out += slis_text(r);
  out += fmt::format("\ndigest {}\n", r["digest"].get<std::string>());
  return out;
}

}  // namespace epsim::app
