// The engine demo: an M/M/1 queue (Poisson arrivals, exponential service,
// FIFO) run on the engine. It is the embedded default until the Kubernetes
// models exist, and it exercises the clock, streams and metrics end to end.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/time.h"

namespace epsim::app {

struct EngineDemoScenario {
  std::string name = "engine-demo";
  std::uint64_t seed = 1;
  sim::Duration duration = sim::Duration::hours(1);
  double arrivals_per_second = 8.0;
  sim::Duration mean_service_time = sim::Duration::milliseconds(100);
  std::uint64_t max_events = 50'000'000;
};

// Parses the demo scenario YAML (keys: name, seed, duration, maxEvents,
// demo.arrivalRate, demo.meanServiceTime). `origin` names the source in
// error messages. Throws InputError with origin:line:column.
EngineDemoScenario parse_engine_demo(const std::string& yaml_text, const std::string& origin);

// Runs the demo and returns the model part of the report.
nlohmann::ordered_json run_engine_demo(const EngineDemoScenario& scenario, std::uint64_t& events_processed);

extern const char* const kEmbeddedDefaultScenario;

}  // namespace epsim::app
