// The informer's walks over its cache come in the order of a Go map
// iteration (tools/cache/thread_safe_store.go): a new permutation at each
// walk, drawn from the informer's own stream.
#include <doctest/doctest.h>

#include <algorithm>
#include <initializer_list>
#include <numeric>
#include <set>
#include <vector>

#include "models/informer.h"
#include "sim/random.h"

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

  informer.resync();
  const auto first = order.updated;
  CHECK(sorted(first) == ids);            // a permutation of the cached ids
  CHECK(first != ids);                    // not id order (1 chance in 171!)
  order.updated.clear();
  informer.resync();
  const auto second = order.updated;
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

TEST_CASE("informer: a walk is the Fisher-Yates shuffle of the ids on the informer's stream") {
  // The same draws, done one swap at a time on a stream of the same name:
  // the look-ahead that draws a batch of swaps first must not change them.
  const std::string name = "idc/services/term-3";
  Informer<Service> informer(name, 11);
  informer.list(service_store(), false);
  epsim::sim::RandomStream stream(11, "informer/" + name + "/walk-order");
  for (int walk = 0; walk < 3; ++walk) {
    std::vector<std::uint32_t> expected;
    for (const auto& s : services()) expected.push_back(s.id);
    for (std::size_t i = expected.size(); i > 1; --i) {
      const auto j = static_cast<std::size_t>(stream.uniform_int(0, static_cast<std::int64_t>(i) - 1));
      std::swap(expected[i - 1], expected[j]);
    }
    CHECK(informer.list_keys() == expected);
  }
}

namespace {

struct IgnoresResync : Order {
  mutable std::size_t loaded_ahead = 0;
  ResyncUse resync_use() const override { return ResyncUse::ignores; }
  void prefetch_update(std::uint32_t) const override { ++loaded_ahead; }
};

}  // namespace

TEST_CASE("informer: a resync no handler acts on walks nothing, and the next walks come as if it had") {
  Informer<Service> walking("idc/services/term-1", 5);
  Order order;
  walking.add_handler(&order);
  Informer<Service> skipping("idc/services/term-1", 5);
  IgnoresResync ignored;
  skipping.add_handler(&ignored);
  Informer<Service> bare("idc/services/term-1", 5);  // no handler at all
  for (auto* i : {&walking, &skipping, &bare}) i->list(service_store(), false);

  walking.resync();
  skipping.resync();
  bare.resync();
  CHECK(order.updated.size() == services().size());
  CHECK(ignored.updated.empty());
  const auto next = walking.list_keys();
  CHECK(skipping.list_keys() == next);
  CHECK(bare.list_keys() == next);
}

namespace {

// Checks a walk's look-ahead: every id after the first batch of 16 was loaded
// ahead once (`loaded`: the id and how many ids the walk had handed over
// then), before its turn and at most two batches before it.
void check_loaded_ahead(const std::vector<std::uint32_t>& walk,
                        const std::vector<std::pair<std::uint32_t, std::size_t>>& loaded) {
  CHECK(loaded.size() == walk.size() - 16);
  for (const auto& [id, handed_before] : loaded) {
    const auto at = static_cast<std::size_t>(std::find(walk.begin(), walk.end(), id) - walk.begin());
    REQUIRE(at < walk.size());
    CHECK(handed_before < at);
    CHECK(at - handed_before <= 32);
  }
}

// Acts on a resync by the key alone: records the keys and any on_update.
struct KeyOnly : Order {
  std::vector<std::uint32_t> keys;
  mutable std::vector<std::pair<std::uint32_t, std::size_t>> loaded;  // id, keys before
  ResyncUse resync_use() const override { return ResyncUse::key_only; }
  void on_resync_key(std::uint32_t id) override { keys.push_back(id); }
  void prefetch_update(std::uint32_t id) const override { loaded.emplace_back(id, keys.size()); }
};

}  // namespace

TEST_CASE("informer: a resync whose handlers use only the key hands them the ids, in the walk's order") {
  // The same seed walks the same permutation: an object-reading handler's
  // on_update ids are what the key-only handlers must get.
  Informer<Service> reading("idc/services/term-1", 11);
  Order order;
  reading.add_handler(&order);
  Informer<Service> keyed("idc/services/term-1", 11);
  KeyOnly first;
  IgnoresResync ignored;
  KeyOnly second;
  for (InformerHandler<Service>* h : std::initializer_list<InformerHandler<Service>*>{&first, &ignored, &second}) {
    keyed.add_handler(h);
  }
  for (auto* i : {&reading, &keyed}) i->list(service_store(), false);

  reading.resync();
  keyed.resync();
  REQUIRE(order.updated.size() == services().size());
  CHECK(first.keys == order.updated);
  CHECK(second.keys == order.updated);
  CHECK(first.updated.empty());  // on_resync_key, not on_update
  CHECK(ignored.updated.empty());
  check_loaded_ahead(first.keys, first.loaded);
  CHECK(ignored.loaded_ahead == 0);  // an ignoring handler's state is not loaded
  CHECK(reading.list_keys() == keyed.list_keys());

  // Beside a handler that reads the object, a key-only one gets on_update.
  Informer<Service> mixed("idc/services/term-1", 11);
  KeyOnly keys;
  Order reader;
  mixed.add_handler(&keys);
  mixed.add_handler(&reader);
  mixed.list(service_store(), false);
  mixed.resync();
  CHECK(keys.updated == order.updated);
  CHECK(keys.keys.empty());
  CHECK(reader.updated == order.updated);
}

namespace {

// Records, per id, how many updates came before the walk loaded it ahead.
struct LoadedAhead : Order {
  mutable std::vector<std::pair<std::uint32_t, std::size_t>> loaded;  // id, updates before
  void prefetch_update(std::uint32_t id) const override { loaded.emplace_back(id, updated.size()); }
};

}  // namespace

TEST_CASE("informer: a resync loads a handler's state ahead of the update it hands over, with the object's id") {
  Informer<Service> informer("idc/services/term-1", 9);
  LoadedAhead handler;
  informer.add_handler(&handler);
  informer.list(service_store(), false);
  informer.resync();
  const std::vector<std::uint32_t>& walk = handler.updated;
  REQUIRE(walk.size() == services().size());  // 171: more than two batches of 16
  check_loaded_ahead(walk, handler.loaded);
}

TEST_CASE("informer: a list watches from its own resourceVersion, or from its newest object's without one") {
  // services(): ids 0..199 but those with id % 7 == 3, each at RV id + 1;
  // 199 is one of the holes (199 = 7 * 28 + 3), so the newest is 198's, 199.
  Informer<Service> without_rv("idc/services/no-rv");
  without_rv.list(service_store(), false);
  CHECK(without_rv.last_resource_version() == 199);
  CHECK(without_rv.size() == services().size());
  // The server's RV at the list is past every object's.
  Informer<Service> with_rv("idc/services/rv");
  with_rv.list(service_store(), false, 5000);
  CHECK(with_rv.last_resource_version() == 5000);
  CHECK(with_rv.size() == services().size());
  without_rv.release_all();
  with_rv.release_all();
}
