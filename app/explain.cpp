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

struct Line {
  sim::Time at;
  std::string text;
};

void explain_one(std::string& out, const Pipeline& p, const models::TrafficWindow& w, std::size_t number,
                 std::size_t total, const WindowCauses& causes) {
  const DataPlane& dp = *p.data_plane();
  const Backend& b = dp.backends[w.backend];
  const ClusterRuntime& c = *p.clusters()[b.cluster];
  out += fmt::format("\n504 window {} of {}: {} in cluster {}\n", number, total, c.service_names[b.service],
                     c.spec->name);
  out += fmt::format("  {} to {} ({}): {} requests got 504, {} got 502\n", clock(w.start), clock(w.end),
                     seconds_text(w.end - w.start), std::llround(w.requests_504), std::llround(w.requests_502));
  const std::optional<WindowCause> cause = causes.of(w);
  if (!cause) {
    out += "  no pod removal of this service reached every nginx worker before the run ended;\n"
           "  the window lasts until the end of the run\n";
    return;
  }
  const PropagationChain& ch = cause->chain;
  auto wait = [](sim::Time a, sim::Time b) { return fmt::format("{:.1f}s", (b - a).seconds_f()); };
  std::vector<Line> lines = {
      {ch.change, fmt::format("pod {} marked terminating (rollout)", pod_ip_text(cause->pod->ip))},
      {cause->pod->dead_at, "the pod stops answering (grace period over)"},
      {w.start, "-- requests start failing: the window opens"},
      {ch.controller_started,
       fmt::format("endpoints controller dequeues the Service (+{})", wait(ch.change, ch.controller_started))},
      {ch.controller_sent,
       fmt::format("client rate limiter lets the PUT go (+{})", wait(ch.controller_started, ch.controller_sent))},
      {ch.controller_stored,
       fmt::format("API server stores the Endpoints (+{})", wait(ch.controller_sent, ch.controller_stored))},
      {ch.sync_stored,
       fmt::format("sync component writes the access copy (+{})", wait(ch.controller_stored, ch.sync_stored))},
  };
  sim::Time upstream = ch.sync_stored;
  if (ch.mirroring_stored) {
    lines.push_back({*ch.mirroring_stored, fmt::format("EndpointSlice mirroring writes the slice (+{})",
                                                       wait(ch.sync_stored, *ch.mirroring_stored))});
    upstream = *ch.mirroring_stored;
  }
  lines.push_back({ch.ingress_applied,
                   fmt::format("ingress-nginx applies the new backends (+{})", wait(upstream, ch.ingress_applied))});
  lines.push_back({ch.all_workers,
                   fmt::format("last nginx worker routes without it (+{})", wait(ch.ingress_applied, ch.all_workers))});
  lines.push_back({w.end, "-- requests stop failing: the window closes"});
  std::stable_sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) { return a.at < b.at; });
  for (const Line& l : lines) out += fmt::format("  {:>11}  {}\n", clock(l.at), l.text);
  const StageBreakdown bd = breakdown(ch, w.start, w.end);
  const std::pair<double, const char*> stages[] = {
      {bd.workqueue_wait_s, "waiting in the endpoints controller's workqueue"},
      {bd.client_throttle_s, "waiting for the client rate limiter"},
      {bd.apiserver_s, "in the API server"},
      {bd.sync_component_s, "in the sync component"},
      {bd.mirroring_s, "in EndpointSlice mirroring"},
      {bd.ingress_s, "in ingress-nginx's sync"},
      {bd.nginx_worker_s, "waiting for nginx workers to pick it up"}};
  const auto* top = std::max_element(std::begin(stages), std::end(stages),
                                     [](const auto& a, const auto& b) { return a.first < b.first; });
  const double length_s = (w.end - w.start).seconds_f();
  if (top->first > 0 && length_s > 0) {
    out += fmt::format("  {:.0f}% of the window was spent {}\n", 100 * top->first / length_s, top->second);
  }
}

}  // namespace

std::string explain_windows(const Pipeline& p, const nlohmann::ordered_json& report, const ExplainOptions& options) {
  std::string out = fmt::format("epsim explain | scenario {} | seed {}\n", report["scenario"]["name"].get<std::string>(),
                                report["seed"].get<std::uint64_t>());
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
  for (const auto& c : report["clusters"]) {
    if (!options.cluster.empty() && c["name"] != options.cluster) continue;
    for (const auto& e : c["resyncs"]) {
      out += fmt::format("resync storm in {} at {}: {} PUTs,\n  the workqueue drained after {:.1f}s (peak depth {})\n",
                         c["name"].get<std::string>(), clock(sim::Time::zero() + sim::Duration::from_seconds(e["at_s"].get<double>())),
                         e["puts"].get<std::uint64_t>(), e["duration_s"].get<double>(),
                         e["max_queue_depth"].get<std::uint64_t>());
    }
  }
  const DataPlane* dp = p.data_plane();
  if (dp == nullptr) {
    return out + "\nthis scenario has no ingress (no sync and ingress sections): there are no 504 windows to explain\n";
  }
  const auto& all = dp->traffic->windows();
  std::vector<std::size_t> picked;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Backend& b = dp->backends[all[i].backend];
    const ClusterRuntime& c = *p.clusters()[b.cluster];
    if (in_scope(c) && matches(c.service_names[b.service], options.service)) picked.push_back(i);
  }
  if (picked.empty()) {
    const std::string scope = !options.service.empty() ? " for " + options.service
                              : !options.cluster.empty() ? " in cluster " + options.cluster
                                                         : std::string();
    out += fmt::format("\nno 504 windows{} in this run\n", scope);
    return out;
  }
  // Longest first, ties by start (the windows are in start order).
  std::stable_sort(picked.begin(), picked.end(), [&](std::size_t a, std::size_t b) {
    return all[a].end - all[a].start > all[b].end - all[b].start;
  });
  std::size_t shown = picked.size();
  if (options.service.empty() && options.limit > 0) shown = std::min(shown, options.limit);
  if (shown < picked.size()) {
    out += fmt::format("\nthe {} longest of {} windows (--limit 0 shows all, --service picks one)\n", shown,
                       picked.size());
  }
  const WindowCauses causes(p);
  for (std::size_t k = 0; k < shown; ++k) explain_one(out, p, all[picked[k]], k + 1, picked.size(), causes);
  return out;
}

std::vector<std::string> window_chains(const Pipeline& p) {
  std::vector<std::string> chains;
  const DataPlane* dp = p.data_plane();
  if (dp == nullptr) return chains;
  const auto& all = dp->traffic->windows();
  const WindowCauses causes(p);
  for (std::size_t i = 0; i < all.size(); ++i) {
    std::string text;
    explain_one(text, p, all[i], i + 1, all.size(), causes);
    chains.push_back(text.substr(text.find_first_not_of('\n')));  // without explain's blank separator line
  }
  return chains;
}

}  // namespace epsim::app
