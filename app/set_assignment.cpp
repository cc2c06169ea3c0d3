#include "app/set_assignment.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "app/input_error.h"
#include "app/scenario_schema.h"

namespace epsim::app {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

constexpr const char* kExample = "clusters[idc].controllerManager.kubeAPIQPS=100";

std::vector<SetAssignment::Step> split_path(const std::string& text, const std::string& path) {
  std::vector<SetAssignment::Step> steps;
  SetAssignment::Step step;
  auto bad = [&](const std::string& why) {
    return InputError(fmt::format("--set {}: {} (write PATH=VALUE, e.g. {})", text, why, kExample));
  };
  bool after_selector = false;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '.') {
      if (step.key.empty()) throw bad("empty key in the path");
      steps.push_back(step);
      step = {};
      after_selector = false;
    } else if (c == '[') {
      const std::size_t close = path.find(']', i);
      if (step.key.empty() || close == std::string::npos || close == i + 1) throw bad("a selector is KEY[NAME], KEY[INDEX] or KEY[*]");
      step.select = true;
      step.selector = path.substr(i + 1, close - i - 1);
      i = close;
      after_selector = true;
    } else if (after_selector) {
      throw bad("a selector ends a key; write a dot before the next key");
    } else {
      step.key += c;
    }
  }
  if (step.key.empty()) throw bad(path.empty() ? "no path" : "empty key in the path");
  steps.push_back(step);
  return steps;
}

bool is_index(const std::string& s) {
  return !s.empty() && s.size() <= 9 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

class Applier {
 public:
  Applier(const SetAssignment& a, CommandLineOrigins& origins)
      : a_(a), origins_(origins), label_("--set " + a.text) {
    try {
      const YamlScan scan = scan_yaml(a.value);
      if (scan.too_many_nodes) {
        throw InputError(fmt::format("{}: the value holds more than {} YAML nodes: refused", label_, kMaxYamlNodes));
      }
      if (scan.second_document) {
        throw InputError(fmt::format("{}: the value holds a second YAML document (---): one value per --set", label_));
      }
      value_ = YAML::Load(a.value);
    } catch (const YAML::Exception& e) {
      throw InputError(fmt::format("{}: the value is not valid YAML: {}", label_, e.msg));
    }
    check_yaml_size(value_, label_);  // before YAML::Clone expands its aliases
  }

  // PATH=null (or ~): the key is removed, so its default applies (a pinned
  // resyncPeriod goes back to being sampled).
  bool removes() const { return value_.IsNull(); }

  // Assigns from step `k` on, inside the mapping `node`.
  void assign(YAML::Node node, std::size_t k, const std::string& shown) {
    const SetAssignment::Step& step = a_.path[k];
    const bool last = k + 1 == a_.path.size();
    const std::string here = shown.empty() ? step.key : shown + "." + step.key;
    if (!step.select) {
      if (last) {
        if (removes()) {
          node.remove(step.key);
          return;
        }
        YAML::Node v = YAML::Clone(value_);
        node[step.key] = v;
        origins_.add(v, label_);
        return;
      }
      const YAML::Node existing = std::as_const(node)[step.key];  // invalid when missing: never assign to it
      if (removes() && (!existing.IsDefined() || !existing.IsMap())) return;  // nothing there to remove
      YAML::Node child(YAML::NodeType::Map);
      if (!existing.IsDefined() || existing.IsNull()) {
        node[step.key] = child;
        origins_.add(child, label_);
      } else if (existing.IsMap()) {
        child = existing;
      } else {
        throw InputError(fmt::format("{}: {} is not a mapping here (its value is {}), so {} cannot be set inside it",
                                     label_, here, existing.IsScalar() ? "\"" + existing.Scalar() + "\"" : "a list",
                                     a_.path[k + 1].key));
      }
      assign(child, k + 1, here);
      return;
    }
    const YAML::Node existing = std::as_const(node)[step.key];  // invalid when missing: never assign to it
    if (!existing.IsDefined() || existing.IsNull()) {
      throw InputError(fmt::format("{}: {} has no entries to select from", label_, here));
    }
    YAML::Node list(YAML::NodeType::Sequence);
    if (existing.IsMap()) {  // a single entry written without a list (read_list accepts it)
      list.push_back(existing);
      node[step.key] = list;
    } else if (existing.IsSequence()) {
      list = existing;
    } else {
      throw InputError(fmt::format("{}: {} is not a list", label_, here));
    }
    std::vector<std::size_t> picked;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const YAML::Node entry_node = std::as_const(list)[i];
      const YAML::Node name = entry_node.IsMap() ? entry_node["name"] : YAML::Node();
      const std::string entry_name = name.IsDefined() && name.IsScalar() ? name.Scalar() : "";
      if (!entry_name.empty()) names.push_back(entry_name);
      if (step.selector == "*" || (is_index(step.selector) && std::stoul(step.selector) == i) ||
          (!is_index(step.selector) && entry_name == step.selector)) {
        picked.push_back(i);
      }
    }
    if (picked.empty()) {
      if (is_index(step.selector)) {
        throw InputError(fmt::format("{}: {} has {} entries; [{}] does not exist (indexes start at 0)", label_, here,
                                     list.size(), step.selector));
      }
      if (step.selector == "*") throw InputError(fmt::format("{}: {} is empty", label_, here));
      throw InputError(fmt::format("{}: no entry of {} is named \"{}\"{}", label_, here, step.selector,
                                   names.empty() ? std::string(" (select its entries by index)")
                                                 : fmt::format(" (names: {})", join(names))));
    }
    if (last && removes()) {
      throw InputError(fmt::format("{}: entries of {} cannot be removed with null; remove a key inside one "
                                   "({}[...].KEY=null)",
                                   label_, here, step.key));
    }
    for (std::size_t i : picked) {
      const std::string entry = fmt::format("{}[{}]", here, i);
      if (last) {
        YAML::Node v = YAML::Clone(value_);
        list[i] = v;
        origins_.add(v, label_);
      } else if (!list[i].IsMap()) {
        throw InputError(fmt::format("{}: {} is not a mapping", label_, entry));
      } else {
        assign(list[i], k + 1, entry);
      }
    }
  }

 private:
  const SetAssignment& a_;
  CommandLineOrigins& origins_;
  std::string label_;
  YAML::Node value_;
};

}  // namespace

SetAssignment parse_set_assignment(const std::string& text) {
  SetAssignment a;
  a.text = text;
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos) {
    throw InputError(fmt::format("--set {}: expected PATH=VALUE, e.g. {}", text, kExample));
  }
  a.value = text.substr(eq + 1);
  a.path = split_path(text, text.substr(0, eq));
  // Check the path against the schema, level by level.
  std::string level;
  for (std::size_t k = 0; k < a.path.size(); ++k) {
    const auto& step = a.path[k];
    const std::vector<std::string>& keys = *schema_keys(level);
    const std::string where_text = level.empty() ? "at the top level" : "in " + level;
    if (std::find(keys.begin(), keys.end(), step.key) == keys.end()) {
      const std::string hint = closest_key(step.key, keys);
      std::string also;
      if (level.empty() && schema_keys("clusters[]") != nullptr) {
        const auto& cluster_keys = *schema_keys("clusters[]");
        if (std::find(cluster_keys.begin(), cluster_keys.end(), step.key) != cluster_keys.end()) {
          also = fmt::format("; cluster keys go under clusters[NAME].{0} or clusterDefaults.{0}", step.key);
        }
      }
      throw InputError(fmt::format("--set {}: unknown key \"{}\" {}{}{}", text, step.key, where_text,
                                   hint.empty() ? fmt::format(" (valid keys: {})", join(keys))
                                                : fmt::format("; did you mean \"{}\"?", hint),
                                   also));
    }
    const std::string path = level.empty() ? step.key : level + "." + step.key;
    if (path == "include") {
      throw InputError(fmt::format("--set {}: include cannot be set from the command line (includes are read "
                                   "before --set applies); write a scenario file that includes both", text));
    }
    const bool last = k + 1 == a.path.size();
    if (step.select && !schema_entry_list(path)) {
      throw InputError(fmt::format("--set {}: {} is not a list of entries; drop the [{}]", text, step.key,
                                   step.selector));
    }
    if (!last && !step.select && schema_entry_list(path)) {
      throw InputError(fmt::format("--set {}: {} is a list: pick entries with {}[NAME], {}[INDEX] or {}[*]", text,
                                   step.key, step.key, step.key, step.key));
    }
    if (step.select && step.selector != "*" && !is_index(step.selector) && path != "clusters") {
      throw InputError(fmt::format("--set {}: {} entries have no name; select them by index or with [*]", text,
                                   step.key));
    }
    if (last) break;
    level = schema_child_level(path);
    if (level.empty()) {
      throw InputError(fmt::format("--set {}: {} holds a value, not keys (nothing can be set inside it)", text,
                                   step.key));
    }
  }
  return a;
}

void apply_set_assignment(const SetAssignment& assignment, std::vector<YAML::Node>& roots,
                          CommandLineOrigins& origins) {
  if (roots.empty()) throw std::logic_error("apply_set_assignment: no scenario files");
  Applier applier(assignment, origins);
  std::size_t target = roots.size() - 1;  // the scenario file: it overrides its includes
  if (assignment.path.front().key == "clusters") {
    // The clusters list is taken whole from the last file that has one.
    bool found = false;
    for (std::size_t i = roots.size(); i-- > 0;) {
      if (std::as_const(roots[i])["clusters"]) {
        target = i;
        found = true;
        break;
      }
    }
    if (!found && assignment.path.front().select) {
      throw InputError(fmt::format("--set {}: the scenario has no clusters list", assignment.text));
    }
  }
  if (applier.removes() && assignment.path.front().key != "clusters") {
    // A removed key must not come back from an include: remove it everywhere.
    for (auto& root : roots) applier.assign(root, 0, "");
    return;
  }
  applier.assign(roots[target], 0, "");
}

}  // namespace epsim::app
