// The informer's walks over its cache come in the order of a Go map
// iteration (tools/cache/thread_safe_store.go): a new permutation at each
// walk, drawn from the informer's own stream.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

#include "models/informer.h"

using namespace epsim::models;

namespace {

struct Order : InformerHandler<Service> {
  std::vector<std::uint32_t> updated;
  void on_add(const Service&) override {}
  void on_update(const Service&, const Service& s) override { updated.push_back(s.id); }
  void on_delete(const Service&) override {}
};

// 200 Services with ids 0..199 except every seventh (deleted ones leave holes).
std::vector<Service> services() {
  std::vector<Service> out;
  for (std::uint32_t id = 0; id < 200; ++id) {
    if (id % 7 == 3) continue;
    Service s;
    s.id = id;
    s.resource_version = id + 1;
    out.push_back(s);
  }
  return out;
}

// The same Services as a server stores them (what an informer lists).
const ObjectStore<Service>& service_store() {
  static ObjectStore<Service> store;
  if (store.size() == 0) {
    for (const Service& s : services()) {
      const VersionHandle v = store.add_version(s, s.resource_version);
      store.set_current(s.id, v);
      store.release(v);
    }
  }
  return store;
}

std::vector<std::uint32_t> sorted(std::vector<std::uint32_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("informer: a resync hands every cached object over once, in a new random order each time") {
  Informer<Service> informer("idc/services/term-1", 42);
  Order order;
  informer.add_handler(&order);
  informer.list(service_store(), false);
  std::vector<std::uint32_t> ids;
  for (const auto& s : services()) ids.push_back(s.id);

  const auto first = informer.resync();
  CHECK(order.updated == first);          // the handlers saw the order returned
  CHECK(sorted(first) == ids);            // a permutation of the cached ids
  CHECK(first != ids);                    // not id order (1 chance in 171!)
  const auto second = informer.resync();
  CHECK(sorted(second) == ids);
  CHECK(second != first);                 // a new walk, a new order
  // Uniform enough: the first slot over 2,000 walks takes many different ids.
  std::set<std::uint32_t> heads;
  for (int i = 0; i < 2000; ++i) heads.insert(informer.list_keys().front());
  CHECK(heads.size() > 150);
}

TEST_CASE("informer: the order is a function of the seed and the informer's name") {
  auto walk = [](const std::string& name, std::uint64_t seed) {
    Informer<Service> informer(name, seed);
    informer.list(service_store(), false);
    return informer.list_keys();
  };
  CHECK(walk("idc/services/term-1", 7) == walk("idc/services/term-1", 7));
  CHECK(walk("idc/services/term-1", 7) != walk("idc/services/term-1", 8));
  CHECK(walk("idc/services/term-1", 7) != walk("idc/services/term-2", 7));
  // Without a seed (a test's informer) the walk is in id order.
  Informer<Service> plain("plain");
  plain.list(service_store(), false);
  const auto keys = plain.list_keys();
  CHECK(std::is_sorted(keys.begin(), keys.end()));
}
