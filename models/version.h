// The one parser of release numbers ("1.17.3", "v1.17.3", "1.17"): the
// Kubernetes version presets (controller_switches.h) and the ingress-nginx
// version traits read versions through it. Digits only, two or three parts,
// nothing after them (no sign, space or suffix).
#pragma once

#include <optional>
#include <string_view>

namespace epsim::models {

struct ReleaseVersion {
  int major = 0, minor = 0, patch = 0;  // patch 0 when the text has two parts
};

// `text` with an optional leading 'v'; nullopt when it is not MAJOR.MINOR or
// MAJOR.MINOR.PATCH of decimal numbers below 10^9.
std::optional<ReleaseVersion> parse_release_version(std::string_view text);

}  // namespace epsim::models
