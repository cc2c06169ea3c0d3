#include "models/ip_backend_index.h"

#include <algorithm>

#include "sim/vector_growth.h"

namespace epsim::models {

std::uint32_t* IpBackendIndex::first_slot(PodIp ip, bool grow) {
  const std::size_t cluster = ip >> 24;
  const std::size_t n = ip & 0xFFFFFFU;
  if (cluster >= first_.size()) {
    if (!grow) return nullptr;
    first_.resize(cluster + 1);
  }
  std::vector<std::uint32_t>& slots = first_[cluster];
  if (n >= slots.size()) {
    if (!grow || n - slots.size() >= kMaxFlatGrowth) return nullptr;
    sim::grow_to(slots, n + 1, kNone);
  }
  return &slots[n];
}

void IpBackendIndex::add(PodIp ip, std::uint32_t backend) {
  std::uint32_t* first = first_slot(ip, true);
  if (first != nullptr) {
    if (*first == backend) return;
    // An IP first recorded off the flat range stays in more_ (keeps the order).
    if (*first == kNone && (more_.empty() || more_.count(ip) == 0)) {
      *first = backend;
      return;
    }
  }
  std::vector<std::uint32_t>& more = more_[ip];
  if (std::find(more.begin(), more.end(), backend) == more.end()) more.push_back(backend);
}

std::vector<std::uint32_t> IpBackendIndex::take(PodIp ip) {
  std::vector<std::uint32_t> backends;
  if (std::uint32_t* first = first_slot(ip, false); first != nullptr && *first != kNone) {
    backends.push_back(*first);
    *first = kNone;
  }
  if (auto it = more_.find(ip); it != more_.end()) {
    backends.insert(backends.end(), it->second.begin(), it->second.end());
    more_.erase(it);
  }
  return backends;
}

}  // namespace epsim::models
