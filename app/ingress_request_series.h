// ingress-nginx's request counter over the scrapes of a run, for metrics.om:
// nginx_ingress_controller_requests with the labels upstream's socket
// collector gives it (ingress-nginx controller-v1.3.1 internal/ingress/
// metric/collectors/socket.go: status, method, path, namespace, ingress,
// service, canary, host, and the controller's constLabels), plus `cluster`.
// canary and host are empty in the model (no canary, no Host header) and
// Prometheus stores no empty label, so they are left out.
#pragma once

#include <string>

#include "app/openmetrics_text.h"
#include "app/pipeline.h"

namespace epsim::app {

// Which Services get series of their own (--metrics-services); the others
// are summed into one series per status with namespace, ingress and service
// "(other)".
enum class MetricsServices {
  failing,   // a request of theirs got 502, 503 or 504 (the default)
  rollouts,  // those and every Service with a rollout
  all,       // every Service
};
MetricsServices parse_metrics_services(const std::string& text);  // InputError when unknown

// Empty when the scenario has no ingress or record_scrapes() was not called.
ComputedFamily ingress_request_family(const Pipeline& pipeline, MetricsServices services);

}  // namespace epsim::app
