#include "app/explain.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "app/causality.h"
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

// One step of a window's chain: when, a stable key for JSON, and the text.
struct Step {
  sim::Time at;
  const char* event;
  std::string text;
};

// A window of either consumer with the chain of the removal that kept it
// open (none when no removal of its service reached every nginx worker, or
// every kube-proxy, before the run ended).
struct ExplainedWindow {
  bool kube_proxy = false;  // else ingress-nginx
  std::string consumer;
  const ClusterRuntime* cluster = nullptr;
  models::ServiceId service = 0;
  sim::Time start, end;
  double requests_504 = 0, requests_502 = 0, failed = 0;
  const models::PodRecord* pod = nullptr;  // null: no cause found
  std::vector<Step> steps;                 // in time order
  StageBreakdown stages;
};

std::string wait_text(sim::Time a, sim::Time b) { return fmt::format("{:.1f}s", (b - a).seconds_f()); }

// The steps both paths share: the pod's end, the window's edges and the
// business cluster's writer.
void common_steps(ExplainedWindow& e, sim::Time change, sim::Time started, sim::Time sent, sim::Time stored,
                  const char* written) {
  const char* failing = e.kube_proxy ? "connections" : "requests";
  e.steps = {
      {change, "pod_terminating", fmt::format("pod {} marked terminating (rollout)", pod_ip_text(e.pod->ip))},
      {e.pod->dead_at, "pod_dead", "the pod stops answering (grace period over)"},
      {e.start, "window_opens", fmt::format("-- {} start failing: the window opens", failing)},
      {started, "controller_dequeued",
       fmt::format("{} dequeues the Service (+{})",
                   e.kube_proxy && std::string_view(written) == "EndpointSlice" ? "EndpointSlice controller"
                                                                                 : "endpoints controller",
                   wait_text(change, started))},
      {sent, "client_sent", fmt::format("client rate limiter lets the PUT go (+{})", wait_text(started, sent))},
      {stored, "apiserver_stored", fmt::format("API server stores the {} (+{})", written, wait_text(sent, stored))},
  };
}

// The window's closing edge goes last, then the steps in time order (a step
// at the same instant keeps its place).
void close_steps(ExplainedWindow& e) {
  e.steps.push_back({e.end, "window_closes",
                     fmt::format("-- {} stop failing: the window closes", e.kube_proxy ? "connections" : "requests")});
  std::stable_sort(e.steps.begin(), e.steps.end(), [](const Step& x, const Step& y) { return x.at < y.at; });
}

ExplainedWindow explain_ingress(const Pipeline& p, const models::TrafficWindow& w, const WindowCauses& causes) {
  const DataPlane& dp = *p.data_plane();
  const Backend& b = dp.backends[w.backend];
  ExplainedWindow e;
  e.consumer = "ingress-nginx/" + dp.spec->name;
  e.cluster = p.clusters()[b.cluster].get();
  e.service = b.service;
  e.start = w.start;
  e.end = w.end;
  e.requests_504 = w.requests_504;
  e.requests_502 = w.requests_502;
  e.failed = w.requests_502 + w.requests_503 + w.requests_504;
  const std::optional<WindowCause> cause = causes.of(w);
  if (!cause) return e;
  e.pod = cause->pod;
  const PropagationChain& ch = cause->chain;
  common_steps(e, ch.change, ch.controller_started, ch.controller_sent, ch.controller_stored, "Endpoints");
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
                     fmt::format("ingress-nginx applies the new backends (+{})", wait_text(upstream, ch.ingress_applied))});
  e.steps.push_back({ch.all_workers, "last_worker",
                     fmt::format("last nginx worker routes without it (+{})",
                                 wait_text(ch.ingress_applied, ch.all_workers))});
  close_steps(e);
  e.stages = breakdown(ch, w.start, w.end);
  return e;
}

ExplainedWindow explain_kube_proxy(const ClusterRuntime& c, const models::KubeProxyWindow& w) {
  ExplainedWindow e;
  e.kube_proxy = true;
  e.consumer = "kube-proxy/" + c.spec->name;
  e.cluster = &c;
  e.service = w.service;
  e.start = w.start;
  e.end = w.end;
  e.failed = w.failed;
  const auto cause = kube_proxy_window_cause(c, w);
  if (!cause) return e;
  e.pod = cause->pod;
  const KubeProxyChain& ch = cause->chain;
  const bool slices = c.kube_proxy->config().read_endpoint_slices;
  common_steps(e, ch.change, ch.controller_started, ch.controller_sent, ch.controller_stored,
               slices ? "EndpointSlice" : "Endpoints");
  e.steps.push_back({ch.all_nodes, "last_node",
                     fmt::format("kube-proxy on the last of {} nodes applies its rules (+{})",
                                 c.kube_proxy->config().nodes, wait_text(ch.controller_stored, ch.all_nodes))});
  close_steps(e);
  e.stages = breakdown(ch, w.start, w.end);
  return e;
}

// The stages of a breakdown: JSON key, value, and how the text says it.
struct StageShare {
  const char* key;
  double seconds_value;
  const char* text;
};
std::vector<StageShare> stage_shares(const StageBreakdown& bd) {
  return {{"workqueue_wait_s", bd.workqueue_wait_s, "waiting in the endpoints controller's workqueue"},
          {"client_throttle_s", bd.client_throttle_s, "waiting for the client rate limiter"},
          {"apiserver_s", bd.apiserver_s, "in the API server"},
          {"sync_component_s", bd.sync_component_s, "in the sync component"},
          {"mirroring_s", bd.mirroring_s, "in EndpointSlice mirroring"},
          {"ingress_s", bd.ingress_s, "in ingress-nginx's sync"},
          {"nginx_worker_s", bd.nginx_worker_s, "waiting for nginx workers to pick it up"},
          {"kube_proxy_s", bd.kube_proxy_s, "waiting for kube-proxy on every node"}};
}

// The stage the window spent most of its length in, if any time at all.
std::optional<StageShare> dominant_stage(const ExplainedWindow& e) {
  const auto shares = stage_shares(e.stages);
  const auto top = std::max_element(shares.begin(), shares.end(),
                                    [](const auto& a, const auto& b) { return a.seconds_value < b.seconds_value; });
  if (e.pod == nullptr || top->seconds_value <= 0 || e.end <= e.start) return std::nullopt;
  return *top;
}

void explain_text(std::string& out, const ExplainedWindow& e, std::size_t number, std::size_t total) {
  out += fmt::format("\n{} window {} of {}: {} in cluster {}\n", e.kube_proxy ? "kube-proxy" : "504", number, total,
                     e.cluster->service_names[e.service], e.cluster->spec->name);
  if (e.kube_proxy) {
    out += fmt::format("  {} to {} ({}): {} in-cluster connections went to dead pod IPs\n", clock(e.start),
                       clock(e.end), seconds_text(e.end - e.start), std::llround(e.failed));
  } else {
    out += fmt::format("  {} to {} ({}): {} requests got 504, {} got 502\n", clock(e.start), clock(e.end),
                       seconds_text(e.end - e.start), std::llround(e.requests_504), std::llround(e.requests_502));
  }
  if (e.pod == nullptr) {
    out += fmt::format("  no pod removal of this service reached every {} before the run ended;\n"
                       "  the window lasts until the end of the run\n",
                       e.kube_proxy ? "kube-proxy" : "nginx worker");
    return;
  }
  for (const Step& l : e.steps) out += fmt::format("  {:>11}  {}\n", clock(l.at), l.text);
  if (const auto top = dominant_stage(e)) {
    out += fmt::format("  {:.0f}% of the window was spent {}\n", 100 * top->seconds_value / (e.end - e.start).seconds_f(),
                       top->text);
  }
}

// Seconds of virtual time with millisecond resolution, as report.json has them.
double json_seconds(sim::Duration d) { return std::round(d.seconds_f() * 1000.0) / 1000.0; }

nlohmann::ordered_json explain_json(const ExplainedWindow& e, std::size_t number) {
  nlohmann::ordered_json j;
  j["number"] = number;
  j["cluster"] = e.cluster->spec->name;
  j["service"] = e.cluster->service_names[e.service];
  j["consumer"] = e.consumer;
  j["start_s"] = json_seconds(e.start.since_start());
  j["end_s"] = json_seconds(e.end.since_start());
  j["requests_504"] = std::llround(e.requests_504);
  j["requests_502"] = std::llround(e.requests_502);
  j["failed"] = std::llround(e.failed);
  if (e.pod == nullptr) {
    j["pod_ip"] = nullptr;  // no removal reached every consumer instance before the run ended
    j["chain"] = nlohmann::ordered_json::array();
    return j;
  }
  j["pod_ip"] = pod_ip_text(e.pod->ip);
  nlohmann::ordered_json chain = nlohmann::ordered_json::array();
  for (const Step& s : e.steps) {
    chain.push_back({{"at_s", json_seconds(s.at.since_start())}, {"event", s.event}, {"text", s.text}});
  }
  j["chain"] = chain;
  nlohmann::ordered_json stages;
  for (const StageShare& s : stage_shares(e.stages)) stages[s.key] = std::round(s.seconds_value * 1000.0) / 1000.0;
  j["stages_s"] = stages;
  if (const auto top = dominant_stage(e)) {
    j["mostly"] = {{"stage", top->key},
                   {"share", std::round(top->seconds_value / (e.end - e.start).seconds_f() * 1000.0) / 1000.0}};
  }
  return j;
}

// A window of either consumer.
struct Candidate {
  const ClusterRuntime* cluster;
  const models::TrafficWindow* ingress;      // or
  const models::KubeProxyWindow* kube_proxy;
  sim::Time start() const { return ingress != nullptr ? ingress->start : kube_proxy->start; }
  sim::Duration length() const {
    return ingress != nullptr ? ingress->end - ingress->start : kube_proxy->end - kube_proxy->start;
  }
  models::ServiceId service;
};

// Every window in report.json's order: ingress-nginx's, then each business
// cluster's kube-proxy's, stably sorted by start in the report's
// millisecond resolution (app/report.cpp).
std::vector<Candidate> all_windows(const Pipeline& p) {
  std::vector<Candidate> out;
  if (const DataPlane* dp = p.data_plane()) {
    for (const auto& w : dp->traffic->windows()) {
      const Backend& b = dp->backends[w.backend];
      out.push_back({p.clusters()[b.cluster].get(), &w, nullptr, b.service});
    }
  }
  for (const auto& c : p.clusters()) {
    if (!c->kube_proxy) continue;
    for (const auto& w : c->kube_proxy->windows()) out.push_back({c.get(), nullptr, &w, w.service});
  }
  const auto ms = [](sim::Time t) { return std::llround(t.since_start().seconds_f() * 1000.0); };
  std::stable_sort(out.begin(), out.end(),
                   [&](const Candidate& a, const Candidate& b) { return ms(a.start()) < ms(b.start()); });
  return out;
}

ExplainedWindow explain(const Pipeline& p, const Candidate& cand, const std::optional<WindowCauses>& causes) {
  return cand.ingress != nullptr ? explain_ingress(p, *cand.ingress, *causes)
                                 : explain_kube_proxy(*cand.cluster, *cand.kube_proxy);
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
    const std::string* example = nullptr;  // a name of the clusters in scope, for the message
    for (const auto& c : p.clusters()) {
      if (example == nullptr && in_scope(*c) && !c->service_names.empty()) example = &c->service_names.front();
      known = known || (in_scope(*c) && std::any_of(c->service_names.begin(), c->service_names.end(),
                                                    [&](const std::string& n) { return matches(n, options.service); }));
    }
    if (!known) {
      throw InputError(fmt::format("--service {}: no such service in {} (names look like {})", options.service,
                                   options.cluster.empty() ? "the scenario" : "cluster " + options.cluster,
                                   example != nullptr ? *example : std::string("namespace/name")));
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
  // Both consumers' windows: ingress-nginx's (from the data plane) and each
  // business cluster's kube-proxy's.
  std::vector<Candidate> picked;
  for (const Candidate& cand : all_windows(p)) {
    if (in_scope(*cand.cluster) && matches(cand.cluster->service_names[cand.service], options.service)) {
      picked.push_back(cand);
    }
  }
  const DataPlane* dp = p.data_plane();
  const bool any_kube_proxy =
      std::any_of(p.clusters().begin(), p.clusters().end(), [](const auto& c) { return c->kube_proxy != nullptr; });
  if (dp == nullptr && !any_kube_proxy) {
    return finish("\nthis scenario has no ingress (no sync and ingress sections) and no in-cluster clients: there "
                  "are no windows to explain\n");
  }
  if (picked.empty()) {
    const std::string scope = !options.service.empty() ? " for " + options.service
                              : !options.cluster.empty() ? " in cluster " + options.cluster
                                                         : std::string();
    return finish(fmt::format("\nno {} windows{} in this run\n", dp != nullptr ? "504" : "kube-proxy", scope));
  }
  // Longest first, ties by consumer (ingress-nginx first) and start.
  std::stable_sort(picked.begin(), picked.end(),
                   [](const Candidate& a, const Candidate& b) { return a.length() > b.length(); });
  std::size_t shown = picked.size();
  if (options.service.empty() && options.limit > 0) shown = std::min(shown, options.limit);
  if (shown < picked.size()) {
    out += fmt::format("\nthe {} longest of {} windows (--limit 0 shows all, --service picks one)\n", shown,
                       picked.size());
  }
  j["windows_total"] = picked.size();
  std::optional<WindowCauses> causes;
  if (dp != nullptr) causes.emplace(p);
  for (std::size_t k = 0; k < shown; ++k) {
    const Candidate& cand = picked[k];
    const ExplainedWindow e = explain(p, cand, causes);
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
  const std::vector<Candidate> all = all_windows(p);
  std::optional<WindowCauses> causes;
  if (p.data_plane() != nullptr) causes.emplace(p);
  for (std::size_t i = 0; i < all.size(); ++i) {
    std::string text;
    explain_text(text, explain(p, all[i], causes), i + 1, all.size());
    chains.push_back(text.substr(text.find_first_not_of('\n')));  // without explain's blank separator line
  }
  return chains;
}

}  // namespace epsim::app
