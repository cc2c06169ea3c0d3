#include "app/topology.h"

#include <boost/graph/adjacency_list.hpp>
// Boost 1.74's edge iterator trips g++ 12's -Wmaybe-uninitialized inside
// write_graphviz (a false positive in a system header).
// (clang has no such warning group and would warn about the pragma.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/graph/graphviz.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <boost/range/iterator_range.hpp>

#include <map>
#include <set>
#include <sstream>

#include "app/input_error.h"

namespace epsim::app {

namespace {
// A DOT quoted string: backslash and double quote escaped. Names are
// DNS-1123 labels, so this only guards against a future name rule.
std::string dot_escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}
}  // namespace

struct Topology::Graph {
  struct EdgeInfo {
    std::string label;  // watches | writes to
  };
  using G = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, TopologyVertex, EdgeInfo>;
  G g;
  std::map<std::string, G::vertex_descriptor> by_name;

  G::vertex_descriptor vertex(const std::string& name, const std::string& kind) {
    const auto it = by_name.find(name);
    if (it != by_name.end()) return it->second;
    const auto v = boost::add_vertex(TopologyVertex{name, kind}, g);
    by_name.emplace(name, v);
    return v;
  }
  void writes(const std::string& component, const std::string& resource) {
    boost::add_edge(vertex(component, "component"), vertex(resource, "resource"), EdgeInfo{"writes to"}, g);
  }
  void watches(const std::string& component, const std::string& resource) {
    boost::add_edge(vertex(resource, "resource"), vertex(component, "component"), EdgeInfo{"watches"}, g);
  }
};

Topology::Topology(const Scenario& scenario) : Topology(plan_stages(scenario, default_stage_registry())) {}

Topology::Topology(const std::vector<PlannedStage>& stages) : graph_(new Graph) {
  Graph& t = *graph_;
  for (const PlannedStage& stage : stages) {
    for (const std::string& resource : stage.placement.watches) t.watches(stage.placement.vertex, resource);
    for (const std::string& resource : stage.placement.writes) t.writes(stage.placement.vertex, resource);
  }
}

Topology::~Topology() { delete graph_; }

std::size_t Topology::vertex_count() const { return boost::num_vertices(graph_->g); }

std::vector<std::string> Topology::start_order() const {
  const auto& g = graph_->g;
  // Kahn's algorithm taking the earliest-added ready vertex first: the order
  // stages were registered wherever the edges allow it, so runs do not depend
  // on how a depth-first sort happens to visit the graph.
  std::vector<std::size_t> waiting_for(boost::num_vertices(g), 0);
  for (const auto e : boost::make_iterator_range(boost::edges(g))) ++waiting_for[boost::target(e, g)];
  std::set<Graph::G::vertex_descriptor> ready;
  for (std::size_t v = 0; v < waiting_for.size(); ++v) {
    if (waiting_for[v] == 0) ready.insert(v);
  }
  std::vector<std::string> order;
  while (!ready.empty()) {
    const auto v = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(g[v].name);
    for (const auto e : boost::make_iterator_range(boost::out_edges(v, g))) {
      if (--waiting_for[boost::target(e, g)] == 0) ready.insert(boost::target(e, g));
    }
  }
  if (order.size() != waiting_for.size()) {
    throw InputError("the pipeline topology has a cycle: a component writes what feeds it");
  }
  return order;
}

std::string Topology::to_dot() const {
  std::ostringstream out;
  const auto& g = graph_->g;
  boost::write_graphviz(
      out, g,
      [&g](std::ostream& o, Graph::G::vertex_descriptor v) {
        o << "[label=\"" << dot_escaped(g[v].name) << "\", shape=" << (g[v].kind == "resource" ? "note" : "box") << "]";
      },
      [&g](std::ostream& o, Graph::G::edge_descriptor e) { o << "[label=\"" << dot_escaped(g[e].label) << "\"]"; });
  return out.str();
}

}  // namespace epsim::app
