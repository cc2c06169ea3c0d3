// Chrome trace-event JSON (the JSON Object Format: "traceEvents" and
// "displayTimeUnit") of a run, for Perfetto or chrome://tracing: one process,
// one thread per span track (named by "thread_name" metadata events),
// complete events ("ph":"X") with ts/dur in microseconds of virtual time, and
// the report's 504 windows on a "504 windows" track. Spans that overlap
// without nesting go to extra lanes of their track ("<track> #2", …) because
// a trace viewer only stacks slices of one thread that nest.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "sim/span_recorder.h"

namespace epsim::app {

// `report` is build_report()'s JSON: its scenario name, seed and "windows".
std::string trace_events_json(const sim::SpanRecorder& spans, const nlohmann::ordered_json& report);

}  // namespace epsim::app
