// A shared informer (client-go tools/cache/shared_informer.go, v0.17): a
// local cache fed by a watch, handlers called sequentially in registration
// order, and a periodic resync that hands every cached object to the
// handlers as Update(old == new) (DeltaFIFO.Resync queues a Sync delta per
// cached key; HandleDeltas distributes updateNotification{old: cached, new:
// cached}). Objects are keyed by dense ids (see objects.h); the cache holds
// handles to the server's stored versions (object_store.h), not copies.
//
// The cache is a Go map upstream (tools/cache/thread_safe_store.go:
// threadSafeMap.ListKeys and List are `for key := range c.items`), so every
// walk over it (DeltaFIFO.Resync over knownObjects.ListKeys(), a lister's
// List) comes in an order that differs each time. list_keys() draws that
// order as a fresh permutation from the informer's own random stream.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/object_store.h"
#include "models/objects.h"
#include "models/watch.h"
#include "sim/invariant.h"
#include "sim/load_ahead.h"
#include "sim/random.h"
#include "sim/vector_growth.h"

namespace epsim::models {

inline std::uint32_t object_id(const Service& s) { return s.id; }
inline std::uint32_t object_id(const Pod& p) { return p.id; }
inline std::uint32_t object_id(const Endpoints& e) { return e.service; }

template <class Object>
class InformerHandler {
 public:
  virtual ~InformerHandler() = default;
  virtual void on_add(const Object& object) = 0;
  virtual void on_update(const Object& old_object, const Object& new_object) = 0;
  virtual void on_delete(const Object& object) = 0;
  // Loads ahead of an on_update of object `id` that comes soon (a resync's
  // walk, sim/load_ahead.h): the handler's own state of it, if any.
  virtual void prefetch_update(std::uint32_t /*id*/) const {}

  // What the handler does with on_update(x, x), what a resync delivers:
  // nothing (ignores), only act on the object's key, the same for every
  // object (key_only: a controller that queues the key), or something that
  // reads the object. A resync whose handlers all ignore it or use the key
  // only need not read the cached objects: a million random reads at a
  // million objects (issue 12).
  enum class ResyncUse { ignores, key_only, object };
  virtual ResyncUse resync_use() const { return ResyncUse::object; }
  // For a key_only handler: what on_update(x, x) does for object `id`.
  virtual void on_resync_key(std::uint32_t /*id*/) {}
};

template <class Object>
class Informer : public WatchSink<Object> {
 public:
  // `seed` seeds the stream of its walks' order (stream
  // "informer/<name>/walk-order"); without one (tests) walks go in id order.
  explicit Informer(std::string name) : name_(std::move(name)) {}
  Informer(std::string name, std::uint64_t seed)
      : name_(std::move(name)), order_(std::make_unique<sim::RandomStream>(seed, "informer/" + name_ + "/walk-order")) {}

  const std::string& name() const { return name_; }
  void add_handler(InformerHandler<Object>* handler) { handlers_.push_back(handler); }

  // The initial LIST (or a relist): replaces the cache with handles to
  // every object `store` holds now (an array fill: the versions are shared,
  // not copied). With `notify`, every object is delivered as Add, in id
  // order, as the reflector's Replace does for a new informer; without it
  // the cache is filled silently (a scenario that starts in steady state,
  // caches already synced).
  // `list_resource_version` is the server's resourceVersion the list was
  // taken at (0: the newest RV among the objects). The reflector then
  // watches from it (tools/cache/reflector.go ListAndWatch:
  // Watch(ResourceVersion: listRV)), so a change the list already holds is
  // not delivered again: an event still in flight when the list was taken
  // must not roll the cache back.
  void list(const ObjectStore<Object>& store, bool notify, ResourceVersion list_resource_version = 0) {
    release_all();
    store_ = &store;
    cache_.assign(store.id_space(), kNoVersion);
    count_ = 0;
    // The newest RV among the objects, when the list has no RV of its own
    // or a checked build compares the two; otherwise the objects are not
    // read (at a million objects, a pass over every slot).
    const bool find_newest = list_resource_version == 0 || EPSIM_INVARIANTS_ENABLED;
    ResourceVersion newest = 0;
    for (std::uint32_t id = 0; id < cache_.size(); ++id) {
      const VersionHandle v = store.current(id);
      if (v == kNoVersion) continue;
      store.retain(v);
      cache_[id] = v;
      ++count_;
      if (find_newest) newest = std::max(newest, store.at(v).resource_version);
    }
    EPSIM_INVARIANT(list_resource_version == 0 || list_resource_version >= newest,
                    "a list holds an object newer than the resourceVersion it was taken at");
    listed_rv_ = list_resource_version != 0 ? list_resource_version : newest;
    last_event_rv_ = listed_rv_;
    if (notify) {
      for (std::uint32_t id = 0; id < cache_.size(); ++id) {
        if (cache_[id] == kNoVersion) continue;
        for (auto* h : handlers_) h->on_add(store.at(cache_[id]));
      }
    }
  }

  // A stopped informer (a controller-manager that lost its lease) ignores
  // its watch.
  void set_running(bool running) { running_ = running; }

  void on_watch_event(WatchEventType type, const ObjectStore<Object>& store, VersionHandle version) override {
    if (!running_) return;
    // A cache holds handles into the one store it lists and watches.
    EPSIM_INVARIANT(store_ == nullptr || store_ == &store, "an informer fed by two object stores");
    store_ = &store;
    const Object& object = store.at(version);
    const ResourceVersion rv = object.resource_version;
    if (rv <= listed_rv_) return;  // held by the list this watch started from
    // One API server's watch delivers its changes in resourceVersion order.
    EPSIM_INVARIANT(rv > last_event_rv_, "watch events delivered out of resourceVersion order");
    last_event_rv_ = rv;
    const std::uint32_t id = object_id(object);
    const VersionHandle old = id < cache_.size() ? cache_[id] : kNoVersion;
    // So a cached object's resourceVersion never decreases.
    EPSIM_INVARIANT(old == kNoVersion || rv > store.at(old).resource_version,
                    "an informer cache went back to an older object");
    // The replaced version is released only after the handlers ran: they
    // read it as `old`.
    if (type == WatchEventType::deleted) {
      if (old == kNoVersion) return;
      cache_[id] = kNoVersion;
      --count_;
      for (auto* h : handlers_) h->on_delete(store.at(old));
      store.release(old);
      return;
    }
    store.retain(version);
    sim::grow_to(cache_, std::max<std::size_t>(std::size_t{id} + 1, store.id_space()), kNoVersion);
    cache_[id] = version;
    if (old != kNoVersion) {
      for (auto* h : handlers_) h->on_update(store.at(old), object);
      store.release(old);
    } else {
      ++count_;
      for (auto* h : handlers_) h->on_add(object);
    }
  }

  // The ids of every cached object in the order of a walk over the Go map:
  // a new permutation each call (Fisher-Yates on the informer's stream).
  std::vector<std::uint32_t> list_keys() {
    std::vector<std::uint32_t> ids;
    ids.reserve(count_);
    for (std::uint32_t id = 0; id < cache_.size(); ++id) {
      if (cache_[id] != kNoVersion) ids.push_back(id);
    }
    if (!order_) return ids;
    // The swaps land at random places of a table of a million ids: the
    // draws of kWalkBatch swaps come first and their places are loaded
    // ahead together, then the swaps run in the same order (a draw does
    // not depend on the table, so this is the same permutation).
    std::array<std::size_t, kWalkBatch> places{};
    for (std::size_t i = ids.size(); i > 1;) {
      std::size_t drawn = 0;
      for (; drawn < kWalkBatch && i - drawn > 1; ++drawn) {
        places[drawn] = static_cast<std::size_t>(order_->uniform_int(0, static_cast<std::int64_t>(i - drawn) - 1));
        sim::load_ahead(&ids[places[drawn]]);
      }
      for (std::size_t k = 0; k < drawn; ++k) std::swap(ids[i - k - 1], ids[places[k]]);
      i -= drawn;
    }
    return ids;
  }

  // Periodic resync: Update(old == new) for every cached object, in the
  // order of list_keys().
  //
  // The walk goes over the whole cache in a random order, so each key's
  // handle, object and handler state are cache misses at a million objects
  // (issue 12). Every kWalkBatch keys it loads ahead, all at once so the
  // loads overlap: the handles of the batch after next, and the objects and
  // handler state of the next batch (whose handles are in cache by then).
  // When no handler acts on a resync (1.17's Endpoints informer has none,
  // a pod handler ignores an update with an unchanged resourceVersion)
  // nothing reads the objects; the walk's order is still drawn, as the
  // stream must go on the same. When the handlers that act on it use only
  // the key (the endpoints controller's Service handler queues it), the walk
  // hands them the ids without reading the objects or their handles.
  void resync() {
    bool reads_objects = false;
    std::vector<InformerHandler<Object>*> keyed;  // the key-only handlers, in registration order
    for (auto* h : handlers_) {
      const auto use = h->resync_use();
      reads_objects = reads_objects || use == InformerHandler<Object>::ResyncUse::object;
      if (use == InformerHandler<Object>::ResyncUse::key_only) keyed.push_back(h);
    }
    if (!reads_objects && keyed.empty()) {
      skip_walk_order();
      return;
    }
    const std::vector<std::uint32_t> ids = list_keys();
    if (!reads_objects) {
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i % kWalkBatch == 0) load_ahead_walk_keys(ids, i, keyed);
        for (auto* h : keyed) h->on_resync_key(ids[i]);
      }
      return;
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i % kWalkBatch == 0) load_ahead_walk(ids, i);
      const Object& cached = store_->at(cache_[ids[i]]);
      for (auto* h : handlers_) h->on_update(cached, cached);
    }
  }

  const Object* get(std::uint32_t id) const {
    return id < cache_.size() && cache_[id] != kNoVersion ? &store_->at(cache_[id]) : nullptr;
  }
  // Loads ahead of a get(id) that comes soon (sim/load_ahead.h): first its
  // handle, then (once the handle is in cache) the object it points to.
  void prefetch_handle(std::uint32_t id) const {
    if (id < cache_.size()) sim::load_ahead(&cache_[id]);
  }
  // The object and its reference count, for a version that work coming
  // soon releases (an Endpoints a sync's write replaces).
  void prefetch_object(std::uint32_t id) const {
    if (id < cache_.size() && cache_[id] != kNoVersion) store_->prefetch(cache_[id]);
  }
  // The object without its reference count, for a get(id) whose caller
  // keeps no reference.
  void load_ahead_object(std::uint32_t id) const {
    if (id < cache_.size() && cache_[id] != kNoVersion) store_->load_ahead_object(cache_[id]);
  }
  std::size_t size() const { return count_; }
  // The newest resourceVersion this informer has seen (list or watch).
  ResourceVersion last_resource_version() const { return last_event_rv_; }
  std::size_t id_space() const { return cache_.size(); }

  // Drops every cached handle (the versions live on in their other readers).
  // Not done by the destructor: a cache and its server's store go away
  // together at exit, in either order, and freeing the store's slab needs
  // no reference walk.
  void release_all() {
    if (store_ != nullptr) {
      for (const VersionHandle v : cache_) {
        if (v != kNoVersion) store_->release(v);
      }
    }
    cache_.clear();
    count_ = 0;
  }

 private:
  std::string name_;
  std::unique_ptr<sim::RandomStream> order_;  // null: walks in id order
  bool running_ = true;
  std::vector<InformerHandler<Object>*> handlers_;
  const ObjectStore<Object>* store_ = nullptr;  // the store every cached handle points into
  std::vector<VersionHandle> cache_;            // per id; kNoVersion: not cached
  std::size_t count_ = 0;
  ResourceVersion listed_rv_ = 0;      // the list the watch started from
  ResourceVersion last_event_rv_ = 0;  // the newest event delivered

  static constexpr std::size_t kWalkBatch = 16;
  // Draws what list_keys() would, without the permutation nobody reads.
  void skip_walk_order() {
    if (!order_) return;
    order_->discard_shuffle(count_);
  }
  // A key-only walk at `at` (a multiple of kWalkBatch) loads ahead of the
  // handlers' state of the next batch.
  void load_ahead_walk_keys(const std::vector<std::uint32_t>& ids, std::size_t at,
                            const std::vector<InformerHandler<Object>*>& keyed) const {
    const std::size_t end = std::min(ids.size(), at + 2 * kWalkBatch);
    for (std::size_t j = at + kWalkBatch; j < end; ++j) {
      for (const auto* h : keyed) h->prefetch_update(ids[j]);
    }
  }
  // A resync walk at `at` (a multiple of kWalkBatch) loads ahead of the
  // next two batches: see resync().
  void load_ahead_walk(const std::vector<std::uint32_t>& ids, std::size_t at) const {
    const std::size_t objects_end = std::min(ids.size(), at + 2 * kWalkBatch);
    const std::size_t handles_end = std::min(ids.size(), at + 3 * kWalkBatch);
    for (std::size_t j = at + 2 * kWalkBatch; j < handles_end; ++j) sim::load_ahead(&cache_[ids[j]]);
    for (std::size_t j = at + kWalkBatch; j < objects_end; ++j) {
      store_->load_ahead_object(cache_[ids[j]]);
      for (const auto* h : handlers_) h->prefetch_update(ids[j]);
    }
  }
};

}  // namespace epsim::models
