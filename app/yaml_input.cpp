#include "app/yaml_input.h"

#include <fmt/format.h>
#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>

#include <sstream>

#include <algorithm>
#include <map>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "app/input_error.h"

namespace epsim::app {

std::string where(const std::string& file, const YAML::Mark& mark) {
  if (mark.line < 0) return file;
  return fmt::format("{}:{}:{}", file, mark.line + 1, mark.column + 1);
}

namespace {
thread_local CommandLineOrigins* active_origins = nullptr;
}  // namespace

CommandLineOrigins::CommandLineOrigins() {
  if (active_origins != nullptr) throw std::logic_error("CommandLineOrigins is already active on this thread");
  active_origins = this;
}

CommandLineOrigins::~CommandLineOrigins() { active_origins = nullptr; }

void CommandLineOrigins::add(const YAML::Node& node, const std::string& label) {
  nodes_.emplace_back(node, label);
  if (node.IsMap()) {
    for (const auto& kv : node) {
      add(kv.first, label);
      add(kv.second, label);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) add(item, label);
  }
}

std::string where(const std::string& file, const YAML::Node& node) {
  if (active_origins != nullptr) {
    for (const auto& [n, label] : active_origins->nodes_) {
      if (node.IsDefined() && n.is(node)) return label;
    }
  }
  return where(file, node.Mark());
}

namespace {
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string describe(const YAML::Node& node) {
  if (node.IsScalar()) return "\"" + node.Scalar() + "\"";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}
}  // namespace

namespace {

// Counts the nodes of the first document (an alias counts once) and stops at
// the start of the second document or past kMaxYamlNodes nodes.
struct StopScan {
  YAML::Mark mark;
  bool second_document = false;
};
class ScanFirstDocument : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) throw StopScan{mark, true};
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override { node(mark); }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& mark) {
    if (++nodes_ > kMaxYamlNodes) throw StopScan{mark, false};
  }
  int documents_ = 0;
  std::uint64_t nodes_ = 0;
};

}  // namespace

YamlScan scan_yaml(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  ScanFirstDocument handler;
  YamlScan scan;
  try {
    while (parser.HandleNextDocument(handler)) {
    }
  } catch (const StopScan& stop) {
    (stop.second_document ? scan.second_document : scan.too_many_nodes) = stop.mark;
  }
  return scan;
}

void check_yaml_text(const std::string& text, const std::string& file, const std::string& what) {
  const YamlScan scan = scan_yaml(text);
  if (scan.too_many_nodes) {
    throw InputError(fmt::format("{}: {} holds more than {} YAML nodes: refused (split it, or write fewer entries)",
                                 where(file, *scan.too_many_nodes), what, kMaxYamlNodes));
  }
  if (scan.second_document) {
    throw InputError(fmt::format("{}: a second YAML document begins here: {} holds one document "
                                 "(remove the ---, or split the file)",
                                 where(file, *scan.second_document), what));
  }
}

std::string closest_key(const std::string& key, const std::vector<std::string>& valid) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(3, key.size() / 3) + 1;
  for (const std::string& v : valid) {
    const std::size_t d = edit_distance(key, v);
    if (d < best_distance) {
      best_distance = d;
      best = v;
    }
  }
  return best;
}

void read_map(const YAML::Node& node, const std::string& file, const std::string& context,
              const std::vector<std::string>& valid,
              const std::function<void(const std::string& key, const YAML::Node& value)>& handle) {
  if (!node.IsMap()) {
    throw InputError(fmt::format("{}: {} must be a mapping, got {}", where(file, node), context, describe(node)));
  }
  std::vector<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) throw InputError(fmt::format("{}: keys must be plain strings", where(file, kv.first)));
    const std::string key = kv.first.Scalar();
    if (std::find(valid.begin(), valid.end(), key) == valid.end()) {
      const std::string hint = closest_key(key, valid);
      std::string valid_list;
      for (const auto& v : valid) valid_list += (valid_list.empty() ? "" : ", ") + v;
      throw InputError(fmt::format("{}: unknown key \"{}\" in {}{}", where(file, kv.first), key, context,
                                   hint.empty() ? fmt::format(" (valid keys: {})", valid_list)
                                                : fmt::format("; did you mean \"{}\"?", hint)));
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      throw InputError(fmt::format("{}: duplicate key \"{}\" in {}", where(file, kv.first), key, context));
    }
    seen.push_back(key);
    handle(key, kv.second);
  }
}

namespace {

struct NodeCounter {
  // Expanded size of each distinct node already counted, by (position,
  // type): an alias is the anchored node itself, at its anchor's position.
  // Two nodes can share both (a mapping used as the first key of a
  // mapping); the parent is looked up before its child is counted and is
  // not looked up again, so the shared entry never stands for the other.
  std::map<std::pair<int, int>, std::uint64_t> sizes;
  std::string where_text;

  std::uint64_t count(const YAML::Node& node, int depth) {
    if (depth > kMaxYamlDepth) {
      throw InputError(fmt::format("{}: YAML nested deeper than {} levels", where_text, kMaxYamlDepth));
    }
    const YAML::Mark mark = node.Mark();
    const std::pair<int, int> id{mark.pos, static_cast<int>(node.Type())};
    if (mark.pos >= 0) {
      if (const auto it = sizes.find(id); it != sizes.end()) return it->second;
    }
    std::uint64_t total = 1;
    auto add = [&](std::uint64_t n) {
      total = std::min<std::uint64_t>(total + n, kMaxYamlNodes + 1);  // saturate: no overflow
    };
    if (node.IsSequence()) {
      for (const YAML::Node& child : node) add(count(child, depth + 1));
    } else if (node.IsMap()) {
      for (const auto& kv : node) {
        add(count(kv.first, depth + 1));
        add(count(kv.second, depth + 1));
      }
    }
    if (mark.pos >= 0) sizes.emplace(id, total);
    return total;
  }
};

}  // namespace

void check_yaml_size(const YAML::Node& root, const std::string& where_text) {
  NodeCounter counter;
  counter.where_text = where_text;
  if (counter.count(root, 0) > kMaxYamlNodes) {
    throw InputError(fmt::format("{}: the YAML expands to more than {} nodes through its aliases (& and *): refused",
                                 where_text, kMaxYamlNodes));
  }
}

std::size_t control_character_at(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x20 || c == 0x7F) return 1;
  if (c == 0xC2 && i + 1 < s.size()) {
    const auto d = static_cast<unsigned char>(s[i + 1]);
    if (d >= 0x80 && d <= 0x9F) return 2;
  }
  return 0;
}

std::string visible(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = control_character_at(s, i);
    if (n == 0) {
      out += s[i++];
      continue;
    }
    for (std::size_t k = 0; k < n; ++k) out += fmt::format("\\x{:02X}", static_cast<unsigned char>(s[i + k]));
    i += n;
  }
  return out;
}

std::string read_string(const YAML::Node& node, const std::string& file, const std::string& key) {
  if (!node.IsScalar()) {
    throw InputError(fmt::format("{}: {} must be a string, got {}", where(file, node), key, describe(node)));
  }
  return node.Scalar();
}

bool read_bool(const YAML::Node& node, const std::string& file, const std::string& key) {
  const std::string s = node.IsScalar() ? node.Scalar() : "";
  if (s == "true") return true;
  if (s == "false") return false;
  throw InputError(fmt::format("{}: {} must be true or false, got {}", where(file, node), key, describe(node)));
}

double read_number(const YAML::Node& node, const std::string& file, const std::string& key, double min,
                   double max, bool min_exclusive) {
  if (!node.IsScalar()) {
    throw InputError(fmt::format("{}: {} must be a number, got {}", where(file, node), key, describe(node)));
  }
  const std::string& s = node.Scalar();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) {
    throw InputError(fmt::format("{}: {} must be a number, got \"{}\"", where(file, node), key, s));
  }
  if (v < min || (min_exclusive && v == min) || v > max) {
    throw InputError(fmt::format("{}: {} = {} is out of range: must be {} {} and <= {}", where(file, node), key, s,
                                 min_exclusive ? ">" : ">=", min, max));
  }
  return v;
}

std::int64_t read_integer(const YAML::Node& node, const std::string& file, const std::string& key,
                          std::int64_t min, std::int64_t max) {
  if (!node.IsScalar()) {
    throw InputError(fmt::format("{}: {} must be an integer, got {}", where(file, node), key, describe(node)));
  }
  const std::string& s = node.Scalar();
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || end != s.c_str() + s.size()) {
    throw InputError(fmt::format("{}: {} must be an integer, got \"{}\"", where(file, node), key, s));
  }
  if (errno == ERANGE || v < min || v > max) {
    throw InputError(
        fmt::format("{}: {} = {} is out of range: must be between {} and {}", where(file, node), key, s, min, max));
  }
  return v;
}

sim::Duration read_duration(const YAML::Node& node, const std::string& file, const std::string& key,
                            sim::Duration min) {
  if (!node.IsScalar()) {
    throw InputError(fmt::format("{}: {} must be a duration such as \"30s\", got {}", where(file, node), key,
                                 describe(node)));
  }
  sim::Duration d;
  try {
    d = sim::parse_duration(node.Scalar());
  } catch (const sim::DurationParseError& e) {
    throw InputError(fmt::format("{}: {}: {}", where(file, node), key, e.what()));
  }
  if (d < min) {
    throw InputError(fmt::format("{}: {} = {} must be at least {}", where(file, node), key, node.Scalar(),
                                 sim::format_duration(min)));
  }
  return d;
}

std::vector<YAML::Node> read_list(const YAML::Node& node, const std::string& file, const std::string& key) {
  std::vector<YAML::Node> out;
  if (node.IsSequence()) {
    for (const auto& item : node) out.push_back(item);
  } else if (node.IsScalar() || node.IsMap()) {
    out.push_back(node);
  } else if (!node.IsNull()) {
    throw InputError(fmt::format("{}: {} must be a list", where(file, node), key));
  }
  return out;
}

}  // namespace epsim::app
