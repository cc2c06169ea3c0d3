// What the model tests share about the API server: a client that drops its
// answers, a configuration whose every request takes exactly `latency`, and
// Endpoints written by hand.
#pragma once

#include <vector>

#include "models/api_server.h"

namespace epsim::test {

struct IgnoreResponses : models::ApiClient {
  void on_response(std::uint64_t, const models::ApiResponse&) override {}
};

// Median = p99: the log-normal latency has no spread.
inline models::ApiServerConfig fixed_latency(sim::Duration latency,
                                             sim::Duration watch_delay = sim::Duration::milliseconds(100)) {
  models::ApiServerConfig c;
  c.latency_median = latency;
  c.latency_p99 = latency;
  c.watch_delay = watch_delay;
  return c;
}

// Endpoints of `service` listing `ready` and `not_ready` pod IPs (a pod's id
// is its IP, at resourceVersion 1), as a test writes them by hand.
inline models::Endpoints endpoints(models::ServiceId service, const std::vector<models::PodIp>& ready,
                                   const std::vector<models::PodIp>& not_ready = {}) {
  models::Endpoints e;
  e.service = service;
  std::vector<models::EndpointAddress> ready_addresses, not_ready_addresses;
  for (const models::PodIp ip : ready) ready_addresses.push_back(models::EndpointAddress{ip, ip, 1});
  for (const models::PodIp ip : not_ready) not_ready_addresses.push_back(models::EndpointAddress{ip, ip, 1});
  e.set_addresses(ready_addresses, not_ready_addresses);
  return e;
}

}  // namespace epsim::test
