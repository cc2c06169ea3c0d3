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
    ResourceVersion newest = 0;
    for (std::uint32_t id = 0; id < cache_.size(); ++id) {
      const VersionHandle v = store.current(id);
      if (v == kNoVersion) continue;
      store.retain(v);
      cache_[id] = v;
      ++count_;
      const ResourceVersion rv = store.at(v).resource_version;
      if (rv > newest) newest = rv;
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
    if (id >= cache_.size()) cache_.resize(std::max<std::size_t>(id + 1, store.id_space()), kNoVersion);
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
    if (order_) {
      for (std::size_t i = ids.size(); i > 1; --i) {
        const auto j = static_cast<std::size_t>(order_->uniform_int(0, static_cast<std::int64_t>(i) - 1));
        std::swap(ids[i - 1], ids[j]);
      }
    }
    return ids;
  }

  // Periodic resync: Update(old == new) for every cached object, in the
  // order of list_keys(). Returns that order.
  std::vector<std::uint32_t> resync() {
    std::vector<std::uint32_t> ids = list_keys();
    for (const std::uint32_t id : ids) {
      const Object& cached = store_->at(cache_[id]);
      for (auto* h : handlers_) h->on_update(cached, cached);
    }
    return ids;
  }

  const Object* get(std::uint32_t id) const {
    return id < cache_.size() && cache_[id] != kNoVersion ? &store_->at(cache_[id]) : nullptr;
  }
  // Loads ahead of a get(id) that comes soon (sim/load_ahead.h): first its
  // handle, then (once the handle is in cache) the object it points to.
  void prefetch_handle(std::uint32_t id) const {
    if (id < cache_.size()) sim::load_ahead(&cache_[id]);
  }
  void prefetch_object(std::uint32_t id) const {
    if (id < cache_.size() && cache_[id] != kNoVersion) store_->prefetch(cache_[id]);
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
};

}  // namespace epsim::models
