// What the model tests share about the API server: a client that drops its
// answers, and a configuration whose every request takes exactly `latency`.
#pragma once

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

}  // namespace epsim::test
