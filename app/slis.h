// The SIG Scalability SLIs a cluster owner is judged by, computed from a run
// as their definitions say (kubernetes/community sig-scalability/slos):
//  - mutating API call latency (api_call_latency.md): for every (resource,
//    verb), the 99th percentile per cluster-day of the latency of answered
//    mutating calls for single objects; SLO <= 1 s;
//  - network programming latency (network_programming_latency.md): from a
//    change of a Service's ready pods to the change reaching the load
//    balancing that programs it (every node's kube-proxy, ingress-nginx's
//    workers); SLO: the 99th percentile per cluster-day <= 30 s, and the SLI
//    itself is a 99th percentile over the last 5 minutes, so a storm "breaks"
//    it for the minutes whose last 5 minutes' p99 exceeds 30 s.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "app/causality.h"
#include "app/pipeline.h"

namespace epsim::app {

inline constexpr double kMutatingApiCallSloSeconds = 1.0;
inline constexpr double kNetworkProgrammingSloSeconds = 30.0;

// report.json's "slis": {"mutating_api_call_latency": [...],
// "network_programming_latency": [...]}, each entry per cluster and day.
// `programmings` are each business cluster's (by index) programmings by every
// consumer of the run (app/consumer.h: Consumer::programmings), consumers by
// rank: ingress-nginx's last worker, each node's kube-proxy for the Services
// it programs (ClusterIP: neither headless nor selector-less).
nlohmann::ordered_json slis_json(const Pipeline& pipeline, const std::vector<std::vector<Programming>>& programmings);

// The text report's lines for `report["slis"]` (empty when it has none).
std::string slis_text(const nlohmann::ordered_json& report);

}  // namespace epsim::app
