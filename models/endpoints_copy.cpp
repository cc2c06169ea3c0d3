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
  if (existing != nullptr && skip_if_equal && existing->subsets == source->subsets) {
    return std::nullopt;
  }
  w.verb = existing == nullptr ? Verb::create : Verb::update;
  w.precondition = existing == nullptr ? 0 : existing->resource_version;
  w.object.service = key;
  w.object.subsets = source->subsets;
  return w;
}

}  // namespace epsim::models
