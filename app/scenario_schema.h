// The shape of a scenario file: which keys each mapping accepts. The section
// readers (scenario_readers.cpp) read exactly these keys and reject any
// other, `--set` checks its paths against them, and docs/scenario.md
// documents exactly scenario_key_paths() (tests/app/scenario_keys_test.cpp
// holds both to it).
#pragma once

#include <string>
#include <vector>

namespace epsim::app {

// A mapping is named by its dotted path from the top, list entries marked
// "[]": "" (the top level), "clusters[]", "clusters[].apiServer",
// "clusters[].services[]", "ingress.config", … `clusterDefaults` takes the
// keys of "clusters[]".
//
// The keys the mapping at `level` accepts, or nullptr when `level` is not a
// mapping of the schema.
const std::vector<std::string>* schema_keys(const std::string& level);

// True for the keys whose value is a list of mappings ("clusters",
// "clusters[].services", "clusters[].deploys"); `path` without "[]".
bool schema_entry_list(const std::string& path);

// The mapping level a key opens ("clusterDefaults" → "clusters[]",
// "clusters" → "clusters[]", "clusters[].apiServer" → itself), or "" when the
// key holds a plain value.
std::string schema_child_level(const std::string& path);

// Every key of the schema as a dotted path, in schema order:
// "name", …, "clusters", "clusters[].name", …, "ingress.config.load-balance".
std::vector<std::string> scenario_key_paths();

}  // namespace epsim::app
