#include "app/kubernetes_names.h"

#include <fmt/format.h>

#include "app/input_error.h"
#include "app/yaml_input.h"

namespace epsim::app {

namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

constexpr const char* kLabelRule =
    "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters "
    "(a DNS-1123 label, as Kubernetes requires)";

}  // namespace

bool is_dns1123_label(std::string_view s) {
  if (s.empty() || s.size() > kMaxLabelLength) return false;
  for (char c : s) {
    if (!lower_alnum(c) && c != '-') return false;
  }
  return lower_alnum(s.front()) && lower_alnum(s.back());
}

std::string read_dns1123_label(const YAML::Node& node, const std::string& file, const std::string& key) {
  std::string s = read_string(node, file, key);
  if (!is_dns1123_label(s)) {
    throw InputError(fmt::format("{}: {} \"{}\" is not a valid name: {}", where(file, node), key, visible(s), kLabelRule));
  }
  return s;
}

void check_service_name_prefix(const YAML::Node& node, const std::string& file, const std::string& prefix,
                               std::size_t digits) {
  bool ok = !prefix.empty() && prefix.front() >= 'a' && prefix.front() <= 'z' && prefix.size() + digits <= kMaxLabelLength;
  for (char c : prefix) ok = ok && (lower_alnum(c) || c == '-');
  if (!ok) {
    throw InputError(fmt::format(
        "{}: namePrefix \"{}\" does not make valid Service names (\"{}{}\"): a Service name is a lowercase letter, "
        "then lowercase letters, digits and '-', at most 63 characters with its {}-digit number (a DNS-1035 label, as "
        "Kubernetes requires)",
        where(file, node), visible(prefix), visible(prefix), std::string(digits - 1, '0') + "1", digits));
  }
}

std::string read_text(const YAML::Node& node, const std::string& file, const std::string& key, bool multiline) {
  std::string s = read_string(node, file, key);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (multiline && (s[i] == '\n' || s[i] == '\t')) continue;
    if (control_character_at(s, i) != 0) {
      throw InputError(fmt::format("{}: {} holds a control character (\"{}\"): {}", where(file, node), key, visible(s),
                                   multiline ? "only tab and newline are allowed" : "write plain text"));
    }
  }
  return s;
}

}  // namespace epsim::app
