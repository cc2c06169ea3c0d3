#include "app/service_names.h"

#include <fmt/format.h>

#include <algorithm>

#include "app/input_error.h"

namespace epsim::app {

namespace {

// An index is written with at least five digits, zero-padded ("{:05d}").
constexpr std::size_t kMinDigits = 5;
constexpr std::uint64_t kPadded = 100'000;  // 10^kMinDigits

// `digits` as a number, when it is 1 to 10 decimal digits.
std::optional<std::uint64_t> parse_digits(std::string_view digits) {
  if (digits.empty() || digits.size() > 10) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

}  // namespace

ServiceNames::ServiceNames(const ClusterSpec& spec) {
  for (const ServiceGroupSpec& g : spec.services) {
    Group group{fmt::format("{}/{}", g.namespace_name, g.name_prefix), static_cast<models::ServiceId>(size_), g.count};
    std::optional<std::uint32_t> shared;
    for (const Group& earlier : groups_) {
      const auto i = first_shared_index(earlier, group);
      if (i && (!shared || *i < *shared)) shared = i;
    }
    if (shared) {
      throw InputError(fmt::format("{}: service {}{:05d} is defined twice in cluster {}", g.origin, group.prefix,
                                   *shared, spec.name));
    }
    size_ += g.count;
    groups_.push_back(std::move(group));
  }
}

std::string ServiceNames::name(models::ServiceId id) const {
  const auto after = std::upper_bound(groups_.begin(), groups_.end(), id,
                                      [](models::ServiceId v, const Group& g) { return v < g.first; });
  const Group& g = *std::prev(after);
  return fmt::format("{}{:05d}", g.prefix, id - g.first + 1);
}

std::optional<models::ServiceId> ServiceNames::find(std::string_view name) const {
  for (const Group& g : groups_) {
    if (const auto i = index_in(g, name)) return g.first + (*i - 1);
  }
  return std::nullopt;
}

std::optional<std::uint32_t> ServiceNames::index_in(const Group& g, std::string_view name) {
  if (!name.starts_with(g.prefix)) return std::nullopt;
  const std::string_view digits = name.substr(g.prefix.size());
  // Only the canonical spelling: five digits, or more without a leading zero.
  if (digits.size() < kMinDigits || (digits.size() > kMinDigits && digits.front() == '0')) return std::nullopt;
  const auto index = parse_digits(digits);
  if (!index || *index < 1 || *index > g.count) return std::nullopt;
  return static_cast<std::uint32_t>(*index);
}

// Two groups share names only when one prefix starts the other. Equal
// prefixes share index 1 first. When `later`'s prefix is `earlier`'s plus
// digits s, index i of `later` is index s·10^5 + i of `earlier`, so 1 is the
// first candidate. When `earlier`'s prefix is `later`'s plus digits s, index
// s·10^5 + 1 of `later` is `earlier`'s index 1, and smaller indexes of
// `later` spell names no index of `earlier` has. Each candidate is checked by
// parsing, so a candidate that does not apply is just not found.
std::optional<std::uint32_t> ServiceNames::first_shared_index(const Group& earlier, const Group& later) {
  std::vector<std::uint64_t> candidates{1};
  if (earlier.prefix.size() > later.prefix.size() && earlier.prefix.starts_with(later.prefix)) {
    if (const auto s = parse_digits(std::string_view(earlier.prefix).substr(later.prefix.size()))) {
      candidates.push_back(*s * kPadded + 1);
    }
  }
  for (const std::uint64_t i : candidates) {
    if (i > later.count) continue;
    if (index_in(earlier, fmt::format("{}{:05d}", later.prefix, i))) return static_cast<std::uint32_t>(i);
  }
  return std::nullopt;
}

}  // namespace epsim::app
