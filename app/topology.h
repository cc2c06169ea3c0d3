// The pipeline topology of a scenario as a Boost.Graph (docs/model.md §1):
// vertices are component instances and the resources they exchange, edges
// say "watches" (resource → component) or "writes to" (component →
// resource). The app validates it (acyclic: no component writes what feeds
// it upstream; every ingress backend resolves to a business cluster) and
// `epsim topology` prints it as Graphviz DOT.
#pragma once

#include <string>
#include <vector>

#include "app/scenario.h"
#include "app/stage.h"

namespace epsim::app {

struct TopologyVertex {
  std::string name;   // e.g. "idc/endpoints-controller", "access/Endpoints"
  std::string kind;   // component | resource
};

class Topology {
 public:
  // The stages of `scenario` (plan_stages over the default registry).
  explicit Topology(const Scenario& scenario);
  // Each stage's vertex, with an edge from every resource it watches and to
  // every resource it writes, in list order.
  explicit Topology(const std::vector<PlannedStage>& stages);
  ~Topology();
  // Component and resource names in an order where every vertex comes after
  // everything it depends on, ties in the order vertices were added; throws
  // InputError if the graph has a cycle.
  std::vector<std::string> start_order() const;
  std::string to_dot() const;
  std::size_t vertex_count() const;

 private:
  struct Graph;
  Graph* graph_;
};

}  // namespace epsim::app
