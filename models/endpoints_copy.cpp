#include "models/endpoints_copy.h"

namespace epsim::models {

std::optional<ClientWrite> copy_addresses(Key key, const Endpoints* source, const Endpoints* existing,
                                          bool skip_if_equal) {
  ClientWrite w;
  if (source == nullptr) {
    if (existing == nullptr) return std::nullopt;
    w.verb = Verb::remove;
    w.object = *existing;
    return w;
  }
  if (existing != nullptr && skip_if_equal && existing->addresses == source->addresses &&
      existing->not_ready_addresses == source->not_ready_addresses) {
    return std::nullopt;
  }
  w.verb = existing == nullptr ? Verb::create : Verb::update;
  w.precondition = existing == nullptr ? 0 : existing->resource_version;
  w.object.service = key;
  w.object.addresses = source->addresses;
  w.object.not_ready_addresses = source->not_ready_addresses;
  return w;
}

}  // namespace epsim::models
