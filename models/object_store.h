// One resource kind's objects as an API server stores them: every version
// of an object is immutable and stored once; whoever reads it (the server's
// current state, a watch event in flight, every informer cache) holds a
// 4-byte handle to that one version, as client-go's shared informers share
// one decoded object among all listers and handlers
// (tools/cache/shared_informer.go: "the object ... must be treated as
// read-only"). A write makes a new version; the old one lives on while any
// reader still holds it, which is what on_update(old, new) needs.
//
// Versions sit in a slab of fixed-size chunks, so a version never moves
// while it lives (a `const Object&` handed to a handler stays valid) and
// growing the slab copies nothing. A chunk fills one 2 MiB huge page
// (sim/large_allocations.h); its slots are constructed as they are first
// handed out, not all when the chunk is made. Each version has a reference
// count; at zero its slot goes to a free list and the next version reuses it
// (an Endpoints version shares its address block with the object it was
// copied from, models/endpoint_addresses.h). Tearing the store down
// frees the chunks without walking references. The counts are a table
// beside the slots, or, for an object with a `store_references` member
// (Endpoints, in its padding), inside the slot: a storm's write reads the
// version it replaces and drops a reference to it, one cache line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "models/objects.h"
#include "sim/invariant.h"
#include "sim/large_allocations.h"
#include "sim/load_ahead.h"
#include "sim/vector_growth.h"

namespace epsim::models {

// An index into an ObjectStore's slab.
using VersionHandle = std::uint32_t;
inline constexpr VersionHandle kNoVersion = 0xffffffffu;

// Whether Object keeps its store's reference count in its own slot.
template <class Object>
inline constexpr bool kReferencesInSlot = requires(const Object& o) { o.store_references; };

template <class Object>
class ObjectStore {
 public:
  ObjectStore() = default;
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  // A new version: `object` with `resource_version`. The caller holds its
  // one reference (and passes it on or releases it).
  VersionHandle add_version(const Object& object, ResourceVersion resource_version);

  const Object& at(VersionHandle version) const {
    EPSIM_INVARIANT(live(version), "a handle read of a version no reader holds");
    return chunks_[version / kChunk][version % kChunk];
  }
  // Loads `version` ahead of a read that comes soon (a sync's look-ahead,
  // sim/load_ahead.h): no check, no effect on what is stored.
  void prefetch(VersionHandle version) const {
    if (version >= used_) return;
    load_ahead_slot(version);
    if constexpr (!kReferencesInSlot<Object>) sim::load_ahead(&references_[version]);
  }
  // Loads only the object (a reader that takes no reference).
  void load_ahead_object(VersionHandle version) const {
    if (version < used_) load_ahead_slot(version);
  }
  bool live(VersionHandle version) const { return version < used_ && count(version) > 0; }
  std::uint32_t references(VersionHandle version) const { return version < used_ ? count(version) : 0; }
  // Reference counts are bookkeeping, not content: a reader of a const
  // store (an informer) takes and drops its references like a copy of a
  // shared_ptr.
  void retain(VersionHandle version) const {
    EPSIM_INVARIANT(live(version), "a reference taken to a version no reader holds");
    Count& c = count(version);
    // A 16-bit count in a slot: readers of one version are the server, the
    // informers of its kind and their watch events in flight, a few dozen.
    if (c == std::numeric_limits<Count>::max()) throw std::length_error("too many readers of one object version");
    ++c;
  }
  void release(VersionHandle version) const {
    EPSIM_INVARIANT(live(version), "a version released more often than it was held");
    if (--count(version) == 0) free_.push_back(version);
  }
  // Versions some reader holds; slots the slab has (live or free).
  std::size_t live_versions() const { return slab_slots() - free_.size(); }
  std::size_t slab_slots() const { return used_; }

  void prefetch_current(std::uint32_t id) const {
    if (id < current_.size()) sim::load_ahead(&current_[id]);
  }
  // The current version of object `id` (kNoVersion: not stored).
  VersionHandle current(std::uint32_t id) const { return id < current_.size() ? current_[id] : kNoVersion; }
  const Object* get(std::uint32_t id) const {
    const VersionHandle v = current(id);
    return v == kNoVersion ? nullptr : &at(v);
  }
  // Makes `version` the current one of `id` (the store takes its own
  // reference) and drops the store's reference to the previous one.
  void set_current(std::uint32_t id, VersionHandle version);
  // `id` is no longer stored (its last version lives on in its readers).
  void clear_current(std::uint32_t id);
  // Ids 0 .. id_space()-1 may be stored; size() of them are.
  std::size_t id_space() const { return current_.size(); }
  std::size_t size() const { return stored_; }

 private:
  // Versions per chunk: one huge page of them.
  static constexpr std::size_t kChunk = sim::kElementsPerHugePage<Object>;
  static_assert(kChunk * sizeof(Object) >= sim::kLargeAllocationBytes);

  // A version's reference count: in its slot (16 bits) or in the table.
  using Count = std::conditional_t<kReferencesInSlot<Object>, std::uint16_t, std::uint32_t>;
  Count& count(VersionHandle version) const {
    if constexpr (kReferencesInSlot<Object>) {
      return chunks_[version / kChunk][version % kChunk].store_references;
    } else {
      return references_[version];
    }
  }

  // Both ends of the slot: a slot whose size does not divide 64 (a 40-byte
  // Pod, a 24-byte Service) can straddle two cache lines, and the part in
  // the second line would still be a miss when read.
  void load_ahead_slot(VersionHandle version) const {
    const auto* slot = reinterpret_cast<const char*>(&chunks_[version / kChunk][version % kChunk]);
    sim::load_ahead(slot);
    sim::load_ahead(slot + sizeof(Object) - 1);
  }

  std::vector<std::vector<Object>> chunks_;  // each reserved to kChunk, filled as slots are handed out
  std::size_t used_ = 0;                                 // slots handed out
  mutable std::vector<std::uint32_t> references_;        // per slot, unless kReferencesInSlot
  mutable std::vector<VersionHandle> free_;              // slots at zero references
  std::vector<VersionHandle> current_;                   // per id
  std::size_t stored_ = 0;
};

template <class Object>
VersionHandle ObjectStore<Object>::add_version(const Object& object, ResourceVersion resource_version) {
  VersionHandle v;
  if (!free_.empty()) {
    v = free_.back();
    free_.pop_back();
  } else {
    if (used_ == chunks_.size() * kChunk) chunks_.emplace_back().reserve(kChunk);
    EPSIM_INVARIANT(used_ < kNoVersion, "object store slab overflow");
    v = static_cast<VersionHandle>(used_++);
    if constexpr (!kReferencesInSlot<Object>) references_.push_back(0);
    chunks_.back().push_back(object);  // the new slot; reserved, so nothing moves
    chunks_.back().back().resource_version = resource_version;
    count(v) = 1;
    return v;
  }
  Object& slot = chunks_[v / kChunk][v % kChunk];
  slot = object;
  slot.resource_version = resource_version;
  count(v) = 1;
  return v;
}

template <class Object>
void ObjectStore<Object>::set_current(std::uint32_t id, VersionHandle version) {
  retain(version);
  sim::grow_to(current_, std::size_t{id} + 1, kNoVersion);
  const VersionHandle previous = current_[id];
  current_[id] = version;
  if (previous == kNoVersion) {
    ++stored_;
  } else {
    release(previous);
  }
}

template <class Object>
void ObjectStore<Object>::clear_current(std::uint32_t id) {
  const VersionHandle previous = current(id);
  if (previous == kNoVersion) return;
  current_[id] = kNoVersion;
  --stored_;
  release(previous);
}

}  // namespace epsim::models
