// Names in a scenario are Kubernetes names, checked as the API server checks
// them (k8s.io/apimachinery pkg/util/validation: IsDNS1123Label,
// IsDNS1035Label), and free text holds no control characters: a name reaches
// terminals, SVG, DOT, CSV and JSON, where an escape sequence, a NUL or a
// quote would do harm (issue 16).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace epsim::app {

inline constexpr std::size_t kMaxLabelLength = 63;  // validation.DNS1123LabelMaxLength

// [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters: namespaces, clusters.
bool is_dns1123_label(std::string_view s);

// Each reads the scalar with read_string() and throws InputError at its
// position, quoting it with visible(), when it breaks the rule.
std::string read_dns1123_label(const YAML::Node& node, const std::string& file, const std::string& key);
// A Service name prefix: the names are PREFIX + a number of `digits` digits,
// which must be DNS-1035 labels (Service names, [a-z]([-a-z0-9]*[a-z0-9])?).
void check_service_name_prefix(const YAML::Node& node, const std::string& file, const std::string& prefix,
                               std::size_t digits);
// Free text: no control characters but, with `multiline`, tab and newline.
std::string read_text(const YAML::Node& node, const std::string& file, const std::string& key, bool multiline);

}  // namespace epsim::app
