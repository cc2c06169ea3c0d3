// One reader per section of a scenario file (docs/scenario.md), each a table
// of the keys it reads. read_section() holds every table to the schema
// (app/scenario_schema.cpp): a key the schema lists and no reader takes, or a
// reader of a key the schema does not list, is a logic error on the first
// load, so a listed key can never be accepted and then ignored
// (tests/app/scenario_keys_test.cpp loads every key).
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <vector>

#include "app/scenario.h"

namespace epsim::app {

struct FieldReader {
  const char* key;
  std::function<void(const std::string& key, const YAML::Node& value)> read;
};

// Reads the mapping `node` of schema level `level` (e.g. "clusters[].apiServer"),
// calling the reader of each key it holds; unknown keys, duplicates and a
// non-mapping are bad input, named with `context` and file:line:column.
void read_section(const YAML::Node& node, const std::string& file, const std::string& context,
                  const std::string& level, const std::vector<FieldReader>& readers);

// A `clusters` entry, or (`defaults`) `clusterDefaults`, applied onto `cluster`.
void apply_cluster(const YAML::Node& node, const std::string& file, ClusterSpec& cluster, bool defaults);
void apply_traffic(const YAML::Node& node, const std::string& file, models::TrafficConfig& traffic);
void apply_sync(const YAML::Node& node, const std::string& file, SyncSpec& sync);
// ingress.config's proxy-* keys are the traffic's (nginx's balancer).
void apply_ingress(const YAML::Node& node, const std::string& file, IngressSpec& ingress,
                   models::TrafficConfig& traffic);

}  // namespace epsim::app
