// Strict reading of YAML scenario input: every error names file:line:column,
// unknown keys are rejected with the closest valid key suggested, numbers are
// range-checked and durations need units.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/time.h"

namespace epsim::app {

std::string where(const std::string& file, const YAML::Node& node);
std::string where(const std::string& file, const YAML::Mark& mark);

// Names nodes that came from the command line (`--set PATH=VALUE`) instead
// of a file: while an instance lives, where(file, node) of such a node (or
// of anything inside it) is its assignment, e.g. "--set duration=1x", not the
// file it was spliced into. One instance at a time per thread.
class CommandLineOrigins {
 public:
  CommandLineOrigins();
  ~CommandLineOrigins();
  CommandLineOrigins(const CommandLineOrigins&) = delete;
  CommandLineOrigins& operator=(const CommandLineOrigins&) = delete;
  // `node` and every node inside it are named `label`.
  void add(const YAML::Node& node, const std::string& label);

 private:
  std::vector<std::pair<YAML::Node, std::string>> nodes_;
  friend std::string where(const std::string& file, const YAML::Node& node);
};

// One pass over the events of `text`'s first document (no nodes are built):
// where a second document begins, if one does, and where the first passes
// kMaxYamlNodes nodes, if it does. Costs about one parse of the first
// document, and stops early on either.
struct YamlScan {
  std::optional<YAML::Mark> second_document;
  std::optional<YAML::Mark> too_many_nodes;
};
YamlScan scan_yaml(const std::string& text);
// scan_yaml() before YAML::Load: InputError for a second document or too many
// nodes, at their position in `file`; `what` names the input ("a scenario
// file").
void check_yaml_text(const std::string& text, const std::string& file, const std::string& what);

// The length of the control character (C0, DEL, or a UTF-8 C1 control
// U+0080–U+009F) at s[i], 0 when there is none.
std::size_t control_character_at(std::string_view s, std::size_t i);
// `s` with every control character shown as \xHH: what a message may quote
// of user input (no escape sequence reaches a terminal, no newline splits
// the one-line message).
std::string visible(std::string_view s);

// Nodes a YAML document has once its aliases are expanded, counted without
// expanding them (each distinct node once, by its position): an alias bomb of
// a few hundred bytes expands to billions of nodes, which a deep copy or a
// walk would build. Inputs above kMaxYamlNodes are refused; nesting deeper
// than kMaxYamlDepth too.
inline constexpr std::uint64_t kMaxYamlNodes = 2'000'000;
inline constexpr int kMaxYamlDepth = 1'000;
// Throws InputError("<where>: ...") when `root` breaks either limit;
// `where_text` names the input in the message.
void check_yaml_size(const YAML::Node& root, const std::string& where_text);

// The valid key closest to `key` (edit distance), or "" when none is close.
std::string closest_key(const std::string& key, const std::vector<std::string>& valid);

// Calls `handle(key, value)` for every entry of the mapping `node`; a key not
// in `valid` is an InputError with a suggestion. `context` names the mapping
// in messages ("cluster", "controllerManager", …).
void read_map(const YAML::Node& node, const std::string& file, const std::string& context,
              const std::vector<std::string>& valid,
              const std::function<void(const std::string& key, const YAML::Node& value)>& handle);

std::string read_string(const YAML::Node& node, const std::string& file, const std::string& key);
bool read_bool(const YAML::Node& node, const std::string& file, const std::string& key);
double read_number(const YAML::Node& node, const std::string& file, const std::string& key, double min,
                   double max, bool min_exclusive = false);
std::int64_t read_integer(const YAML::Node& node, const std::string& file, const std::string& key,
                          std::int64_t min, std::int64_t max);
sim::Duration read_duration(const YAML::Node& node, const std::string& file, const std::string& key,
                            sim::Duration min = sim::Duration::zero());
// A YAML sequence, or a single scalar read as a one-element sequence.
std::vector<YAML::Node> read_list(const YAML::Node& node, const std::string& file, const std::string& key);

}  // namespace epsim::app
