// End-to-end invariants of a finished run, checked by walking what the models
// recorded (the per-operation checks live in the models, sim/invariant.h).
// Unlike EPSIM_INVARIANT these work in Release builds and do not abort: they
// return what failed, so a test can show every violation.
//
//  (a) propagation: every pod change (an IP that must leave routing, or join
//      it) of a business cluster that feeds ingress-nginx reaches every nginx
//      worker (app/causality.h follow_change), or is superseded by a later
//      change of the same Service that does (or is itself superseded or in
//      flight), or was still in flight at the end: less than
//      InvariantOptions::in_flight before it, or after the moment a stage on
//      its path (the cluster's endpoints workqueue, the sync component's,
//      mirroring's) last was idle while that stage was still busy at the end.
//      And where nothing is in flight, the run converged: at the end
//      ingress-nginx and every nginx worker route exactly the Service's live,
//      ready pods (live pods with publishNotReadyAddresses).
//  (b) the event count stayed within the simulator's bound (and
//      InvariantOptions::max_events when set), and the run reached its end.
//  (c) counters that must agree do: requests and responses of each API server
//      per client, the controller's PUTs and its rest_client metrics, the
//      workqueue metrics and the live queues; recorded times are in order,
//      pod IPs unique.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/pipeline.h"
#include "sim/time.h"

namespace epsim::app {

struct InvariantOptions {
  // The stated bound of (a): a change this close to the end may still be on
  // its way. Outside a backlog a change crosses the pipeline in seconds
  // (watch delays, client buckets, ingress-nginx's 0.3/s sync limit, the
  // workers' 1 s pickup, a legacy reload's worker-shutdown-timeout of 240 s).
  sim::Duration in_flight = sim::Duration::minutes(10);
  // (b): an upper bound on the events the run may take; 0 = only the
  // scenario's maxEvents.
  std::uint64_t max_events = 0;
  // Each kind of violation lists at most this many messages, then one line
  // with the number left out.
  std::size_t max_messages_per_kind = 20;
};

// What the check looked at, so a test can tell that it checked something.
struct InvariantStats {
  std::uint64_t pod_changes = 0;      // (a) changes examined
  std::uint64_t reached = 0;          // followed to every nginx worker
  std::uint64_t superseded = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t backends_converged = 0;  // (a) backends whose final routing was compared
  std::uint64_t counters_compared = 0;   // (c)
};

// Checks a pipeline after run(); returns the violations, empty when all hold.
std::vector<std::string> check_invariants(const Pipeline& pipeline, const InvariantOptions& options = {},
                                          InvariantStats* stats = nullptr);

}  // namespace epsim::app
