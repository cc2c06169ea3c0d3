#include "models/upstream_lists.h"

#include <stdexcept>
#include <string>

namespace epsim::models {

namespace {
// Below this many released IPs the pool is never compacted (a compaction
// copies every live list).
constexpr std::size_t kMinCompaction = 4096;
}  // namespace

UpstreamLists::UpstreamLists() : entries_(1) {}

UpstreamLists::Id UpstreamLists::add(std::span<const PodIp> ips) {
  if (ips.empty()) return kEmpty;
  if (ips_.size() + ips.size() > UINT32_MAX) throw std::length_error("upstream lists: more than 2^32 IPs");
  Entry e;
  e.offset = static_cast<std::uint32_t>(ips_.size());
  e.size = static_cast<std::uint32_t>(ips.size());
  e.refs = 1;
  ips_.insert(ips_.end(), ips.begin(), ips.end());
  if (!free_ids_.empty()) {
    const Id id = free_ids_.back();
    free_ids_.pop_back();
    entries_[id] = e;
    return id;
  }
  entries_.push_back(e);
  return static_cast<Id>(entries_.size() - 1);
}

void UpstreamLists::retain(Id list) {
  if (list == kEmpty) return;
  if (list >= entries_.size() || entries_[list].refs == 0) {
    throw std::logic_error("upstream lists: retain of unknown list " + std::to_string(list));
  }
  ++entries_[list].refs;
}

void UpstreamLists::release(Id list) {
  if (list == kEmpty) return;
  if (list >= entries_.size() || entries_[list].refs == 0) {
    throw std::logic_error("upstream lists: release of unknown list " + std::to_string(list));
  }
  Entry& e = entries_[list];
  if (--e.refs != 0) return;
  released_ips_ += e.size;
  e = Entry{};
  free_ids_.push_back(list);
  if (released_ips_ >= kMinCompaction && released_ips_ * 2 > ips_.size()) compact();
}

std::span<const PodIp> UpstreamLists::ips(Id list) const {
  const Entry& e = entries_.at(list);
  return {ips_.data() + e.offset, e.size};
}

void UpstreamLists::compact() {
  std::vector<PodIp> kept;
  kept.reserve(ips_.size() - released_ips_);
  for (Entry& e : entries_) {
    if (e.refs == 0) continue;
    const auto from = ips_.begin() + e.offset;
    e.offset = static_cast<std::uint32_t>(kept.size());
    kept.insert(kept.end(), from, from + e.size);
  }
  ips_ = std::move(kept);
  released_ips_ = 0;
}

}  // namespace epsim::models
