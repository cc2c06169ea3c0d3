// The addresses of an Endpoints object (or EndpointSlice): its ready and
// not-ready addresses (Endpoints subsets[].addresses and
// subsets[].notReadyAddresses, one subset since the model has one port set),
// each sorted by IP as RepackSubsets leaves them
// (pkg/api/v1/endpoints/util.go).
//
// Every Endpoints version the API server stores, every request in flight and
// every desired object a sync builds carries them, so both lists share one
// heap block of exactly their length, ready ones first: 16 bytes in the
// object instead of two 24-byte vectors, one block instead of two (issue 12).
// A copy into an object whose block has the same length reuses the block, as
// a store slot overwritten by the next version of an object usually does.
#pragma once

#include <cstdint>
#include <span>

namespace epsim::models {

using PodId = std::uint32_t;
using PodIp = std::uint32_t;  // 0 = no IP yet; IPs are never reused
using ResourceVersion = std::uint64_t;

// One address of an Endpoints subset, with the TargetRef fields that matter.
struct EndpointAddress {
  PodIp ip = 0;
  PodId pod = 0;
  std::uint32_t node = 0;
  ResourceVersion target_ref_resource_version = 0;  // pod RV at the sync that wrote it
  friend bool operator==(const EndpointAddress&, const EndpointAddress&) = default;
};

class EndpointAddresses {
 public:
  EndpointAddresses() = default;
  EndpointAddresses(const EndpointAddresses& other);
  EndpointAddresses(EndpointAddresses&& other) noexcept;
  EndpointAddresses& operator=(const EndpointAddresses& other);
  EndpointAddresses& operator=(EndpointAddresses&& other) noexcept;
  ~EndpointAddresses();

  std::span<const EndpointAddress> ready() const { return {data_, ready_}; }
  std::span<const EndpointAddress> not_ready() const { return {data_ + ready_, not_ready_}; }
  bool empty() const { return ready_ + not_ready_ == 0; }

  // Replaces both lists (the caller has sorted each).
  void assign(std::span<const EndpointAddress> ready, std::span<const EndpointAddress> not_ready);
  void clear() { assign({}, {}); }

  friend bool operator==(const EndpointAddresses& a, const EndpointAddresses& b);

 private:
  // Makes the block hold `total` addresses (contents undefined), keeping it
  // when it already has that length.
  void resize_block(std::size_t total);
  bool inside_block(std::span<const EndpointAddress> list) const;

  EndpointAddress* data_ = nullptr;  // ready_ + not_ready_ addresses; null when both are empty
  std::uint32_t ready_ = 0;
  std::uint32_t not_ready_ = 0;
};

}  // namespace epsim::models
