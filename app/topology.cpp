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
#include <boost/graph/topological_sort.hpp>

#include <map>
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

Topology::Topology(const Scenario& s) : graph_(new Graph) {
  Graph& t = *graph_;
  for (const auto& c : s.clusters) {
    if (c.role != "business") continue;
    t.writes(c.name + "/deployments+kubelet", c.name + "/Pods");
    t.watches(c.name + "/endpoints-controller", c.name + "/Pods");
    t.watches(c.name + "/endpoints-controller", c.name + "/Services");
    t.writes(c.name + "/endpoints-controller", c.name + "/Endpoints");
    if (resolve_endpoint_slice_controller(c)) {
      t.watches(c.name + "/endpointslice-controller", c.name + "/Pods");
      t.watches(c.name + "/endpointslice-controller", c.name + "/Services");
      t.writes(c.name + "/endpointslice-controller", c.name + "/EndpointSlices");
    }
    if (in_cluster_clients(c)) {
      t.watches(c.name + "/kube-proxy",
                c.name + (resolve_kube_proxy(c).read_endpoint_slices ? "/EndpointSlices" : "/Endpoints"));
    }
  }
  if (s.sync.present) {
    const std::string& access = s.sync.to;
    for (const auto& from : s.sync.from) t.watches("endpoint-sync", from + "/Endpoints");
    t.writes("endpoint-sync", access + "/Endpoints");
    std::string feed = access + "/Endpoints";
    const auto traits = ingress_version_traits(s.ingress.version);
    if (traits && traits->read_endpoint_slices) {
      t.watches(access + "/endpointslice-mirroring", access + "/Endpoints");
      t.writes(access + "/endpointslice-mirroring", access + "/EndpointSlices");
      feed = access + "/EndpointSlices";
    }
    t.watches("ingress-nginx", feed);
    t.writes("ingress-nginx", "nginx-workers");
  }
}

Topology::~Topology() { delete graph_; }

std::size_t Topology::vertex_count() const { return boost::num_vertices(graph_->g); }

std::vector<std::string> Topology::start_order() const {
  std::vector<Graph::G::vertex_descriptor> reversed;
  try {
    boost::topological_sort(graph_->g, std::back_inserter(reversed));
  } catch (const boost::not_a_dag&) {
    throw InputError("the pipeline topology has a cycle: a component writes what feeds it");
  }
  std::vector<std::string> order;
  for (auto it = reversed.rbegin(); it != reversed.rend(); ++it) order.push_back(graph_->g[*it].name);
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
