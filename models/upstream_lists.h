// The upstream IP lists nginx workers route by (models/traffic.h), stored once
// each in one pooled array: the workers of a backend nearly always hold the
// same list (they pick up the same configuration within a second,
// docs/model.md §11), so they share it by id instead of each holding a copy,
// and a million backends cost no heap block each.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "models/objects.h"

namespace epsim::models {

class UpstreamLists {
 public:
  using Id = std::uint32_t;
  static constexpr Id kEmpty = 0;  // the empty list: always there, never counted

  UpstreamLists();

  // A new list holding `ips` (in that order) with one reference; kEmpty for
  // an empty `ips`.
  Id add(std::span<const PodIp> ips);
  void retain(Id list);
  // Drops one reference; the list's id and storage are reused once none is
  // left. Invalidates every span from ips().
  void release(Id list);
  std::span<const PodIp> ips(Id list) const;

  // Inspection (tests): lists with references, and IPs held in the pool
  // including released ones not yet compacted away.
  std::size_t live_lists() const { return entries_.size() - 1 - free_ids_.size(); }
  std::size_t pooled_ips() const { return ips_.size(); }

 private:
  struct Entry {
    std::uint32_t offset = 0, size = 0, refs = 0;
  };
  void compact();  // drops released IPs from the pool (ids stay)

  std::vector<Entry> entries_;  // by id; entries_[kEmpty] is the empty list
  std::vector<Id> free_ids_;
  std::vector<PodIp> ips_;
  std::size_t released_ips_ = 0;  // IPs of released lists still in ips_
};

}  // namespace epsim::models
