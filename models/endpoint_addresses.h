// The addresses of an Endpoints object (or EndpointSlice): its ready and
// not-ready addresses (Endpoints subsets[].addresses and
// subsets[].notReadyAddresses, one subset since the model has one port set),
// each sorted by IP as RepackSubsets leaves them
// (pkg/api/v1/endpoints/util.go).
//
// Every Endpoints version the API server stores, every request in flight,
// every desired object a sync builds and every copy another cluster gets
// carries them, mostly unchanged from the object they were copied from. So
// the lists are one immutable block, ready addresses first, shared by
// reference count between every object that holds the same lists: a copy
// (a request, a stored version, the sync component's copy into the access
// cluster) takes a reference instead of copying addresses, and an object is
// one 8-byte pointer (issue 12). Each scenario runs on one thread, so the
// count is a plain integer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace epsim::models {

using PodId = std::uint32_t;
using PodIp = std::uint32_t;  // 0 = no IP yet; IPs are never reused
using ResourceVersion = std::uint64_t;

// One address of an Endpoints subset, with the TargetRef fields that matter.
// Its nodeName is its pod's (Pod::node), which never changes for a pod in
// the model, so naming the pod says it: 16 bytes an address (issue 12).
struct EndpointAddress {
  PodIp ip = 0;
  PodId pod = 0;
  ResourceVersion target_ref_resource_version = 0;  // pod RV at the sync that wrote it
  friend bool operator==(const EndpointAddress&, const EndpointAddress&) = default;
};

class EndpointAddresses {
 public:
  EndpointAddresses() = default;
  EndpointAddresses(const EndpointAddresses& other) noexcept;
  EndpointAddresses(EndpointAddresses&& other) noexcept;
  EndpointAddresses& operator=(const EndpointAddresses& other) noexcept;
  EndpointAddresses& operator=(EndpointAddresses&& other) noexcept;
  ~EndpointAddresses() { release(); }

  std::span<const EndpointAddress> ready() const;
  std::span<const EndpointAddress> not_ready() const;
  bool empty() const { return block_ == nullptr; }

  // Each list holds at most this many (a scenario's Service has at most
  // 10,000 pods): a block's header counts them in 16 bits.
  static constexpr std::size_t kMaxAddressesPerList = 0xffff;

  // Replaces both lists (the caller has sorted each): a block of its own
  // (the one it holds, when no other object shares it and the length is the
  // same), or none for two empty lists. std::length_error beyond
  // kMaxAddressesPerList.
  void assign(std::span<const EndpointAddress> ready, std::span<const EndpointAddress> not_ready);
  void clear() { release(); }

  // Objects sharing this one's block, itself included (0: no block).
  std::uint32_t sharers() const;
  friend bool operator==(const EndpointAddresses& a, const EndpointAddresses& b);

 private:
  struct Block;
  void release();
  bool inside_block(std::span<const EndpointAddress> list) const;

  Block* block_ = nullptr;  // null: both lists empty
};

}  // namespace epsim::models
