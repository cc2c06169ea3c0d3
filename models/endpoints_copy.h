// The write that copies an endpoint list downstream, shared by the
// multi-cluster sync component and EndpointSlice mirroring: make the target's
// object carry the source's addresses, or delete it when the source is gone.
#pragma once

#include <optional>

#include "models/client_worker_pool.h"

namespace epsim::models {

// The write that makes `existing` (the target's cached copy, or null) carry
// the addresses of `source` (or null: delete), as key `key`; nothing when
// `skip_if_equal` and they already match.
std::optional<ClientWrite> copy_addresses(Key key, const Endpoints* source, const Endpoints* existing,
                                          bool skip_if_equal);

}  // namespace epsim::models
