// What a consumer stage (app/stage.h: StageKind::consumer) supplies to the
// report, `explain` and the network programming SLI (issue 11): its failure
// windows, the chain that kept each open, and when it programmed each pod
// change. report.cpp, explain.cpp and slis.cpp walk the consumers of the
// stage list through this interface; none of them names a consumer.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "app/causality.h"
#include "app/pipeline.h"

namespace epsim::app {

// One failure window of a consumer: clients of a Service of `cluster` that
// the consumer still sent to a dead pod IP.
struct ConsumerWindow {
  const ClusterRuntime* cluster = nullptr;  // the business cluster of the Service
  models::ServiceId service = 0;
  sim::Time start, end;
  double requests = 0, requests_502 = 0, requests_503 = 0, requests_504 = 0;
  double failed = 0;  // what failed, whatever the consumer counts
  double peak_fail_fraction = 0;
  std::size_t index = 0;  // in the consumer's own list of windows
};

// One step of a window's chain: when, a stable key for JSON, and the text.
struct ChainStep {
  sim::Time at;
  const char* event;
  std::string text;
};

// The pod removal that kept a window open and the steps it took through the
// stages, in time order, with the seconds of the window each stage held it.
struct WindowExplanation {
  std::optional<models::PodRecord> pod;
  std::vector<ChainStep> steps;
  StageBreakdown stages;
};

// A built consumer (StageHooks::consumer).
class Consumer {
 public:
  virtual ~Consumer() = default;
  // Its windows, in (start, own) order once the run is over.
  virtual std::vector<ConsumerWindow> windows(const Pipeline& pipeline) const = 0;
  // The removal that kept `window` open; nullopt when no removal of its
  // Service reached every instance of the consumer before the run ended.
  virtual std::optional<WindowExplanation> explain(const Pipeline& pipeline, const ConsumerWindow& window) const = 0;
  // Every programming of `cluster`'s pod changes before the run's end, by
  // each of the consumer's programmers (docs/model.md: the network
  // programming SLI), in pod-record order.
  virtual std::vector<Programming> programmings(const Pipeline& pipeline, const ClusterRuntime& cluster) const = 0;
  // Its values of its registration's ConsumerTexts::totals, in that order.
  virtual std::vector<double> totals() const { return {}; }
};

// A window with the stage whose consumer it is.
struct StageWindow {
  const BuiltStage* stage = nullptr;
  ConsumerWindow window;
};

// The consumer stages of the run by ConsumerTexts::rank, then stage order.
std::vector<const BuiltStage*> consumers_by_rank(const Pipeline& pipeline);

// Every consumer's windows in report.json's order: by start (in the report's
// millisecond resolution), ties by consumer rank, then stage order, then the
// consumer's own order.
std::vector<StageWindow> all_windows(const Pipeline& pipeline);

// The steps every chain from a business writer starts with: the pod's end,
// the window's opening, and the writer's dequeue, client and store of the
// object `written`.
std::vector<ChainStep> writer_steps(const models::PodRecord& pod, sim::Time window_start, const std::string& failing,
                                    const std::string& writer, const std::string& written, sim::Time change,
                                    sim::Time started, sim::Time sent, sim::Time stored);
// The window's closing edge, then every step in time order (a step at the
// same instant keeps its place).
void close_chain(std::vector<ChainStep>& steps, sim::Time window_end, const std::string& failing);
std::string wait_text(sim::Time from, sim::Time to);

}  // namespace epsim::app
