#include "app/observations.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include "app/input_error.h"
#include "app/input_file.h"
#include "app/measures.h"
#include "app/number_text.h"
#include "app/set_assignment.h"
#include "app/sweep.h"
#include "app/yaml_input.h"

namespace epsim::app {

namespace {

// A measured value without a sigma is taken as known to 5%.
constexpr double kDefaultRelativeSigma = 0.05;

std::string read_file_text(const std::string& path, const std::string& what) {
  std::string reason;
  std::optional<std::string> text = read_input_file(path, reason);
  if (!text) throw InputError(fmt::format("{}: cannot read {}: {}", path, what, reason));
  return std::move(*text);
}

// Seconds since the Unix epoch of "2020-09-01T17:20:00Z", "2020-09-01 17:20:00",
// with optional fractional seconds; the zone is ignored.
std::optional<double> parse_timestamp(const std::string& s) {
  std::tm tm{};
  for (const char* format : {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"}) {
    std::istringstream in(s);
    in >> std::get_time(&tm, format);
    if (in.fail()) continue;
    double fraction = 0;
    if (in.peek() == '.') {
      std::string digits;
      in.get();
      while (std::isdigit(in.peek()) != 0) digits += static_cast<char>(in.get());
      if (!digits.empty()) fraction = std::stod("0." + digits);
    }
    return static_cast<double>(timegm(&tm)) + fraction;
  }
  return std::nullopt;
}

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return std::isspace(c) == 0 && c != '"'; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// At least two samples and a storm in them; the default sigma.
DepthSeries checked_depth(DepthSeries d) {
  if (d.time_s.size() < 2) throw InputError(fmt::format("{}: needs at least two samples", d.file));
  const double peak = *std::max_element(d.depth.begin(), d.depth.end());
  if (peak <= 0) throw InputError(fmt::format("{}: the depth is 0 throughout: there is no storm to match", d.file));
  d.sigma = kDefaultRelativeSigma * peak;
  return d;
}

MeasuredValue read_measured(const std::string& measure, const YAML::Node& node, const std::string& file) {
  MeasuredValue m;
  m.measure = measure;
  if (node.IsMap()) {
    bool has_value = false;
    read_map(node, file, "measured." + measure, {"value", "sigma"}, [&](const std::string& key, const YAML::Node& v) {
      if (key == "value") {
        m.value = read_number(v, file, measure + ".value", -1e15, 1e15);
        has_value = true;
      } else {
        m.sigma = read_number(v, file, measure + ".sigma", 0, 1e15, true);
      }
    });
    if (!has_value) throw InputError(fmt::format("{}: {} needs a value", where(file, node), measure));
  } else {
    m.value = read_number(node, file, measure, -1e15, 1e15);
  }
  if (m.sigma == 0) m.sigma = m.value == 0 ? 1.0 : kDefaultRelativeSigma * std::abs(m.value);
  return m;
}

Observation read_observation(const YAML::Node& node, const std::string& file, const std::string& dir) {
  Observation o;
  o.origin = where(file, node);
  if (!node.IsMap()) throw InputError(fmt::format("{}: an observation must be a mapping (name, flags, measured, …)", o.origin));
  read_map(node, file, "observation", {"name", "description", "flags", "set", "measured", "workqueueDepth"},
           [&](const std::string& key, const YAML::Node& v) {
             if (key == "name") {
               o.name = read_string(v, file, key);
             } else if (key == "description") {
               o.description = read_string(v, file, key);
             } else if (key == "flags") {
               if (!v.IsMap()) {
                 throw InputError(fmt::format("{}: flags must map flags of epsim run to values, e.g. "
                                              "{{kube-api-qps: 100}}",
                                              where(file, v)));
               }
               for (const auto& entry : v) {
                 std::string flag = entry.first.as<std::string>();
                 if (flag.rfind("--", 0) == 0) flag.erase(0, 2);
                 if (!is_run_flag(flag)) {
                   const std::string near = closest_key(flag, override_flag_names());
                   throw InputError(fmt::format("{}: \"{}\" is not a flag of epsim run{}", where(file, entry.first),
                                                flag, near.empty() ? "" : fmt::format(" (did you mean {}?)", near)));
                 }
                 o.flags.emplace_back(flag, read_string(entry.second, file, flag));
               }
             } else if (key == "set") {
               for (const auto& item : read_list(v, file, key)) {
                 const std::string assignment = read_string(item, file, key);
                 try {
                   parse_set_assignment(assignment);
                 } catch (const InputError& e) {
                   throw InputError(fmt::format("{}: {}", where(file, item), e.what()));
                 }
                 o.sets.push_back(assignment);
               }
             } else if (key == "measured") {
               if (!v.IsMap()) {
                 throw InputError(fmt::format("{}: measured must map measures to values, e.g. {{storm_s: 648}}",
                                              where(file, v)));
               }
               const auto names = measure_names();
               for (const auto& entry : v) {
                 const std::string measure = entry.first.as<std::string>();
                 if (std::find(names.begin(), names.end(), measure) == names.end()) {
                   const std::string near = closest_key(measure, names);
                   throw InputError(fmt::format("{}: unknown measure \"{}\"{} (docs/sweep.md lists them)",
                                                where(file, entry.first), measure,
                                                near.empty() ? "" : fmt::format(" (did you mean {}?)", near)));
                 }
                 o.measured.push_back(read_measured(measure, entry.second, file));
               }
             } else {
               DepthSeries d;
               std::string csv;
               read_map(v, file, "workqueueDepth", {"file", "sigma", "cluster"},
                        [&](const std::string& k, const YAML::Node& dv) {
                          if (k == "file") {
                            csv = read_string(dv, file, k);
                          } else if (k == "sigma") {
                            d.sigma = read_number(dv, file, k, 0, 1e12, true);
                          } else {
                            d.cluster = read_string(dv, file, k);
                          }
                        });
               if (csv.empty()) throw InputError(fmt::format("{}: workqueueDepth needs file: a CSV of time,depth", where(file, v)));
               const std::string resolved = dir.empty() ? csv : (std::filesystem::path(dir) / csv).string();
               const double sigma = d.sigma;
               const std::string cluster = d.cluster;
               d = read_depth_file(resolved, resolved);
               d.cluster = cluster;
               if (sigma > 0) d.sigma = sigma;
               o.depth = d;
             }
           });
  if (o.name.empty()) throw InputError(fmt::format("{}: an observation needs a name", o.origin));
  if (o.measured.empty() && !o.depth) {
    throw InputError(fmt::format("{}: observation {} measures nothing: give measured (e.g. storm_s: 648) or "
                                 "workqueueDepth",
                                 o.origin, o.name));
  }
  return o;
}

}  // namespace

DepthSeries read_depth_file(const std::string& path, const std::string& shown_path) {
  const std::string text = read_file_text(path, "the workqueue depth series");
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') return read_depth_prometheus_json(path, shown_path);
  return read_depth_csv(path, shown_path);
}

DepthSeries read_depth_prometheus_json(const std::string& path, const std::string& shown_path) {
  const std::string text = read_file_text(path, "the workqueue depth series");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(fmt::format("{}: not valid JSON: {}", shown_path, e.what()));
  }
  const auto fail = [&](const std::string& what) {
    return InputError(fmt::format("{}: {} (expected the answer of Prometheus' /api/v1/query_range)", shown_path, what));
  };
  if (!j.is_object() || j.value("status", "") != "success") throw fail("no \"status\": \"success\"");
  const auto data = j.find("data");
  if (data == j.end() || !data->is_object() || data->value("resultType", "") != "matrix") {
    throw fail("no data of resultType \"matrix\"");
  }
  const auto& result = (*data)["result"];
  if (!result.is_array() || result.empty()) throw fail("the query matched no series");
  if (result.size() > 1) {
    throw InputError(fmt::format("{}: the query matched {} series; query one, e.g. sum(workqueue_depth{{name=\"endpoint\"}})",
                                 shown_path, result.size()));
  }
  DepthSeries d;
  d.file = shown_path;
  const auto& values = result[0]["values"];
  if (!values.is_array()) throw fail("the series has no values");
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto& v = values[i];
    std::optional<double> time, depth;
    if (v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_string()) {
      time = v[0].get<double>();
      depth = parse_finite_number(v[1].get<std::string>());
    }
    if (!time || !depth || *depth < 0) {
      throw InputError(fmt::format("{}: value {} is not [unix seconds, \"depth ≥ 0\"]: {}", shown_path, i + 1,
                                   v.dump()));
    }
    if (!d.time_s.empty() && *time <= d.time_s.back()) {
      throw InputError(fmt::format("{}: value {}: times must increase", shown_path, i + 1));
    }
    d.time_s.push_back(*time);
    d.depth.push_back(*depth);
  }
  return checked_depth(std::move(d));
}

DepthSeries read_depth_csv(const std::string& path, const std::string& shown_path) {
  const std::string text = read_file_text(path, "the workqueue depth CSV");
  DepthSeries d;
  d.file = shown_path;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1 || trim(line).empty()) continue;  // the header
    const std::size_t comma = line.find(',');
    if (comma == std::string::npos) {
      throw InputError(fmt::format("{}:{}: expected time,depth", shown_path, number));
    }
    const std::string t = trim(line.substr(0, comma));
    std::string v = trim(line.substr(comma + 1));
    if (const std::size_t more = v.find(','); more != std::string::npos) v = trim(v.substr(0, more));
    std::optional<double> time = parse_finite_number(t);
    if (!time) time = parse_timestamp(t);
    const std::optional<double> depth = parse_finite_number(v);
    if (!time) throw InputError(fmt::format("{}:{}: \"{}\" is neither seconds nor a timestamp", shown_path, number, t));
    if (!depth || *depth < 0) {
      throw InputError(fmt::format("{}:{}: the depth \"{}\" must be a number ≥ 0", shown_path, number, v));
    }
    if (!d.time_s.empty() && *time <= d.time_s.back()) {
      throw InputError(fmt::format("{}:{}: times must increase", shown_path, number));
    }
    d.time_s.push_back(*time);
    d.depth.push_back(*depth);
  }
  return checked_depth(std::move(d));
}

ObservationFile load_observations(const std::string& path) {
  ObservationFile f;
  f.path = path;
  const std::string text = read_file_text(path, "the observations");
  YAML::Node root;
  try {
    check_yaml_text(text, path, "an observations file");
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw InputError(fmt::format("{}: YAML syntax error: {}", where(path, e.mark), e.msg));
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}: YAML error: {}", path, e.what()));
  }
  check_yaml_size(root, path);
  if (!root.IsMap()) throw InputError(fmt::format("{}: expected a mapping with observations: [...]", path));
  const std::string dir = std::filesystem::path(path).parent_path().string();
  read_map(root, path, "observations file", {"description", "observations"},
           [&](const std::string& key, const YAML::Node& v) {
             if (key == "description") {
               f.description = read_string(v, path, key);
               return;
             }
             if (!v.IsSequence()) throw InputError(fmt::format("{}: observations must be a list", where(path, v)));
             std::set<std::string> names;
             for (const auto& item : v) {
               Observation o = read_observation(item, path, dir);
               if (!names.insert(o.name).second) {
                 throw InputError(fmt::format("{}: a second observation named {}", o.origin, o.name));
               }
               f.observations.push_back(std::move(o));
             }
           });
  if (f.observations.empty()) throw InputError(fmt::format("{}: no observations", path));
  return f;
}

}  // namespace epsim::app
