// ServiceNames against the plain spelling it replaces: every name written
// out with fmt ("<namespace>/<namePrefix><index:05d>") into a std::set, the
// first repeated one being the error, exactly as the scenario defines them.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/input_error.h"
#include "app/service_names.h"

namespace {

using epsim::app::ClusterSpec;
using epsim::app::ServiceNames;

struct Group {
  std::string prefix;
  std::uint32_t count;
};

ClusterSpec cluster(const std::vector<Group>& groups) {
  ClusterSpec spec;
  spec.name = "business";
  for (std::size_t i = 0; i < groups.size(); ++i) {
    epsim::app::ServiceGroupSpec g;
    g.namespace_name = "default";
    g.name_prefix = groups[i].prefix;
    g.count = groups[i].count;
    g.origin = fmt::format("groups[{}]", i);
    spec.services.push_back(g);
  }
  return spec;
}

std::vector<std::string> spelled_out(const ClusterSpec& spec) {
  std::vector<std::string> names;
  for (const auto& g : spec.services) {
    for (std::uint32_t i = 1; i <= g.count; ++i) names.push_back(fmt::format("default/{}{:05d}", g.name_prefix, i));
  }
  return names;
}

// The message of the first name defined twice, in definition order.
std::optional<std::string> first_duplicate(const ClusterSpec& spec) {
  std::set<std::string> seen;
  for (const auto& g : spec.services) {
    for (std::uint32_t i = 1; i <= g.count; ++i) {
      const std::string name = fmt::format("default/{}{:05d}", g.name_prefix, i);
      if (!seen.insert(name).second) {
        return fmt::format("{}: service {} is defined twice in cluster {}", g.origin, name, spec.name);
      }
    }
  }
  return std::nullopt;
}

// `clash`: whether the groups, spelled out, repeat a name.
void check_like_spelled_out(const std::vector<Group>& groups, bool clash) {
  const ClusterSpec spec = cluster(groups);
  const std::optional<std::string> duplicate = first_duplicate(spec);
  REQUIRE(duplicate.has_value() == clash);
  if (duplicate) {
    CHECK_THROWS_WITH_AS(ServiceNames{spec}, duplicate->c_str(), epsim::app::InputError);
    return;
  }
  const ServiceNames table(spec);
  const std::vector<std::string> names = spelled_out(spec);
  REQUIRE(table.size() == names.size());
  for (std::size_t id = 0; id < names.size(); ++id) {
    const auto service = static_cast<epsim::models::ServiceId>(id);
    REQUIRE(table.name(service) == names[id]);
    REQUIRE(table.find(names[id]) == service);
  }
}

}  // namespace

TEST_CASE("service names: name and find invert each other over several groups") {
  check_like_spelled_out({{"web-", 7}, {"api-", 3}, {"web-a", 2}}, false);
  const ServiceNames table(cluster({{"web-", 7}, {"api-", 3}}));
  CHECK(table.find(table.name(8)) == 8u);
  CHECK(table.name(*table.find("default/api-00002")) == "default/api-00002");
}

TEST_CASE("service names: only the spelling the scenario produces is found") {
  const ServiceNames table(cluster({{"web-", 120'000}}));
  CHECK(table.find("default/web-00001") == 0u);
  CHECK(table.find("default/web-100000") == 99'999u);   // six digits once the index needs them
  CHECK_FALSE(table.find("default/web-1"));             // fewer than five digits
  CHECK_FALSE(table.find("default/web-000001"));        // six digits with a leading zero
  CHECK_FALSE(table.find("default/web-00000"));         // indexes start at 1
  CHECK_FALSE(table.find("default/web-120001"));        // beyond the count
  CHECK_FALSE(table.find("other/web-00001"));           // another namespace
  CHECK_FALSE(table.find("default/web-0000x"));
  CHECK_FALSE(table.find("default/web-99999999999"));   // does not fit an index
}

TEST_CASE("service names: a group defined twice is reported at its first shared name") {
  check_like_spelled_out({{"web-", 3}, {"api-", 2}, {"web-", 5}}, true);
}

TEST_CASE("service names: prefixes that differ by digits share names only where the indexes reach") {
  // "web-1" + "00001" is "web-100001": index 100001 of "web-".
  check_like_spelled_out({{"web-", 100'002}, {"web-1", 3}}, true);
  check_like_spelled_out({{"web-1", 3}, {"web-", 100'003}}, true);
  check_like_spelled_out({{"web-", 99'999}, {"web-1", 5}}, false);   // "web-" stops below 100001
  check_like_spelled_out({{"web-1", 3}, {"web-", 100'000}}, false);
  check_like_spelled_out({{"web-0", 3}, {"web-", 100'003}}, false);  // "web-000001" is no index of "web-"
}
