// What limited a stretch of a business cluster's work (a resync storm, a
// failure window): the share of its time during which each stage was the
// bound, measured from the run. A moment counts for the first condition that
// held, in this order:
//   apiserver          a mutating request waited behind another for the API
//                      server's write processor, or the in-flight limit was
//                      reached (models/api_server.h)
//   client_bucket      an endpoints worker waited for a token of the
//                      controller's client bucket (--kube-api-qps/-burst)
//   endpoints_workers  every endpoints worker had a request in flight
//                      (--concurrent-endpoint-syncs)
//   other              none of these (latency, an empty queue, ...)
// The API server comes first because when it is saturated more tokens or
// workers only lengthen its queue.
#pragma once

#include <nlohmann/json.hpp>
#include <memory>
#include <string>

#include "app/pipeline.h"
#include "sim/interval_set.h"

namespace epsim::app {

struct LimitShares {
  double apiserver = 0;
  double client_bucket = 0;
  double endpoints_workers = 0;
  double other = 0;
  // The stage with the largest share ("apiserver", "client_bucket",
  // "endpoints_workers" or "other"); "" for an empty stretch.
  std::string stage;
};

// The index limited_by() reads, over the cluster's sets in the order above;
// Pipeline::run() builds it once the run is over.
std::unique_ptr<sim::ExclusiveCover> limit_cover(const ClusterRuntime& cluster);
// Needs a finished run (cluster.limits set).
LimitShares limited_by(const ClusterRuntime& cluster, sim::Time from, sim::Time to);

// {"stage": ..., "apiserver": share, "client_bucket": ..., ...}, shares
// rounded to 0.001.
nlohmann::ordered_json limited_by_json(const LimitShares& shares);

// "API server writes (45/s) 93%, client bucket (20 qps) 5%": the stages
// with at least 1%, largest first; the labels come from the report's
// cluster entry (its qps, workers and the API server's throughput).
std::string limited_by_text(const nlohmann::ordered_json& limited_by, const nlohmann::ordered_json& cluster);

}  // namespace epsim::app
