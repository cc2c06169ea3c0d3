#include "app/explain.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include "app/causality.h"
#include "app/consumer.h"
#include "app/input_error.h"

namespace epsim::app {

namespace {

// Virtual time as 16h26m50.0s (tenths of a second).
std::string clock(sim::Time t) {
  const std::int64_t tenths = (t.since_start().ns() + 50'000'000) / 100'000'000;
  const std::int64_t h = tenths / 36'000, m = tenths / 600 % 60, s10 = tenths % 600;
  if (h > 0) return fmt::format("{}h{:02}m{:02}.{}s", h, m, s10 / 10, s10 % 10);
  if (m > 0) return fmt::format("{}m{:02}.{}s", m, s10 / 10, s10 % 10);
  return fmt::format("{}.{}s", s10 / 10, s10 % 10);
}


std::string seconds_text(sim::Duration d) { return fmt::format("{:.1f}s", d.seconds_f()); }

bool matches(const std::string& name, const std::string& wanted) {
  if (wanted.empty() || name == wanted) return true;
  const std::size_t slash = name.find('/');
  return slash != std::string::npos && name.compare(slash + 1, std::string::npos, wanted) == 0;
}

// A window of a consumer with the chain of the removal that kept it open
// (none when no removal of its service reached every instance of the
// consumer before the run ended).
struct ExplainedWindow {
  const BuiltStage* stage = nullptr;
  ConsumerWindow window;
  std::optional<models::PodRecord> pod;  // none: no cause found
  std::vector<ChainStep> steps;            // in time order
  StageBreakdown stages;
};

// The stages of a breakdown: JSON key, value, and how the text says it.
struct StageShare {
  const char* key;
  double seconds_value;
  const char* text;
};
std::vector<StageShare> stage_shares(const StageBreakdown& bd) {
  std::vector<StageShare> out;
  for (const WindowStage& stage : window_stages()) out.push_back({stage.key, bd.of(stage.key), stage.text});
  return out;
}

// The stage the window spent most of its length in, if any time at all.
std::optional<StageShare> dominant_stage(const ExplainedWindow& e) {
  const auto shares = stage_shares(e.stages);
  const auto top = std::max_element(shares.begin(), shares.end(),
                                    [](const auto& a, const auto& b) { return a.seconds_value < b.seconds_value; });
  if (!e.pod || top->seconds_value <= 0 || e.window.end <= e.window.start) return std::nullopt;
  return *top;
}

void explain_text(std::string& out, const ExplainedWindow& e, std::size_t number, std::size_t total) {
  const ConsumerTexts& t = e.stage->registration->consumer_texts;
  const ConsumerWindow& w = e.window;
  out += fmt::format("\n{} window {} of {}: {} in cluster {}\n", t.window, number, total,
                     w.cluster->service_names[w.service], w.cluster->spec->name);
  out += fmt::format("  {} to {} ({}): {}\n", clock(w.start), clock(w.end), seconds_text(w.end - w.start), t.counts(w));
  if (!e.pod) {
    out += fmt::format("  no pod removal of this service reached every {} before the run ended;\n"
                       "  the window lasts until the end of the run\n",
                       t.instance);
    return;
  }
  for (const ChainStep& l : e.steps) out += fmt::format("  {:>11}  {}\n", clock(l.at), l.text);
  if (const auto top = dominant_stage(e)) {
    out += fmt::format("  {:.0f}% of the window was spent {}\n",
                       100 * top->seconds_value / (w.end - w.start).seconds_f(), top->text);
  }
}

// Seconds of virtual time with millisecond resolution, as report.json has them.
double json_seconds(sim::Duration d) { return std::round(d.seconds_f() * 1000.0) / 1000.0; }

nlohmann::ordered_json explain_json(const ExplainedWindow& e, std::size_t number) {
  nlohmann::ordered_json j;
  j["number"] = number;
  const ConsumerWindow& w = e.window;
  j["cluster"] = w.cluster->spec->name;
  j["service"] = w.cluster->service_names[w.service];
  j["consumer"] = e.stage->placement.consumer;
  j["start_s"] = json_seconds(w.start.since_start());
  j["end_s"] = json_seconds(w.end.since_start());
  j["requests_504"] = std::llround(w.requests_504);
  j["requests_502"] = std::llround(w.requests_502);
  j["failed"] = std::llround(w.failed);
  if (!e.pod) {
    j["pod_ip"] = nullptr;  // no removal reached every consumer instance before the run ended
    j["chain"] = nlohmann::ordered_json::array();
    return j;
  }
  j["pod_ip"] = pod_ip_text(e.pod->ip);
  nlohmann::ordered_json chain = nlohmann::ordered_json::array();
  for (const ChainStep& s : e.steps) {
    chain.push_back({{"at_s", json_seconds(s.at.since_start())}, {"event", s.event}, {"text", s.text}});
  }
  j["chain"] = chain;
  nlohmann::ordered_json stages;
  for (const StageShare& s : stage_shares(e.stages)) stages[s.key] = std::round(s.seconds_value * 1000.0) / 1000.0;
  j["stages_s"] = stages;
  if (const auto top = dominant_stage(e)) {
    j["mostly"] = {{"stage", top->key},
                   {"share", std::round(top->seconds_value / (w.end - w.start).seconds_f() * 1000.0) / 1000.0}};
  }
  return j;
}

ExplainedWindow explain(const Pipeline& p, const StageWindow& sw) {
  ExplainedWindow e{sw.stage, sw.window, std::nullopt, {}, {}};
  if (auto why = sw.stage->hooks.consumer->explain(p, sw.window)) {
    e.pod = why->pod;
    e.steps = std::move(why->steps);
    e.stages = why->stages;
  }
  return e;
}

}  // namespace

std::string explain_windows(const Pipeline& p, const nlohmann::ordered_json& report, const ExplainOptions& options) {
  const bool json = options.format == "json";
  std::string out = fmt::format("epsim explain | scenario {} | seed {}\n", report["scenario"]["name"].get<std::string>(),
                                report["seed"].get<std::uint64_t>());
  nlohmann::ordered_json j;
  j["scenario"] = report["scenario"]["name"];
  j["seed"] = report["seed"];
  j["digest"] = report["digest"];
  const auto in_scope = [&](const ClusterRuntime& c) {
    return options.cluster.empty() || c.spec->name == options.cluster;
  };
  if (!options.cluster.empty() &&
      std::none_of(p.clusters().begin(), p.clusters().end(), [&](const auto& c) { return in_scope(*c); })) {
    std::string names;
    for (const auto& c : p.clusters()) names += (names.empty() ? "" : ", ") + c->spec->name;
    throw InputError(fmt::format("--cluster {}: no such business cluster in the scenario (its business clusters: {})",
                                 options.cluster, names));
  }
  if (!options.service.empty()) {
    bool known = false;
    std::optional<std::string> example;  // a name of the clusters in scope, for the message
    for (const auto& c : p.clusters()) {
      if (!in_scope(*c)) continue;
      if (!example && !c->service_names.empty()) example = c->service_names.name(0);
      for (models::ServiceId id = 0; !known && id < c->service_names.size(); ++id) {
        known = matches(c->service_names.name(id), options.service);
      }
    }
    if (!known) {
      throw InputError(fmt::format("--service {}: no such service in {} (names look like {})", options.service,
                                   options.cluster.empty() ? "the scenario" : "cluster " + options.cluster,
                                   example.value_or("namespace/name")));
    }
  }
  nlohmann::ordered_json resyncs = nlohmann::ordered_json::array();
  for (const auto& c : report["clusters"]) {
    if (!options.cluster.empty() && c["name"] != options.cluster) continue;
    for (const auto& e : c["resyncs"]) {
      resyncs.push_back({{"cluster", c["name"]},
                         {"at_s", e["at_s"]},
                         {"puts", e["puts"]},
                         {"duration_s", e["duration_s"]},
                         {"max_queue_depth", e["max_queue_depth"]}});
      out += fmt::format("{} in {} at {}: {} PUTs,\n  the workqueue drained after {:.1f}s (peak depth {})\n",
                         e["puts"].get<std::uint64_t>() > 0 ? "resync storm" : "resync (no PUTs)",
                         c["name"].get<std::string>(),
                         clock(sim::Time::zero() + sim::Duration::from_seconds(e["at_s"].get<double>())),
                         e["puts"].get<std::uint64_t>(), e["duration_s"].get<double>(),
                         e["max_queue_depth"].get<std::uint64_t>());
    }
  }
  j["resyncs"] = resyncs;
  j["windows_total"] = 0;
  j["windows"] = nlohmann::ordered_json::array();
  const auto finish = [&](std::string text_tail) {
    return json ? j.dump(2) + "\n" : out + text_tail;
  };
  // Every consumer's windows (app/consumer.h).
  std::vector<StageWindow> picked;
  for (StageWindow& sw : all_windows(p)) {
    const ConsumerWindow& w = sw.window;
    if (in_scope(*w.cluster) && matches(w.cluster->service_names[w.service], options.service)) {
      picked.push_back(std::move(sw));
    }
  }
  const std::vector<const BuiltStage*> consumers = consumers_by_rank(p);
  if (consumers.empty()) {
    return finish("\nthis scenario has no ingress (no sync and ingress sections) and no in-cluster clients: there "
                  "are no windows to explain\n");
  }
  if (picked.empty()) {
    const std::string scope = !options.service.empty() ? " for " + options.service
                              : !options.cluster.empty() ? " in cluster " + options.cluster
                                                         : std::string();
    return finish(fmt::format("\nno {} windows{} in this run\n",
                              consumers.front()->registration->consumer_texts.window, scope));
  }
  // Longest first, ties in report.json's order (all_windows: start, then consumer rank).
  std::stable_sort(picked.begin(), picked.end(), [](const StageWindow& a, const StageWindow& b) {
    return a.window.end - a.window.start > b.window.end - b.window.start;
  });
  std::size_t shown = picked.size();
  if (options.service.empty() && options.limit > 0) shown = std::min(shown, options.limit);
  if (shown < picked.size()) {
    out += fmt::format("\nthe {} longest of {} windows (--limit 0 shows all, --service picks one)\n", shown,
                       picked.size());
  }
  j["windows_total"] = picked.size();
  for (std::size_t k = 0; k < shown; ++k) {
    const ExplainedWindow e = explain(p, picked[k]);
    if (json) {
      j["windows"].push_back(explain_json(e, k + 1));
    } else {
      explain_text(out, e, k + 1, picked.size());
    }
  }
  return finish("");
}

std::vector<std::string> window_chains(const Pipeline& p) {
  std::vector<std::string> chains;
  const std::vector<StageWindow> all = all_windows(p);
  for (std::size_t i = 0; i < all.size(); ++i) {
    std::string text;
    explain_text(text, explain(p, all[i]), i + 1, all.size());
    chains.push_back(text.substr(text.find_first_not_of('\n')));  // without explain's blank separator line
  }
  return chains;
}

}  // namespace epsim::app
