#include "app/engine_demo.h"

#include <yaml-cpp/yaml.h>

#include <deque>
#include <fmt/format.h>

#include "app/input_error.h"
#include "sim/metrics.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace epsim::app {

const char* const kEmbeddedDefaultScenario = R"(# Embedded default: engine demo (M/M/1 queue)
name: engine-demo
seed: 1
duration: 1h
demo:
  arrivalRate: 8          # requests per second
  meanServiceTime: 100ms
)";

namespace {

std::string where(const std::string& origin, const YAML::Mark& mark) {
  return fmt::format("{}:{}:{}", origin, mark.line + 1, mark.column + 1);
}

template <class T>
T scalar(const YAML::Node& node, const std::string& origin, const char* what) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    throw InputError(fmt::format("{}: expected {}", where(origin, node.Mark()), what));
  }
}

sim::Duration duration_value(const YAML::Node& node, const std::string& origin) {
  const auto text = scalar<std::string>(node, origin, "a duration such as \"30s\"");
  try {
    return sim::parse_duration(text);
  } catch (const sim::DurationParseError& e) {
    throw InputError(fmt::format("{}: {}", where(origin, node.Mark()), e.what()));
  }
}

}  // namespace

EngineDemoScenario parse_engine_demo(const std::string& yaml_text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw InputError(fmt::format("{}: YAML syntax error: {}", where(origin, e.mark), e.msg));
  }
  if (!root.IsMap()) throw InputError(fmt::format("{}: the scenario must be a mapping", where(origin, root.Mark())));
  EngineDemoScenario s;
  for (const auto& kv : root) {
    const auto key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "name") s.name = scalar<std::string>(v, origin, "a string");
    else if (key == "seed") s.seed = scalar<std::uint64_t>(v, origin, "a non-negative integer");
    else if (key == "duration") s.duration = duration_value(v, origin);
    else if (key == "maxEvents") s.max_events = scalar<std::uint64_t>(v, origin, "a positive integer");
    else if (key == "demo") {
      if (!v.IsMap()) throw InputError(fmt::format("{}: demo must be a mapping", where(origin, v.Mark())));
      for (const auto& d : v) {
        const auto dkey = d.first.as<std::string>();
        if (dkey == "arrivalRate") s.arrivals_per_second = scalar<double>(d.second, origin, "a number");
        else if (dkey == "meanServiceTime") s.mean_service_time = duration_value(d.second, origin);
        else throw InputError(fmt::format("{}: unknown key demo.{} (valid: arrivalRate, meanServiceTime)",
                                          where(origin, d.first.Mark()), dkey));
      }
    } else {
      throw InputError(fmt::format("{}: unknown key {} (valid: name, seed, duration, maxEvents, demo)",
                                   where(origin, kv.first.Mark()), key));
    }
  }
  if (!(s.arrivals_per_second > 0)) throw InputError(origin + ": demo.arrivalRate must be > 0");
  if (!(s.mean_service_time > sim::Duration::zero())) throw InputError(origin + ": demo.meanServiceTime must be > 0");
  if (!(s.duration > sim::Duration::zero())) throw InputError(origin + ": duration must be > 0");
  return s;
}

namespace {

// Single-server FIFO queue driven by the engine.
class MM1 {
 public:
  MM1(sim::Simulator& simulator, const EngineDemoScenario& s, sim::MetricsRegistry& metrics)
      : sim_(simulator),
        arrivals_(s.seed, "demo/arrivals"),
        service_(s.seed, "demo/service"),
        mean_interarrival_(sim::Duration::from_seconds(1.0 / s.arrivals_per_second)),
        mean_service_(s.mean_service_time),
        served_(metrics.counter("demo_served_total", "Requests served")),
        wait_(metrics.histogram("demo_wait_seconds", "Time in queue before service",
                                sim::Histogram::exponential_buckets(1e-3, 10, 5))) {}

  void start() { schedule_arrival(); }
  std::uint64_t arrivals() const { return arrivals_count_; }
  std::size_t max_queue() const { return max_queue_; }

 private:
  void schedule_arrival() {
    sim_.schedule_after(arrivals_.exponential_duration(mean_interarrival_), [this] { arrive(); });
  }
  void arrive() {
    ++arrivals_count_;
    waiting_.push_back(sim_.now());
    max_queue_ = std::max(max_queue_, waiting_.size());
    if (!busy_) begin_service();
    schedule_arrival();
  }
  void begin_service() {
    busy_ = true;
    wait_.observe((sim_.now() - waiting_.front()).seconds_f());
    waiting_.pop_front();
    sim_.schedule_after(service_.exponential_duration(mean_service_), [this] { finish(); });
  }
  void finish() {
    served_.inc();
    busy_ = false;
    if (!waiting_.empty()) begin_service();
  }

  sim::Simulator& sim_;
  sim::RandomStream arrivals_;
  sim::RandomStream service_;
  sim::Duration mean_interarrival_;
  sim::Duration mean_service_;
  sim::Counter& served_;
  sim::Histogram& wait_;
  std::deque<sim::Time> waiting_;
  bool busy_ = false;
  std::uint64_t arrivals_count_ = 0;
  std::size_t max_queue_ = 0;
};

}  // namespace

nlohmann::ordered_json run_engine_demo(const EngineDemoScenario& scenario, std::uint64_t& events_processed) {
  sim::Simulator simulator(sim::SimulatorOptions{scenario.max_events});
  sim::MetricsRegistry metrics;
  MM1 queue(simulator, scenario, metrics);
  queue.start();
  const sim::Time end = sim::Time::zero() + scenario.duration;
  if (simulator.run_until(end) == sim::RunOutcome::event_limit) {
    throw InputError(fmt::format("event limit of {} reached at t={}s before the scenario end ({}s); "
                                 "raise maxEvents or shorten the duration",
                                 simulator.max_events(), simulator.now().seconds_f(), end.seconds_f()));
  }
  events_processed = simulator.events_processed();
  const auto& wait = metrics.families().at("demo_wait_seconds").histograms.begin()->second;
  nlohmann::ordered_json out;
  out["arrivals"] = queue.arrivals();
  out["served"] = metrics.value("demo_served_total");
  out["max_queue_length"] = queue.max_queue();
  out["mean_wait_s"] = wait->count() ? wait->sum() / static_cast<double>(wait->count()) : 0.0;
  return out;
}

}  // namespace epsim::app
