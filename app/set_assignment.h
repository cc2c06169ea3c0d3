// `--set PATH=VALUE`: changes one key of a scenario from the command line as
// if the file said so. PATH is dotted keys of docs/scenario.md; list entries
// are picked with brackets: clusters[idc] (by name), clusters[0] (by index),
// clusters[*] (every entry). VALUE is YAML: 100, 30s, true, [1h, 2h],
// {median: 5ms, p99: 50ms}; null (or ~) removes the key, so its default
// applies (outside `clusters`, from the includes too).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "app/yaml_input.h"

namespace epsim::app {

struct SetAssignment {
  struct Step {
    std::string key;
    bool select = false;      // key[selector]
    std::string selector;     // a name, an index or "*"
  };
  std::string text;           // as given, for messages
  std::vector<Step> path;
  std::string value;
};

// Parses and checks PATH against the scenario schema; throws InputError
// naming the assignment (with the closest valid key) when it is not one.
SetAssignment parse_set_assignment(const std::string& text);

// Applies `assignment` to the parsed files of a scenario (`roots` in load
// order: includes first, the scenario file last). Top-level keys other than
// `clusters` go into the scenario file, which overrides its includes;
// `clusters` entries are changed where the list is defined. The nodes it
// creates are named by `origins`. Throws InputError when a selected entry does
// not exist.
void apply_set_assignment(const SetAssignment& assignment, std::vector<YAML::Node>& roots,
                          CommandLineOrigins& origins);

}  // namespace epsim::app
