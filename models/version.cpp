#include "models/version.h"

namespace epsim::models {

std::optional<ReleaseVersion> parse_release_version(std::string_view text) {
  if (!text.empty() && text.front() == 'v') text.remove_prefix(1);
  int parts[3] = {0, 0, 0};
  int count = 0;
  while (true) {
    if (count == 3) return std::nullopt;  // a fourth part
    const std::size_t dot = text.find('.');
    const std::string_view part = text.substr(0, dot);
    if (part.empty() || part.size() > 9) return std::nullopt;
    int value = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    parts[count++] = value;
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  if (count < 2) return std::nullopt;
  return ReleaseVersion{parts[0], parts[1], parts[2]};
}

}  // namespace epsim::models
