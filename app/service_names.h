// The Service names of one business cluster, by ServiceId. A service group
// names its Services `<namespace>/<namePrefix><index>`, the index from 1
// written with at least five digits (docs/scenario.md), so the table keeps
// one entry per group: name(id) formats on demand and find(name) parses,
// instead of a string and a map node per Service (issue 12: names interned
// once, hot paths by id).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/scenario.h"
#include "models/objects.h"

namespace epsim::app {

class ServiceNames {
 public:
  ServiceNames() = default;
  // The groups of `spec` in order, ids from 0. Throws InputError when two
  // groups name the same Service ("service X is defined twice in cluster Y",
  // at the first such name in definition order).
  explicit ServiceNames(const ClusterSpec& spec);

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // `id` < size().
  std::string name(models::ServiceId id) const;
  std::string operator[](models::ServiceId id) const { return name(id); }
  std::optional<models::ServiceId> find(std::string_view name) const;

 private:
  struct Group {
    std::string prefix;  // "<namespace>/<namePrefix>"
    models::ServiceId first = 0;
    std::uint32_t count = 0;
  };
  // The 1-based index `name` has in `g`, if it is one of g's names.
  static std::optional<std::uint32_t> index_in(const Group& g, std::string_view name);
  // The smallest index of `later` whose name `earlier` also has.
  static std::optional<std::uint32_t> first_shared_index(const Group& earlier, const Group& later);

  std::vector<Group> groups_;
  std::size_t size_ = 0;
};

}  // namespace epsim::app
