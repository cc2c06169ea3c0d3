#include "models/stage_log.h"

#include "sim/invariant.h"

namespace epsim::models {

namespace {
constexpr std::size_t kIpChunk = std::size_t{1} << 16;  // addresses per pool chunk
}  // namespace

std::size_t StageLog::Writes::size() const {
  std::size_t n = 0;
  for (auto it = begin(); it != end(); ++it) ++n;
  return n;
}

const StageWrite& StageLog::Writes::operator[](std::size_t i) const {
  auto it = begin();
  for (; i > 0; --i) {
    EPSIM_INVARIANT(it != end(), "stage write index out of range");
    ++it;
  }
  EPSIM_INVARIANT(it != end(), "stage write index out of range");
  return *it;
}

void StageLog::record(std::uint32_t object, const StageWrite& write) {
  if (object >= ends_.size()) ends_.resize(std::size_t{object} + 1);
  Ends& ends = ends_[object];
  const std::uint32_t last = ends.last;
  EPSIM_INVARIANT(last == kNone || entries_[last].write.stored <= write.stored,
                  "stage writes recorded out of stored order");
  EPSIM_INVARIANT(entries_.size() < kNone, "stage log full");
  const auto at = static_cast<std::uint32_t>(entries_.size());
  StageWrite kept = write;
  kept.ready_ips = keep(write.ready_ips);
  entries_.push_back(Entry{kept, kNone});
  (last == kNone ? ends.first : entries_[last].next) = at;
  ends.last = at;
}

const StageWrite* StageLog::first_stored_from(std::uint32_t object, sim::Time after, PodIp ip, bool listed) const {
  for (const StageWrite& w : writes_of(object)) {
    if (w.stored >= after && w.routes_to(ip) == listed) return &w;
  }
  return nullptr;
}

std::span<const PodIp> StageLog::keep(std::span<const PodIp> ips) {
  if (ips.empty()) return {};
  if (ips.size() > ip_left_) {
    // A list longer than a chunk gets a chunk of its own size.
    const std::size_t n = std::max(ips.size(), kIpChunk);
    ip_chunks_.push_back(std::make_unique_for_overwrite<PodIp[]>(n));
    ip_next_ = ip_chunks_.back().get();
    ip_left_ = n;
  }
  std::copy(ips.begin(), ips.end(), ip_next_);
  const std::span<const PodIp> kept(ip_next_, ips.size());
  ip_next_ += ips.size();
  ip_left_ -= ips.size();
  return kept;
}

}  // namespace epsim::models
