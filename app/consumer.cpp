#include "app/consumer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace epsim::app {

std::vector<const BuiltStage*> consumers_by_rank(const Pipeline& p) {
  std::vector<const BuiltStage*> out;
  for (const BuiltStage& s : p.stages()) {
    if (s.hooks.consumer != nullptr) out.push_back(&s);
  }
  std::stable_sort(out.begin(), out.end(), [](const BuiltStage* a, const BuiltStage* b) {
    return a->registration->consumer_texts.rank < b->registration->consumer_texts.rank;
  });
  return out;
}

std::vector<StageWindow> all_windows(const Pipeline& p) {
  std::vector<StageWindow> out;
  for (const BuiltStage* s : consumers_by_rank(p)) {
    for (ConsumerWindow& w : s->hooks.consumer->windows(p)) out.push_back({s, std::move(w)});
  }
  const auto ms = [](sim::Time t) { return std::llround(t.since_start().seconds_f() * 1000.0); };
  std::stable_sort(out.begin(), out.end(), [&](const StageWindow& a, const StageWindow& b) {
    return ms(a.window.start) < ms(b.window.start);
  });
  return out;
}

std::string wait_text(sim::Time from, sim::Time to) { return fmt::format("{:.1f}s", (to - from).seconds_f()); }

std::vector<ChainStep> writer_steps(const models::PodRecord& pod, sim::Time window_start, const std::string& failing,
                                    const std::string& writer, const std::string& written, sim::Time change,
                                    sim::Time started, sim::Time sent, sim::Time stored) {
  return {
      {change, "pod_terminating", fmt::format("pod {} marked terminating (rollout)", pod_ip_text(pod.ip))},
      {pod.dead_at, "pod_dead", "the pod stops answering (grace period over)"},
      {window_start, "window_opens", fmt::format("-- {} start failing: the window opens", failing)},
      {started, "controller_dequeued", fmt::format("{} dequeues the Service (+{})", writer, wait_text(change, started))},
      {sent, "client_sent", fmt::format("client rate limiter lets the PUT go (+{})", wait_text(started, sent))},
      {stored, "apiserver_stored", fmt::format("API server stores the {} (+{})", written, wait_text(sent, stored))},
  };
}

void close_chain(std::vector<ChainStep>& steps, sim::Time window_end, const std::string& failing) {
  steps.push_back({window_end, "window_closes", fmt::format("-- {} stop failing: the window closes", failing)});
  std::stable_sort(steps.begin(), steps.end(), [](const ChainStep& x, const ChainStep& y) { return x.at < y.at; });
}

}  // namespace epsim::app
