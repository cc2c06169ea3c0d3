// The rules a whole scenario must keep beyond each key's own range
// (docs/scenario.md "Topology rules"): every ingress backend resolves to a
// business cluster through the sync component, which writes into the one
// access cluster; ingress-nginx >= 1.4 needs EndpointSlice mirroring there.
#pragma once

#include "app/scenario.h"

namespace epsim::app {

// Throws InputError naming the section (file:line:column) that breaks a rule.
void validate_topology(const Scenario& scenario);

}  // namespace epsim::app
