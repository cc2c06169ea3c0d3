#include "models/endpoint_addresses.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <utility>

#include "sim/invariant.h"

namespace epsim::models {

namespace {
std::allocator<EndpointAddress> allocator;
}  // namespace

EndpointAddresses::EndpointAddresses(const EndpointAddresses& other) { assign(other.ready(), other.not_ready()); }

EndpointAddresses::EndpointAddresses(EndpointAddresses&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      ready_(std::exchange(other.ready_, 0)),
      not_ready_(std::exchange(other.not_ready_, 0)) {}

EndpointAddresses& EndpointAddresses::operator=(const EndpointAddresses& other) {
  if (this != &other) assign(other.ready(), other.not_ready());
  return *this;
}

EndpointAddresses& EndpointAddresses::operator=(EndpointAddresses&& other) noexcept {
  if (this != &other) {
    resize_block(0);
    data_ = std::exchange(other.data_, nullptr);
    ready_ = std::exchange(other.ready_, 0);
    not_ready_ = std::exchange(other.not_ready_, 0);
  }
  return *this;
}

EndpointAddresses::~EndpointAddresses() { resize_block(0); }

bool EndpointAddresses::inside_block(std::span<const EndpointAddress> list) const {
  const EndpointAddress* end = data_ + ready_ + not_ready_;
  return !list.empty() && data_ != nullptr && list.data() < end && list.data() + list.size() > data_;
}

void EndpointAddresses::resize_block(std::size_t total) {
  const std::size_t held = std::size_t{ready_} + not_ready_;
  if (total == held) return;
  if (data_ != nullptr) allocator.deallocate(data_, held);
  data_ = nullptr;
  ready_ = not_ready_ = 0;
  if (total > 0) data_ = allocator.allocate(total);
}

void EndpointAddresses::assign(std::span<const EndpointAddress> ready, std::span<const EndpointAddress> not_ready) {
  EPSIM_INVARIANT(ready.size() <= std::numeric_limits<std::uint32_t>::max() &&
                      not_ready.size() <= std::numeric_limits<std::uint32_t>::max() - ready.size(),
                  "an Endpoints object with more than 2^32 addresses");
  // A source inside this block would be released before it is read.
  EPSIM_INVARIANT(!inside_block(ready) && !inside_block(not_ready), "addresses assigned from their own block");
  resize_block(ready.size() + not_ready.size());
  // EndpointAddress is trivially copyable: copying into the fresh block
  // starts the addresses' lifetimes.
  std::uninitialized_copy(ready.begin(), ready.end(), data_);
  std::uninitialized_copy(not_ready.begin(), not_ready.end(), data_ + ready.size());
  ready_ = static_cast<std::uint32_t>(ready.size());
  not_ready_ = static_cast<std::uint32_t>(not_ready.size());
}

bool operator==(const EndpointAddresses& a, const EndpointAddresses& b) {
  return a.ready_ == b.ready_ && a.not_ready_ == b.not_ready_ &&
         std::equal(a.data_, a.data_ + a.ready_ + a.not_ready_, b.data_);
}

}  // namespace epsim::models
